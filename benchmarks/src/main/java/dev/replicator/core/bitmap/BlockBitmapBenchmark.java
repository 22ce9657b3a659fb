package dev.replicator.core.bitmap;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

import java.util.BitSet;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * {@link BlockBitmap} on a volume of 2^20 blocks (4 GiB of 4 KiB blocks), with blocks changed
 * uniformly at random: the worst case for Roaring, which compresses runs (1% is ~655 blocks in
 * each 64K-block chunk, an array container; 10% is a 8 KiB bitmap container).
 * <ul>
 *   <li>{@code setOnePercent}: a fresh bitmap, then 10,485 distinct blocks set in random order,
 *       as the agent marks writes while the journal is full.</li>
 *   <li>{@code copyOnePercent} and {@code unionOnePercentWithTenPercent}: {@link BlockBitmap#or} is
 *       in place, so the union runs on a copy; subtract the copy to get the union alone. Failback
 *       unions the recovery side's written blocks with the primary's changes.</li>
 *   <li>{@code forEach}: visits every set block, as a resync or failback walks the bitmap.</li>
 *   <li>{@code toBytes}: run-optimizes and serializes, as the bitmap is persisted or sent.</li>
 * </ul>
 * Results are microseconds per operation on the whole bitmap; divide by the number of blocks set
 * for the cost per block.
 *
 * <p>Warm state: the bitmaps are built in setup and reused, so they are in cache (a 10% bitmap is
 * ~130 KiB, 1% ~21 KiB). There is no hardware ceiling to compare with; the budget is the block
 * rate of the data path: 1 GB/s of 4 KiB blocks is ~262,000 blocks/s, so each 40 ns spent per
 * block costs about 1% of a core at that rate.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@State(Scope.Thread)
public class BlockBitmapBenchmark
{
    static final int VOLUME_BLOCKS = 1 << 20;

    private long[] onePercentBlocks;
    private BlockBitmap onePercent;
    private BlockBitmap tenPercent;
    private final SumOfBlocks sum = new SumOfBlocks();

    @Setup(Level.Trial)
    public void setUp()
    {
        onePercentBlocks = randomDistinctBlocks(1, 0x1L);
        onePercent = bitmapOf(onePercentBlocks);
        tenPercent = bitmapOf(randomDistinctBlocks(10, 0x10L));
    }

    @Benchmark
    public BlockBitmap setOnePercent()
    {
        final long[] blocks = onePercentBlocks;
        final BlockBitmap bitmap = new BlockBitmap();
        for (int i = 0; i < blocks.length; i++)
        {
            bitmap.set(blocks[i]);
        }
        return bitmap;
    }

    @Benchmark
    public BlockBitmap copyOnePercent()
    {
        return onePercent.copy();
    }

    @Benchmark
    public BlockBitmap unionOnePercentWithTenPercent()
    {
        return onePercent.copy().or(tenPercent);
    }

    @Benchmark
    public long forEach(final Density density)
    {
        sum.total = 0;
        density.bitmap.forEach(sum);
        return sum.total;
    }

    @Benchmark
    public byte[] toBytes(final Density density)
    {
        return density.bitmap.toBytes();
    }

    /** A bitmap with the given percentage of the volume's blocks set, for walking and saving. */
    @State(Scope.Thread)
    public static class Density
    {
        @Param({"1", "10"})
        public int percent;

        BlockBitmap bitmap;

        @Setup(Level.Trial)
        public void setUp()
        {
            bitmap = bitmapOf(randomDistinctBlocks(percent, 0xD0L + percent));
        }
    }

    /** Consumes each block so the walk is not dead code; one instance, no lambda per operation. */
    static final class SumOfBlocks implements BlockBitmap.BlockConsumer
    {
        long total;

        @Override
        public void accept(final long blockIndex)
        {
            total += blockIndex;
        }
    }

    /** {@code percent}% of the volume's blocks, distinct, in the (seeded) random order drawn. */
    static long[] randomDistinctBlocks(final int percent, final long seed)
    {
        final Random random = new Random(seed);
        final BitSet drawn = new BitSet(VOLUME_BLOCKS);
        final long[] blocks = new long[(int)((long)VOLUME_BLOCKS * percent / 100)];
        int count = 0;
        while (count < blocks.length)
        {
            final int block = random.nextInt(VOLUME_BLOCKS);
            if (!drawn.get(block))
            {
                drawn.set(block);
                blocks[count++] = block;
            }
        }
        return blocks;
    }

    static BlockBitmap bitmapOf(final long[] blocks)
    {
        final BlockBitmap bitmap = new BlockBitmap();
        for (final long block : blocks)
        {
            bitmap.set(block);
        }
        return bitmap;
    }
}
