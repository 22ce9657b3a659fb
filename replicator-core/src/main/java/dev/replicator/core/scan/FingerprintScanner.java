package dev.replicator.core.scan;

import dev.replicator.core.codec.Checksums;
import dev.replicator.core.volume.HoleProbe;
import dev.replicator.core.volume.VolumeChannel;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * Finds the blocks of a volume whose content changed since the last scan by comparing each
 * block's xxHash64 with a {@link FingerprintTable}. Changed blocks go to a {@link ChangeSink} as
 * runs of contiguous blocks; the table is updated only after the sink says the changes are
 * durable ({@link ChangeSink#makeDurable()}), so a crash mid-scan re-reports changes rather than
 * losing them. Holes of a sparse volume are skipped unread ({@link HoleProbe}), and so are the
 * table's entries behind them where the table holds zeros there too: a scan's memory follows the
 * data a volume holds, not its size. Not thread-safe: one scan at a time per volume.
 */
public final class FingerprintScanner
{
    /** Read size: large sequential reads, small enough to stay in cache while hashing. */
    private static final int READ_BYTES = 1024 * 1024;

    private final VolumeChannel volume;
    private final FingerprintTable table;
    private final int blockSize;
    private final int maxRunBlocks;
    private final int durableEveryBlocks;
    private final ByteBuffer readBuffer;
    private final HoleProbe holes;
    private long[] pendingBlocks = new long[1024];
    private long[] pendingFingerprints = new long[1024];
    private int pendingCount;

    /**
     * @param maxRunBytes        largest run handed to the sink at once (a journal entry).
     * @param durableEveryBytes  changed bytes after which the sink is asked to make them durable and
     *                           the table catches up, bounding the memory a big scan holds.
     */
    public FingerprintScanner(
        final VolumeChannel volume, final FingerprintTable table, final int maxRunBytes, final int durableEveryBytes)
    {
        this.volume = volume;
        this.table = table;
        this.blockSize = table.blockSize();
        this.maxRunBlocks = Math.max(1, maxRunBytes / blockSize);
        this.durableEveryBlocks = Math.max(1, durableEveryBytes / blockSize);
        final int readBlocks = Math.max(maxRunBlocks, READ_BYTES / blockSize);
        this.readBuffer = ByteBuffer.allocateDirect(readBlocks * blockSize);
        this.holes = volume.holes();
    }

    /**
     * Scans every block; returns the number of changed blocks reported. Holes of a sparse volume are
     * not read, nor the table entries behind them when those say zeros too.
     */
    public long scan(final ChangeSink sink) throws IOException
    {
        final long blockCount = table.blockCount();
        final int readBlocks = readBuffer.capacity() / blockSize;
        long changed = 0;
        long noSkipBefore = 0;
        for (long first = 0; first < blockCount; )
        {
            if (first >= noSkipBefore)
            {
                // A hole of the volume reads as zeros: skip it, and the table behind it, if the table
                // says zeros there too. (If it does not, the blocks were zeroed since: read them.)
                final long holeEnd = holeEndBlock(first, blockCount);
                if (holeEnd > first)
                {
                    if (table.isAllZero(first, holeEnd))
                    {
                        first = holeEnd;
                        sink.onScanned(first);
                        continue;
                    }
                    noSkipBefore = holeEnd;
                }
            }
            final int blocks = (int)Math.min(readBlocks, blockCount - first);
            readBuffer.clear().limit(blocks * blockSize);
            volume.readBlocks(first, readBuffer);
            int runStart = -1;
            for (int i = 0; i < blocks; i++)
            {
                final long fingerprint = Checksums.xxHash64(readBuffer, i * blockSize, blockSize);
                final boolean isChanged = fingerprint != table.get(first + i);
                if (isChanged)
                {
                    addPending(first + i, fingerprint);
                    changed++;
                    if (runStart < 0)
                    {
                        runStart = i;
                    }
                }
                if (runStart >= 0 && (!isChanged || i - runStart + 1 == maxRunBlocks))
                {
                    final int runEnd = isChanged ? i + 1 : i;
                    sink.onChangedRun(first + runStart, readBuffer, runStart * blockSize, (runEnd - runStart) * blockSize);
                    runStart = -1;
                }
            }
            if (runStart >= 0)
            {
                sink.onChangedRun(first + runStart, readBuffer, runStart * blockSize, (blocks - runStart) * blockSize);
            }
            sink.onScanned(first + blocks);
            if (pendingCount >= durableEveryBlocks)
            {
                catchUp(sink);
            }
            first += blocks;
        }
        catchUp(sink);
        return changed;
    }

    /** The end of the run of whole blocks from {@code first} that lie in a hole of the volume ({@code first} if none). */
    private long holeEndBlock(final long first, final long blockCount)
    {
        final long data = holes.nextData(first * blockSize);
        return data == Long.MAX_VALUE ? blockCount : Math.min(blockCount, data / blockSize);
    }

    /** Records that block {@code blockIndex} now holds content with this fingerprint (written by us, not a user). */
    public void recordKnownContent(final long blockIndex, final long fingerprint)
    {
        table.set(blockIndex, fingerprint);
    }

    public FingerprintTable table()
    {
        return table;
    }

    private void catchUp(final ChangeSink sink) throws IOException
    {
        if (pendingCount == 0)
        {
            return;
        }
        sink.makeDurable();
        if (!sink.recordsInTable())
        {
            pendingCount = 0;
            return;
        }
        for (int i = 0; i < pendingCount; i++)
        {
            table.set(pendingBlocks[i], pendingFingerprints[i]);
        }
        table.force();
        pendingCount = 0;
    }

    private void addPending(final long blockIndex, final long fingerprint)
    {
        if (pendingCount == pendingBlocks.length)
        {
            pendingBlocks = Arrays.copyOf(pendingBlocks, pendingCount * 2);
            pendingFingerprints = Arrays.copyOf(pendingFingerprints, pendingCount * 2);
        }
        pendingBlocks[pendingCount] = blockIndex;
        pendingFingerprints[pendingCount] = fingerprint;
        pendingCount++;
    }

    /** Where a scan reports changes. */
    public interface ChangeSink
    {
        /**
         * A run of changed blocks; {@code length} is a whole number of blocks at {@code offset} of
         * {@code blocks} (valid only during the call; positions must not be changed).
         */
        void onChangedRun(long firstBlock, ByteBuffer blocks, int offset, int length) throws IOException;

        /** Make every run reported so far durable. */
        void makeDurable() throws IOException;

        /**
         * Whether the table records what the scan saw once the sink made it durable (the default), or
         * the sink's owner records what it later did with the blocks (a bulk sync records what it shipped).
         */
        default boolean recordsInTable()
        {
            return true;
        }

        /** Every block below {@code blockEnd} has been compared (and its changes reported). */
        default void onScanned(final long blockEnd)
        {
        }
    }
}
