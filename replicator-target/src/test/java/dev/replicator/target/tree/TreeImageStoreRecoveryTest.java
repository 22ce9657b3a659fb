package dev.replicator.target.tree;

import dev.replicator.core.tree.TreeDigest;
import dev.replicator.core.tree.TreeIndex;
import dev.replicator.core.tree.TreeOp;
import dev.replicator.core.tree.TreeScanner;
import dev.replicator.core.tree.TreeWorkload;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A target stopped in the middle of a frame (ops applied, not committed): reopening rolls the
 * replica back to the durable seq with the undo records, the resent ops apply, and the images stay
 * exact. Replay with {@code -Dfuzz.seed=N}.
 */
class TreeImageStoreRecoveryTest
{
    private static final long SEED = Long.getLong("fuzz.seed", System.nanoTime());

    @TempDir
    Path dir;

    @Test
    void opsAppliedButNotCommittedAreRolledBackAtOpenAndTheResendApplies() throws IOException
    {
        System.out.printf("TreeImageStoreRecoveryTest seed=%d (replay: -Dfuzz.seed=%d)%n", SEED, SEED);
        final Random random = new Random(SEED);
        for (int run = 0; run < 4; run++)
        {
            final Path source = Files.createDirectories(dir.resolve("run" + run + "/source"));
            final Path storeDir = dir.resolve("run" + run + "/store");
            final TreeWorkload workload = new TreeWorkload(source, random);
            final TreeIndex index = new TreeIndex(4096);
            final TreeScanner scanner = new TreeScanner(TreeScanner.DEFAULT_MAX_WRITE_BYTES);
            long seq = 0;
            workload.run(30);
            TreeMap<String, String> atCheckpoint;
            try (TreeImageStore store = TreeImageStore.open(storeDir))
            {
                final List<TreeOp> ops = new ArrayList<>();
                scanner.scan(source, index, ops::add);
                for (final TreeOp op : ops)
                {
                    store.apply(++seq, op);
                }
                store.commit(seq);
                store.checkpoint(++seq);
                atCheckpoint = TreeDigest.of(source);
            }
            final long checkpoint = seq;
            final TreeMap<String, String> durable = TreeDigest.of(storeDir.resolve("replica"));
            workload.run(30);
            final List<TreeOp> ops = new ArrayList<>();
            scanner.scan(source, index, ops::add);
            final int applied = random.nextInt(ops.size() + 1);
            try (TreeImageStore store = TreeImageStore.open(storeDir))
            {
                for (int i = 0; i < applied; i++)
                {
                    store.apply(seq + 1 + i, ops.get(i));
                }
                // stopped here: no commit
            }
            try (TreeImageStore store = TreeImageStore.open(storeDir))
            {
                assertThat(TreeDigest.of(store.replica())).as("rolled back to the durable seq (seed %d, run %d, %d of %d ops)",
                    SEED, run, applied, ops.size()).isEqualTo(durable);
                for (final TreeOp op : ops)
                {
                    store.apply(++seq, op);
                }
                store.commit(seq);
                assertThat(TreeDigest.of(store.replica())).isEqualTo(TreeDigest.of(source));
                final Path out = dir.resolve("run" + run + "/export");
                store.export(checkpoint, out);
                assertThat(TreeDigest.of(out)).isEqualTo(atCheckpoint);
            }
        }
    }

    @Test
    void aDirectoryMovedWhileTheScanReadsItsFilesKeepsTheImagesExact() throws IOException
    {
        final Path source = Files.createDirectories(dir.resolve("race/source/d"));
        Files.write(source.resolve("a"), new byte[]{1, 2, 3});
        Files.write(source.resolve("b"), new byte[]{4, 5, 6});
        final Path root = source.getParent();
        final TreeIndex index = new TreeIndex(4096);
        final TreeScanner scanner = new TreeScanner(TreeScanner.DEFAULT_MAX_WRITE_BYTES);
        final long[] seq = {0};
        try (TreeImageStore store = TreeImageStore.open(dir.resolve("race/store")))
        {
            scanner.scan(root, index, op -> store.apply(++seq[0], op));
            store.commit(seq[0]);
            store.checkpoint(++seq[0]);
            final long checkpoint = seq[0];
            final TreeMap<String, String> before = TreeDigest.of(root);
            Files.write(source.resolve("a"), new byte[]{7, 7, 7, 7});
            Files.write(root.resolve("x"), new byte[]{9});
            // The directory moves after the walk, before its changed file is read.
            scanner.scan(root, index, op ->
            {
                if (op.kind() == TreeOp.Kind.CREATE && op.path().equals("x"))
                {
                    Files.move(source, root.resolve("e"));
                }
                store.apply(++seq[0], op);
            });
            store.commit(seq[0]);
            scanner.scan(root, index, op -> store.apply(++seq[0], op));
            store.commit(seq[0]);
            assertThat(TreeDigest.of(store.replica())).isEqualTo(TreeDigest.of(root));
            final Path out = dir.resolve("race/export");
            store.export(checkpoint, out);
            assertThat(TreeDigest.of(out)).isEqualTo(before);
        }
    }
}
