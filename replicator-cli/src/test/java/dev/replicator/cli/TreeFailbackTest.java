package dev.replicator.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.replicator.core.tree.FileStat;
import dev.replicator.core.tree.TreeIndex;
import dev.replicator.core.tree.TreeWorkload;
import dev.replicator.core.wire.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Random;
import java.util.TreeMap;

import static dev.replicator.cli.LoopbackCluster.GROUP;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tree failover and failback end to end, agent and target in their own JVMs: the primary's tree
 * (random operations, then known files), a failover to an older image, changes on the recovery side,
 * unshipped changes on the demoted primary; the plan counts them, the execute ships only the changed
 * blocks, and the primary ends identical to the recovery tree, then replicates again.
 */
class TreeFailbackTest
{
    /** The default tree block size (the target's manifests use it too). */
    private static final int BLOCK = 64 * 1024;
    private static final int BIG_BLOCKS = 256;

    @TempDir(cleanup = org.junit.jupiter.api.io.CleanupMode.ON_SUCCESS)
    Path dir;

    @Test
    void failbackOfATreeShipsOnlyWhatDiffersAndLeavesThePrimaryIdenticalToTheRecoveryTree() throws Exception
    {
        final long seed = Long.getLong("fuzz.seed", System.nanoTime());
        System.out.println("TreeFailbackTest seed=" + seed + " (replay: -Dfuzz.seed=" + seed + ")");
        final Random random = new Random(seed);
        try (LoopbackCluster cluster = new LoopbackCluster(dir, 1))
        {
            final Path share = Files.createDirectories(dir.resolve("share"));
            cluster.useTreeVolume(share);
            new TreeWorkload(Files.createDirectories(share.resolve("random")), random).run(40);
            final byte[] big = new byte[BIG_BLOCKS * BLOCK];
            random.nextBytes(big);
            Files.write(share.resolve("big.bin"), big);
            final byte[] movable = new byte[1 << 20];
            random.nextBytes(movable);
            Files.write(share.resolve("moveme.bin"), movable);
            Files.writeString(share.resolve("keep.txt"), "kept\n");
            Files.writeString(share.resolve("keep2.txt"), "renamed on the demoted primary\n");
            Files.writeString(share.resolve("gone.txt"), "deleted on the recovery side\n");
            Files.writeString(share.resolve("mode.txt"), "chmod on the recovery side\n");
            Files.createDirectories(share.resolve("d1"));
            Files.writeString(share.resolve("d1/x"), "x\n");
            Files.createDirectories(share.resolve("dirA/sub"));
            Files.writeString(share.resolve("dirA/sub/y"), "moved with its directory\n");
            Files.writeString(share.resolve("grow.bin"), "extended on the recovery side\n");
            cluster.startTarget();
            cluster.startAgent();

            final String image = cluster.checkpoint("a");
            final TreeMap<String, String> atImage = digest(share);
            // Received by the replica after the image: failback must remove it from the primary.
            Files.writeString(share.resolve("after.txt"), "after the image\n");
            cluster.checkpoint("b");

            final Cli.Result early = cluster.admin("failback", "--group", GROUP, "--plan");
            assertThat(early.exitCode()).as("nothing to fail back: " + early.err()).isEqualTo(2);
            final Path busy = Files.createDirectories(dir.resolve("busy"));
            Files.writeString(busy.resolve("file"), "in the way\n");
            final Cli.Result refused = cluster.admin("failover", "--group", GROUP, "--image", image, "--to",
                busy.toString());
            assertThat(refused.exitCode()).isEqualTo(2);
            assertThat(refused.err()).contains("not an empty directory");
            assertThat(status(cluster).path("role").asText()).as("nothing changed").isEqualTo("REPLICATING");

            final Path recovery = dir.resolve("recovery");
            final Cli.Result failover = cluster.admin("failover", "--group", GROUP, "--image", image, "--to",
                recovery.toString());
            assertThat(failover.exitCode()).as(failover.err()).isZero();
            assertThat(digest(recovery)).as("the recovery tree is the image").isEqualTo(atImage);
            LoopbackCluster.await(() -> status(cluster).path("demotedPrimaryConnected").asBoolean(),
                "the demoted primary");

            // Unshipped on the demoted primary: a new file, and one block of the big file.
            Files.writeString(share.resolve("unshipped.txt"), "never shipped\n");
            Files.move(share.resolve("keep2.txt"), share.resolve("keep2-moved.txt"));
            overwriteBlock(share.resolve("big.bin"), 100, random);

            // The recovery side in service.
            overwriteBlock(recovery.resolve("big.bin"), 200, random);
            // Big enough for more frames than the failback window: the primary acks groups of frames.
            final byte[] created = new byte[(8 << 20) + 5000];
            random.nextBytes(created);
            Files.write(recovery.resolve("new.txt"), created);
            Files.createDirectories(recovery.resolve("newdir"));
            final byte[] inner = new byte[3000];
            random.nextBytes(inner);
            Files.write(recovery.resolve("newdir/inner.txt"), inner);
            Files.delete(recovery.resolve("gone.txt"));
            Files.move(recovery.resolve("moveme.bin"), recovery.resolve("d1/moved.bin"));
            Files.setPosixFilePermissions(recovery.resolve("mode.txt"), PosixFilePermissions.fromString("rw-------"));
            Files.createSymbolicLink(recovery.resolve("link"), Path.of("keep.txt"));
            Files.move(recovery.resolve("dirA"), recovery.resolve("dirB"));
            try (RandomAccessFile raf = new RandomAccessFile(recovery.resolve("grow.bin").toFile(), "rw"))
            {
                raf.setLength(10L << 20); // a hole: no data travels
            }
            // The failover and the recovery side's writes survive a restart of the target.
            cluster.stopTarget();
            cluster.startTarget();
            LoopbackCluster.await(() -> status(cluster).path("demotedPrimaryConnected").asBoolean(),
                "the demoted primary to reconnect");
            // Two blocks of big.bin, the new files, and grow.bin's old tail block (re-sent when a size changes).
            final long expectedBytes = created.length + inner.length + 3L * BLOCK;

            final JsonNode plan = cluster.json("failback", "--group", GROUP, "--plan", "--json");
            final JsonNode tree = plan.get("trees").get(0);
            assertThat(plan.get("mode").asText()).isEqualTo("tree");
            assertThat(tree.get("filesCreated").asLong()).as(plan.toString()).isEqualTo(2);
            assertThat(tree.get("dirsCreated").asLong()).as(plan.toString()).isEqualTo(1);
            assertThat(tree.get("symlinksCreated").asLong()).as(plan.toString()).isEqualTo(1);
            assertThat(tree.get("renamed").asLong()).as("two on the recovery side, one on the primary: " + plan)
                .isEqualTo(3);
            assertThat(tree.get("deleted").asLong()).as("gone, after, unshipped: " + plan).isEqualTo(3);
            assertThat(tree.get("filesChanged").asLong()).as("big.bin, grow.bin: " + plan).isEqualTo(2);
            assertThat(tree.get("attributesOnly").asLong()).as("mode.txt (and d1): " + plan).isGreaterThanOrEqualTo(1);
            assertThat(tree.get("bytes").asLong()).as(plan.toString())
                .isEqualTo(expectedBytes);
            assertThat(tree.get("firstPaths").toString()).contains("renamed moveme.bin -> d1/moved.bin")
                .contains("renamed dirA -> dirB").contains("renamed keep2-moved.txt -> keep2.txt");

            final JsonNode result = cluster.json("failback", "--group", GROUP, "--execute", "--json");
            assertThat(result.get("passes").asInt()).as("one pass, then verified: " + result).isEqualTo(1);
            assertThat(result.get("verifiedEntries").asLong()).isEqualTo(recovered(recovery));
            assertThat(result.get("dataBytesShipped").asLong()).as(result.toString()).isEqualTo(expectedBytes);
            assertThat(result.get("wireBytes").asLong()).as("not the big file, not the moved file: " + result)
                .isLessThan(expectedBytes + 16 * 1024);
            final TreeMap<String, String> recovered = digest(recovery);
            assertThat(digest(share)).as("primary = recovery tree (seed %d)", seed).isEqualTo(recovered);
            assertThat(status(cluster).path("role").asText()).isEqualTo("REPLICATING");
            final Path older = dir.resolve("export-image");
            final Cli.Result history = cluster.admin("images", "export", "--image", image, "--to", older.toString());
            assertThat(history.exitCode()).as(history.err()).isZero();
            assertThat(digest(older)).as("the failover image is still exact after failback").isEqualTo(atImage);

            // Forward replication resumes from the common state: a new change reaches a new image.
            Files.writeString(share.resolve("after-failback.txt"), "replicated again\n");
            final String again = cluster.checkpoint("again");
            final TreeMap<String, String> now = digest(share);
            final Path export = dir.resolve("export-again");
            final Cli.Result exported = cluster.admin("images", "export", "--image", again, "--to", export.toString());
            assertThat(exported.exitCode()).as(exported.err()).isZero();
            assertThat(digest(export)).isEqualTo(now);
        }
    }

    private static long recovered(final Path recovery) throws IOException
    {
        return digest(recovery).size();
    }

    private static void overwriteBlock(final Path file, final long block, final Random random) throws IOException
    {
        final byte[] bytes = new byte[BLOCK];
        random.nextBytes(bytes);
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw"))
        {
            raf.seek(block * BLOCK);
            raf.write(bytes);
        }
    }

    private static JsonNode status(final LoopbackCluster cluster)
    {
        final Cli.Result result = cluster.admin("status", "--json");
        try
        {
            return result.exitCode() != 0 ? Json.mapper().createObjectNode() :
                Json.mapper().readTree(result.out()).path("groups").path(0);
        }
        catch (final IOException ex)
        {
            return Json.mapper().createObjectNode();
        }
    }

    /** Per path: type, mode, owner, mtime, size and SHA-256 of the content (a symlink: its target). */
    static TreeMap<String, String> digest(final Path root) throws IOException
    {
        final TreeMap<String, String> digest = new TreeMap<>(TreeIndex::compare);
        Files.walkFileTree(root, new SimpleFileVisitor<>()
        {
            @Override
            public FileVisitResult preVisitDirectory(final Path path, final BasicFileAttributes attrs) throws IOException
            {
                add(path);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(final Path path, final BasicFileAttributes attrs) throws IOException
            {
                add(path);
                return FileVisitResult.CONTINUE;
            }

            private void add(final Path path) throws IOException
            {
                if (path.equals(root))
                {
                    return;
                }
                final FileStat s = FileStat.read(path);
                final String key = root.relativize(path).toString();
                digest.put(key, switch (s.type())
                {
                    case SYMLINK -> "l -> " + s.linkTarget();
                    case DIRECTORY -> "d " + Integer.toOctalString(s.mode()) + " " + s.uid() + ":" + s.gid() +
                        " mtime " + s.mtimeNs();
                    case FILE -> "f " + Integer.toOctalString(s.mode()) + " " + s.uid() + ":" + s.gid() + " mtime " +
                        s.mtimeNs() + " size " + s.size() + " sha256 " + sha256(path);
                });
            }
        });
        return digest;
    }

    private static String sha256(final Path file) throws IOException
    {
        try
        {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
        }
        catch (final java.security.NoSuchAlgorithmException ex)
        {
            throw new IllegalStateException(ex);
        }
    }
}
