package dev.replicator.core.tree;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

class TreeScannerTest
{
    private static final int BLOCK = 4096;

    @TempDir
    Path dir;

    private final TreeScanner scanner = new TreeScanner(TreeScanner.DEFAULT_MAX_WRITE_BYTES);
    private final TreeIndex index = new TreeIndex(BLOCK);
    private final List<TreeOp> ops = new ArrayList<>();

    private List<TreeOp> scan(final Path root) throws IOException
    {
        ops.clear();
        scanner.scan(root, index, ops::add);
        return ops;
    }

    @Test
    void oneMebibyteChangedInABigSparseFileSendsOneMebibyte() throws IOException
    {
        final Path root = Files.createDirectory(dir.resolve("root"));
        final Path big = root.resolve("big.img");
        try (RandomAccessFile file = new RandomAccessFile(big.toFile(), "rw"))
        {
            file.setLength(256L << 20);
            file.seek(10L << 20);
            file.write(random(8 << 20, 1));
        }
        scan(root);
        assertThat(scanner.dataBytes()).as("only the 8 MiB of data travel, the holes stay holes").isEqualTo(8L << 20);

        try (RandomAccessFile file = new RandomAccessFile(big.toFile(), "rw"))
        {
            file.seek(100L << 20);
            file.write(random(1 << 20, 2));
        }
        scan(root);
        assertThat(scanner.dataBytes()).isEqualTo(1L << 20);
        assertThat(ops).extracting(TreeOp::kind).containsOnly(TreeOp.Kind.WRITE, TreeOp.Kind.SETATTR);
    }

    @Test
    void holesAreFingerprintedAsZerosWithoutBeingReadAndABlockThatBecameAHoleTravelsAsZeros() throws IOException
    {
        final Path root = Files.createDirectory(dir.resolve("root"));
        final Path replica = Files.createDirectory(dir.resolve("replica"));
        final Path big = root.resolve("big.img");
        try (RandomAccessFile file = new RandomAccessFile(big.toFile(), "rw"); TreeApplier applier = new TreeApplier(replica))
        {
            file.setLength(64L << 20);
            file.seek(4L << 20);
            file.write(random(3 << 20, 3));
            file.seek((64L << 20) - 5000); // a partial last block beside a hole
            file.write(random(100, 4));
            scanner.scan(root, index, applier::apply);
            assertThat(TreeDigest.of(replica)).isEqualTo(TreeDigest.of(root));

            // The hole written with real zeros: same bytes, so the fingerprints read equal those assumed.
            file.seek(20L << 20);
            file.write(new byte[8 << 20]);
            assertThat(scan(root)).extracting(TreeOp::kind).doesNotContain(TreeOp.Kind.WRITE);

            // Data turned into a hole (shrink, then grow back): the replica must get the zeros.
            file.setLength(5L << 20);
            file.setLength(64L << 20);
            scanner.scan(root, index, applier::apply);
            assertThat(scanner.dataBytes()).as("the 2 MiB that became a hole, and the last block").isGreaterThanOrEqualTo(2L << 20);
            applier.sync();
            assertThat(TreeDigest.of(replica)).isEqualTo(TreeDigest.of(root));
        }
    }

    @Test
    void aSmallEditOfASmallFileSendsAKilobyteAndFilesCrossingABlockStayExact() throws IOException
    {
        final TreeScanner scanner64k = new TreeScanner(TreeScanner.DEFAULT_MAX_WRITE_BYTES);
        final TreeIndex index64k = new TreeIndex(64 * 1024);
        final Path root = Files.createDirectory(dir.resolve("root"));
        final Path replica = Files.createDirectory(dir.resolve("replica"));
        final Path mail = root.resolve("mail");
        final Path log = root.resolve("log");
        Files.write(mail, random(6000, 5));
        Files.write(log, random(60_000, 6));
        try (TreeApplier applier = new TreeApplier(replica); RandomAccessFile file = new RandomAccessFile(mail.toFile(), "rw"))
        {
            scanner64k.scan(root, index64k, applier::apply);

            file.seek(1500); // 100 bytes inside the second kilobyte
            file.write(random(100, 7));
            scanner64k.scan(root, index64k, applier::apply);
            assertThat(scanner64k.dataBytes()).as("one 1 KiB piece of a 6000-byte file").isEqualTo(1024);

            // The log grows past one 64 KiB block (granularity changes), then shrinks back under it.
            Files.write(log, random(100_000, 8), java.nio.file.StandardOpenOption.APPEND);
            scanner64k.scan(root, index64k, applier::apply);
            applier.sync();
            assertThat(TreeDigest.of(replica)).isEqualTo(TreeDigest.of(root));
            try (RandomAccessFile shrink = new RandomAccessFile(log.toFile(), "rw"))
            {
                shrink.setLength(30_000);
                shrink.seek(100);
                shrink.write(random(10, 9));
            }
            scanner64k.scan(root, index64k, applier::apply);
            applier.sync();
            assertThat(TreeDigest.of(replica)).isEqualTo(TreeDigest.of(root));
        }
    }

    @Test
    void aMissingRootIsAnErrorNotAnEmptyTree() throws IOException
    {
        final Path root = Files.createDirectory(dir.resolve("root"));
        Files.writeString(root.resolve("a"), "a");
        scan(root);
        Files.delete(root.resolve("a"));
        Files.delete(root);
        ops.clear();
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> scanner.scan(root, index, ops::add))
            .isInstanceOf(IOException.class).hasMessageContaining("missing or not a directory");
        assertThat(ops).as("no delete is sent").isEmpty();
        assertThat(index.entries()).containsKey("a");
    }

    @Test
    void theParallelWalkSeesWhatTheJdkWalkerSees() throws IOException
    {
        final Path root = Files.createDirectory(dir.resolve("root"));
        new TreeWorkload(root, new Random(77)).run(300);
        assertThat(TreeScanner.walk(root)).isEqualTo(TreeScanner.walkSequentially(root));
    }

    @Test
    void renamedFilesAndDirectoriesAreNotResent() throws IOException
    {
        final Path root = Files.createDirectory(dir.resolve("root"));
        Files.createDirectories(root.resolve("a/b"));
        for (int i = 0; i < 20; i++)
        {
            Files.write(root.resolve("a/b/file" + i), random(100_000, i));
        }
        Files.write(root.resolve("x"), random(300_000, 99));
        scan(root);
        assertThat(scanner.dataBytes()).isEqualTo(20 * 100_000 + 300_000);

        Files.move(root.resolve("a"), root.resolve("moved"));
        Files.move(root.resolve("x"), root.resolve("moved/b/x-renamed"));
        Files.move(root.resolve("moved/b/file3"), root.resolve("file3-up"));
        scan(root);
        assertThat(scanner.dataBytes()).isZero();
        assertThat(scanner.filesRead()).isZero();
        assertThat(ops).filteredOn(op -> op.kind() == TreeOp.Kind.RENAME).hasSize(6); // 3 moves, each via a temporary name
        assertThat(ops).extracting(TreeOp::kind).containsOnly(TreeOp.Kind.RENAME, TreeOp.Kind.SETATTR);
    }

    @Test
    void swappedFilesTravelAsRenames() throws IOException
    {
        final Path root = Files.createDirectory(dir.resolve("root"));
        Files.write(root.resolve("p"), random(50_000, 1));
        Files.write(root.resolve("q"), random(60_000, 2));
        scan(root);
        Files.move(root.resolve("p"), root.resolve("tmp"));
        Files.move(root.resolve("q"), root.resolve("p"));
        Files.move(root.resolve("tmp"), root.resolve("q"));
        scan(root);
        assertThat(scanner.dataBytes()).isZero();
        final Path replica = Files.createDirectory(dir.resolve("replica"));
        final TreeIndex fresh = new TreeIndex(BLOCK);
        try (TreeApplier applier = new TreeApplier(replica))
        {
            scanner.scan(root, fresh, applier::apply);
        }
        assertThat(TreeDigest.of(replica)).isEqualTo(TreeDigest.of(root));
    }

    @Test
    void anUnchangedTreeGivesNoOpsAndTheIndexSurvivesARestart() throws IOException
    {
        final Path root = Files.createDirectory(dir.resolve("root"));
        Files.createDirectories(root.resolve("d/e"));
        Files.write(root.resolve("d/e/f"), random(10_000, 3));
        Files.createSymbolicLink(root.resolve("d/link"), Path.of("e/f"));
        scan(root);
        final Path saved = dir.resolve("index");
        index.save(saved);
        final TreeIndex loaded = TreeIndex.load(saved, BLOCK);
        ops.clear();
        scanner.scan(root, loaded, ops::add);
        assertThat(ops).isEmpty();
        assertThat(scanner.filesRead()).isZero();
    }

    @Test
    void aScanJournaledButNotSavedIsReplayedIntoTheIndexSoTheNextScanStillApplies() throws IOException
    {
        for (long seed = 1; seed <= 6; seed++)
        {
            final Path run = Files.createDirectory(dir.resolve("crash" + seed));
            final Path root = Files.createDirectory(run.resolve("root"));
            final Path replica = Files.createDirectory(run.resolve("replica"));
            final Path saved = run.resolve("index");
            final Random random = new Random(seed);
            final TreeWorkload workload = new TreeWorkload(root, random);
            final TreeIndex live = new TreeIndex(BLOCK);
            try (TreeApplier applier = new TreeApplier(replica))
            {
                workload.run(30);
                scanner.scan(root, live, applier::apply);
                live.save(saved);
                workload.run(20);
                // The crashed scan: its ops reach the journal (and the target), the index is not saved.
                final List<TreeOp> journaled = new ArrayList<>();
                scanner.scan(root, live, op ->
                {
                    journaled.add(op);
                    applier.apply(op);
                });
                workload.run(20);
                final TreeIndex restarted = TreeIndex.load(saved, BLOCK);
                for (final TreeOp op : journaled)
                {
                    restarted.replay(op, path ->
                    {
                        try
                        {
                            final FileStat stat = FileStat.read(root.resolve(path));
                            return stat == null ? -1 : stat.inode();
                        }
                        catch (final IOException ex)
                        {
                            return -1;
                        }
                    });
                }
                scanner.scan(root, restarted, applier::apply);
            }
            assertThat(TreeDigest.of(replica)).as("seed %d", seed).isEqualTo(TreeDigest.of(root));
        }
    }

    private static byte[] random(final int length, final long seed)
    {
        final byte[] bytes = new byte[length];
        new Random(seed).nextBytes(bytes);
        return bytes;
    }
}
