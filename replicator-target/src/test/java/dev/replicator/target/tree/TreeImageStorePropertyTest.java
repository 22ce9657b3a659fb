package dev.replicator.target.tree;

import dev.replicator.core.tree.TreeDigest;
import dev.replicator.core.tree.TreeIndex;
import dev.replicator.core.tree.TreeOp;
import dev.replicator.core.tree.TreeRecordDescriptor;
import dev.replicator.core.tree.TreeScanner;
import dev.replicator.core.tree.TreeWorkload;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Seeded random sequences of file operations on a source tree, scanned and applied to a tree image
 * store in rounds, with a checkpoint after some rounds: the tree exported at every checkpoint equals
 * the source's digest taken at that checkpoint (paths, types, contents, modes, owners, mtimes).
 *
 * <p>Replay with {@code -Dfuzz.seed=N}; run longer with {@code -Dfuzz.iterations=N}.
 */
class TreeImageStorePropertyTest
{
    private static final long SEED = Long.getLong("fuzz.seed", System.nanoTime());
    private static final int ITERATIONS = Integer.getInteger("fuzz.iterations", 4);

    @TempDir
    Path dir;

    @Test
    void exportAtEveryCheckpointEqualsTheSourceThen() throws IOException
    {
        System.out.printf("TreeImageStorePropertyTest seed=%d iterations=%d (replay: -Dfuzz.seed=%d)%n", SEED, ITERATIONS, SEED);
        final Random random = new Random(SEED);
        for (int iteration = 0; iteration < ITERATIONS; iteration++)
        {
            runOnce(random.nextLong(), dir.resolve("run" + iteration));
        }
    }

    private void runOnce(final long seed, final Path run) throws IOException
    {
        final Path source = run.resolve("source");
        java.nio.file.Files.createDirectories(source);
        final Random random = new Random(seed);
        final TreeWorkload workload = new TreeWorkload(source, random);
        final TreeIndex index = new TreeIndex(4096);
        final TreeScanner scanner = new TreeScanner(TreeScanner.DEFAULT_MAX_WRITE_BYTES);
        final Map<Long, TreeMap<String, String>> expected = new TreeMap<>();
        final List<String> history = new ArrayList<>();
        final long[] seq = {0};
        final long[] ops = {0};
        try (TreeImageStore store = TreeImageStore.open(run.resolve("store")))
        {
            for (int round = 0; round < 12; round++)
            {
                history.addAll(workload.run(1 + random.nextInt(12)));
                scanner.scan(source, index, op ->
                {
                    final TreeOp decoded = TreeRecordDescriptor.decode(TreeRecordDescriptor.encode(op));
                    assertThat(decoded).isEqualTo(op);
                    store.apply(++seq[0], decoded);
                    ops[0]++;
                });
                store.commit(seq[0]);
                history.add("-- scan, round " + round + ", seq " + seq[0]);
                if (random.nextInt(3) > 0)
                {
                    store.checkpoint(++seq[0]);
                    expected.put(seq[0], TreeDigest.of(source));
                    history.add("-- checkpoint " + seq[0]);
                }
                assertThat(TreeDigest.of(store.replica()))
                    .as("replica after round %d, seed %d: %s", round, seed, history)
                    .isEqualTo(TreeDigest.of(source));
            }
            for (final Map.Entry<Long, TreeMap<String, String>> checkpoint : expected.entrySet())
            {
                final Path out = run.resolve("export-" + checkpoint.getKey());
                store.export(checkpoint.getKey(), out);
                assertThat(TreeDigest.of(out))
                    .as("image at checkpoint %d, seed %d: %s", checkpoint.getKey(), seed, history)
                    .isEqualTo(checkpoint.getValue());
            }
        }
        System.out.printf("  run seed=%d: %d ops, %d checkpoints, %d entries at the end%n",
            seed, ops[0], expected.size(), TreeDigest.of(source).size());
    }
}
