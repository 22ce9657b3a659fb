package dev.replicator.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.replicator.core.test.Tool;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.RandomAccessFile;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;

import static dev.replicator.cli.LoopbackCluster.BLOCK;
import static dev.replicator.cli.LoopbackCluster.GROUP;
import static dev.replicator.cli.LoopbackCluster.await;
import static dev.replicator.cli.LoopbackCluster.sha256;
import static dev.replicator.cli.LoopbackCluster.writeRandomRuns;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Instant recovery with real NBD clients: an image served read-only and a failover served as a
 * writable export read back as the source's bytes (qemu-img compare, nbdcopy), nbdinfo lists them,
 * and failback after qemu-io writes on the recovery export ships exactly those blocks (plus the other
 * failback sets), leaving the primary identical to the recovery side.
 */
class NbdRecoveryTest
{
    @TempDir(cleanup = org.junit.jupiter.api.io.CleanupMode.ON_SUCCESS)
    Path dir;

    @Test
    void recoveryExportServesTheImageAtOnceAndFailbackShipsExactlyWhatQemuIoWrote() throws Exception
    {
        final long seed = System.nanoTime();
        System.out.println("seed=" + seed);
        final Random random = new Random(seed);
        try (LoopbackCluster cluster = new LoopbackCluster(dir, 16))
        {
            writeRandomRuns(cluster.volume, cluster.volumeBlocks, 120, random);
            cluster.startTarget();
            cluster.startAgent();
            final String older = cluster.checkpoint("older");
            final Path primaryAtOlder = dir.resolve("primary-at-older.img");
            Files.copy(cluster.volume, primaryAtOlder, StandardCopyOption.REPLACE_EXISTING);
            final Set<Long> receivedAfterImage = writeRandomRuns(cluster.volume, cluster.volumeBlocks, 15, random);
            final String newer = cluster.checkpoint("newer");
            final Path primaryAtNewer = dir.resolve("primary-at-newer.img");
            Files.copy(cluster.volume, primaryAtNewer, StandardCopyOption.REPLACE_EXISTING);

            // Any image, read-only over NBD: the bytes of the source at that checkpoint.
            final int imagePort = freePort();
            final Cli.Result served = cluster.admin("images", "export", "--image", newer, "--nbd=" + imagePort);
            assertThat(served.exitCode()).as(served.err()).isZero();
            final String imageUri = "nbd://127.0.0.1:" + imagePort + "/disk0";
            Tool.run(60, "qemu-img", "compare", "-f", "raw", "-F", "raw", imageUri, primaryAtNewer.toString())
                .requireSuccess("qemu-img compare of the image export");
            assertThat(Tool.run(30, "qemu-io", "-f", "raw", "-c", "write 0 4k", imageUri).output())
                .as("the image export is read-only").doesNotContain("wrote");
            // A failover onto a port already in use is refused before anything changes.
            final Cli.Result busy = cluster.admin("failover", "--group", GROUP, "--image", older, "--export",
                "nbd:" + imagePort);
            assertThat(busy.exitCode()).as(busy.err()).isEqualTo(2);
            assertThat(busy.err()).contains("not free").contains("nothing was changed");
            assertThat(cluster.admin("failover", "--group", GROUP, "--image", older, "--export", "nbd:x").exitCode())
                .isEqualTo(2);
            assertThat(cluster.json("status", "--json").get("groups").get(0).get("role").asText())
                .isEqualTo("REPLICATING");
            assertThat(cluster.admin("images", "unexport", "--image", newer).exitCode()).isZero();

            // The disaster, then failover to the older image as a writable export.
            cluster.killAgentHard();
            final int port = freePort();
            final Cli.Result failover = cluster.admin("failover", "--group", GROUP, "--image", older, "--export",
                "nbd:" + port);
            assertThat(failover.exitCode()).as(failover.err()).isZero();
            final String uri = "nbd://127.0.0.1:" + port + "/disk0";
            final String list = Tool.run(30, "nbdinfo", "--list", "nbd://127.0.0.1:" + port)
                .requireSuccess("nbdinfo --list").output();
            assertThat(list).contains("disk0").contains(Long.toString(cluster.volumeBlocks * BLOCK));
            final Path copy = dir.resolve("recovery-copy.img");
            Tool.run(60, "nbdcopy", uri, copy.toString()).requireSuccess("nbdcopy from the recovery export");
            assertThat(sha256(copy)).isEqualTo(sha256(primaryAtOlder));

            // Production writes the recovery volume over NBD; the model is the image plus those writes.
            final Path model = dir.resolve("recovery-model.img");
            Files.copy(primaryAtOlder, model, StandardCopyOption.REPLACE_EXISTING);
            final Set<Long> writtenOnRecovery = new TreeSet<>();
            final List<String> commands = new ArrayList<>();
            for (int i = 0; i < 12; i++)
            {
                final long offset = (long)(random.nextDouble() * (cluster.volumeBlocks * BLOCK - 40_000));
                // Unaligned starts and lengths: the overlay patches partial blocks.
                final int length = 1 + random.nextInt(40_000);
                final int pattern = 1 + random.nextInt(254);
                commands.add("write -P " + pattern + " " + offset + " " + length);
                applyPattern(model, offset, length, pattern);
                for (long b = offset / BLOCK; b <= (offset + length - 1) / BLOCK; b++)
                {
                    writtenOnRecovery.add(b);
                }
            }
            final long zeroOffset = 3L * BLOCK;
            commands.add("write -z " + zeroOffset + " " + (2 * BLOCK));
            applyPattern(model, zeroOffset, 2 * BLOCK, 0);
            writtenOnRecovery.add(3L);
            writtenOnRecovery.add(4L);
            final List<String> qemuIo = new ArrayList<>(List.of("qemu-io", "-f", "raw"));
            for (final String command : commands)
            {
                qemuIo.add("-c");
                qemuIo.add(command);
            }
            qemuIo.add(uri);
            Tool.run(60, qemuIo.toArray(new String[0])).requireSuccess("qemu-io writes on the recovery export");
            Tool.run(60, "qemu-img", "compare", "-f", "raw", "-F", "raw", uri, model.toString())
                .requireSuccess("qemu-img compare of the recovery export with the model");

            // qemu-io flushed before it exited: a target killed with SIGKILL keeps every write, and its
            // restart serves the export again on the same port.
            cluster.killTargetHard();
            cluster.startTarget();
            Tool.run(60, "qemu-img", "compare", "-f", "raw", "-F", "raw", uri, model.toString())
                .requireSuccess("qemu-img compare after a target restart");

            cluster.startAgent();
            await(() -> demotedReported(cluster), "the demoted primary's failback report");
            final Set<Long> expected = new TreeSet<>(receivedAfterImage);
            expected.addAll(writtenOnRecovery);
            final JsonNode plan = cluster.json("failback", "--group", GROUP, "--plan", "--json");
            assertThat(plan.get("mode").asText()).isEqualTo("journal");
            final JsonNode volumePlan = plan.get("volumes").get(0);
            assertThat(volumePlan.get("writtenOnRecovery").asLong()).as("seed %d", seed)
                .isEqualTo(writtenOnRecovery.size());
            assertThat(volumePlan.get("receivedAfterImage").asLong()).isEqualTo(receivedAfterImage.size());
            assertThat(plan.get("blocks").asLong()).as("seed %d", seed).isEqualTo(expected.size());

            final JsonNode result = cluster.json("failback", "--group", GROUP, "--execute", "--json");
            assertThat(result.get("blocksShipped").asLong()).as("seed %d", seed).isEqualTo(expected.size());
            assertThat(sha256(cluster.volume)).as("primary after failback").isEqualTo(sha256(model));
            assertThat(cluster.json("status", "--json").get("groups").get(0).get("role").asText())
                .isEqualTo("REPLICATING");
            assertThat(Tool.run(10, "nbdinfo", "--size", uri).exitCode()).as("the export ends at failback")
                .isNotZero();
        }
    }

    private static void applyPattern(final Path file, final long offset, final int length, final int pattern)
        throws java.io.IOException
    {
        final byte[] bytes = new byte[length];
        java.util.Arrays.fill(bytes, (byte)pattern);
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw"))
        {
            raf.seek(offset);
            raf.write(bytes);
        }
    }

    private static boolean demotedReported(final LoopbackCluster cluster)
    {
        try
        {
            return cluster.json("status", "--json").get("groups").get(0).get("failbackReportReceived").asBoolean();
        }
        catch (final java.io.IOException ex)
        {
            return false;
        }
    }

    private static int freePort() throws java.io.IOException
    {
        try (ServerSocket socket = new ServerSocket(0))
        {
            return socket.getLocalPort();
        }
    }
}
