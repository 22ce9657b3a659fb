package dev.replicator.target.image;

import dev.replicator.core.bitmap.BlockBitmap;
import dev.replicator.core.volume.VolumeSpec;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * What an image of checkpoint s lays over the replica: for every block with an undo record whose base
 * is at or above s, where the first such record is (segments oldest first, first record per block
 * wins: it holds the block as of the first overwrite after s). Built by scanning only the segments
 * with base at or above s, so it costs time in proportion to the changes since s, never to the volume
 * size; then kept up to date by scanning only what the writer published since ({@link #catchUp}), so a
 * view stays exact while replication goes on.
 *
 * <p>Owned by one {@link ImageView}; not thread-safe. Every method runs under the store's read lock.
 */
final class ImageOverlay implements UndoRecordVisitor
{
    private final long baseCheckpointSeq;
    private final List<VolumeSpec> volumes;
    private final BlockBitmap[] overridden;
    private final BlockLocationIndex[] locations;
    private final ArrayList<UndoSegment> segments = new ArrayList<>();
    private long seenVersion = -1;
    private long cursorBaseSeq;
    private long cursorPosition;
    private int scanningOrdinal;
    private long recordsScanned;
    /** Records scanned per segment ordinal: whole segments, since each is scanned from its start. */
    private long[] recordsBySegment = new long[8];
    private long checkedThroughBaseSeq = -1;
    private ByteBuffer window;

    ImageOverlay(final long baseCheckpointSeq, final List<VolumeSpec> volumes)
    {
        this.baseCheckpointSeq = baseCheckpointSeq;
        this.volumes = volumes;
        this.overridden = new BlockBitmap[volumes.size()];
        this.locations = new BlockLocationIndex[volumes.size()];
        for (int i = 0; i < overridden.length; i++)
        {
            overridden[i] = new BlockBitmap();
            locations[i] = new BlockLocationIndex();
        }
        cursorBaseSeq = baseCheckpointSeq;
        cursorPosition = UndoSegmentDescriptor.HEADER_LENGTH;
    }

    long baseCheckpointSeq()
    {
        return baseCheckpointSeq;
    }

    /** Scans what the undo log published since the last call; nothing if it published nothing. */
    void catchUp(final UndoLog log) throws IOException
    {
        final long version = log.publishVersion();
        if (version == seenVersion)
        {
            return;
        }
        for (final UndoSegment segment : log.segmentsFrom(cursorBaseSeq).values())
        {
            long position = segment.baseCheckpointSeq() == cursorBaseSeq ?
                cursorPosition : UndoSegmentDescriptor.HEADER_LENGTH;
            if (position < segment.publishedLength())
            {
                scanningOrdinal = ordinalOf(segment);
                if (window == null)
                {
                    window = ByteBuffer.allocateDirect(UndoSegment.scanWindowLength(volumes));
                }
                position = segment.scanPublished(position, window, this);
            }
            checkSealedSegmentIsWhole(log, segment);
            cursorBaseSeq = segment.baseCheckpointSeq();
            cursorPosition = position;
        }
        seenVersion = version;
    }

    /** A sealed segment read to its end must hold as many records as its interval changed blocks. */
    private void checkSealedSegmentIsWhole(final UndoLog log, final UndoSegment segment)
    {
        final long base = segment.baseCheckpointSeq();
        final long expected = log.sealedRecordCount(base);
        if (expected < 0 || base <= checkedThroughBaseSeq)
        {
            return;
        }
        final int ordinal = segments.indexOf(segment);
        final long scanned = ordinal < 0 ? 0 : recordsBySegment[ordinal];
        if (scanned != expected)
        {
            throw new ImageStoreException("undo segment " + segment.path() + " holds " + scanned + " undo records, " +
                "but the catalog records " + expected + " blocks changed in its interval: it was cut short; images " +
                "of checkpoints up to seq " + base + " cannot be produced exactly");
        }
        checkedThroughBaseSeq = base;
    }

    @Override
    public void onRecord(final long recordPosition, final long seq, final int volumeIndex, final long blockIndex)
    {
        recordsScanned++;
        recordsBySegment[scanningOrdinal]++;
        final BlockBitmap blocks = overridden[volumeIndex];
        if (!blocks.get(blockIndex))
        {
            blocks.set(blockIndex);
            locations[volumeIndex].put(blockIndex, scanningOrdinal, recordPosition);
        }
    }

    /**
     * Replaces, in {@code dst}, the overridden ones among {@code blockCount} blocks from
     * {@code firstBlock} read from the replica at {@code dstOffset}.
     */
    void apply(
        final int volumeIndex,
        final long firstBlock,
        final int blockCount,
        final ByteBuffer dst,
        final int dstOffset,
        final ByteBuffer scratch) throws IOException
    {
        final BlockBitmap blocks = overridden[volumeIndex];
        if (blocks.isEmpty())
        {
            return;
        }
        final int blockSize = volumes.get(volumeIndex).blockSize();
        final BlockLocationIndex index = locations[volumeIndex];
        for (int i = 0; i < blockCount; i++)
        {
            final long blockIndex = firstBlock + i;
            if (blocks.get(blockIndex))
            {
                final int slot = index.slotOf(blockIndex);
                segments.get(index.segmentOrdinalAt(slot)).readBlock(
                    index.positionAt(slot), volumeIndex, blockIndex, scratch, dst, dstOffset + i * blockSize);
            }
        }
    }

    long overriddenBlocks(final int volumeIndex)
    {
        return overridden[volumeIndex].cardinality();
    }

    BlockBitmap overriddenCopy(final int volumeIndex)
    {
        return overridden[volumeIndex].copy();
    }

    long recordsScanned()
    {
        return recordsScanned;
    }

    private int ordinalOf(final UndoSegment segment)
    {
        final int last = segments.size() - 1;
        if (last >= 0 && segments.get(last) == segment)
        {
            return last;
        }
        segments.add(segment);
        if (segments.size() > recordsBySegment.length)
        {
            recordsBySegment = java.util.Arrays.copyOf(recordsBySegment, recordsBySegment.length * 2);
        }
        return last + 1;
    }
}
