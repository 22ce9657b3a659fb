package dev.replicator.core.scan;

import dev.replicator.core.codec.Checksums;
import dev.replicator.core.volume.DataRegions;
import dev.replicator.core.volume.VolumeChannel;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * Finds the blocks of a volume whose content changed since the last scan by comparing each
 * block's xxHash64 with a {@link FingerprintTable}. Changed blocks go to a {@link ChangeSink} as
 * runs of contiguous blocks; the table is updated only after the sink says the changes are
 * durable ({@link ChangeSink#makeDurable()}), so a crash mid-scan re-reports changes rather than
 * losing them. Not thread-safe: one scan at a time per volume.
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
    private final long[] fingerprints;
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
        this.fingerprints = new long[readBlocks];
    }

    /**
     * Scans every block; returns the number of changed blocks reported. Holes of a sparse volume are
     * not read: their blocks are all-zero, so only table entries that say otherwise are reported.
     */
    public long scan(final ChangeSink sink) throws IOException
    {
        final long blockCount = table.blockCount();
        final int readBlocks = readBuffer.capacity() / blockSize;
        final long zeroFingerprint = Checksums.zeroBlockFingerprint(blockSize);
        long changed = 0;
        try (DataRegions regions = DataRegions.open(volume.path(), blockCount * blockSize))
        {
            long nextDataBlock = -1;
            for (long first = 0; first < blockCount; first += readBlocks)
            {
                final int blocks = (int)Math.min(readBlocks, blockCount - first);
                if (nextDataBlock < first)
                {
                    nextDataBlock = regions.nextData(first * blockSize) / blockSize;
                }
                readBuffer.clear().limit(blocks * blockSize);
                final boolean hole = nextDataBlock >= first + blocks;
                if (hole)
                {
                    for (int i = 0; i < blocks; i++)
                    {
                        fingerprints[i] = zeroFingerprint;
                    }
                    if (anyDiffers(first, blocks))
                    {
                        zeroFill(blocks * blockSize);
                    }
                }
                else
                {
                    volume.readBlocks(first, readBuffer);
                    for (int i = 0; i < blocks; i++)
                    {
                        fingerprints[i] = Checksums.xxHash64(readBuffer, i * blockSize, blockSize);
                    }
                }
                changed += reportRuns(first, blocks, sink);
                sink.onScanned(first + blocks);
                if (pendingCount >= durableEveryBlocks)
                {
                    catchUp(sink);
                }
            }
        }
        catchUp(sink);
        return changed;
    }

    private boolean anyDiffers(final long first, final int blocks)
    {
        for (int i = 0; i < blocks; i++)
        {
            if (fingerprints[i] != table.get(first + i))
            {
                return true;
            }
        }
        return false;
    }

    private void zeroFill(final int bytes)
    {
        for (int i = 0; i < bytes; i += Long.BYTES)
        {
            readBuffer.putLong(i, 0L);
        }
    }

    private long reportRuns(final long first, final int blocks, final ChangeSink sink) throws IOException
    {
        long changed = 0;
        int runStart = -1;
        for (int i = 0; i < blocks; i++)
        {
            final long fingerprint = fingerprints[i];
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
        return changed;
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
