package dev.replicator.target.image;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Appends undo records to the current segment through one staging buffer, so a batch costs a few
 * large writes instead of one per record. Records are not visible to readers until the undo log
 * publishes them. Writer thread only; not thread-safe.
 */
final class UndoAppender
{
    private final ByteBuffer staging;
    private UndoSegment segment;
    private long stagingPosition;

    UndoAppender(final int stagingLengthBytes)
    {
        staging = ByteBuffer.allocateDirect(stagingLengthBytes);
    }

    void attach(final UndoSegment segment)
    {
        this.segment = segment;
        stagingPosition = segment.publishedLength();
        staging.clear();
    }

    void detach()
    {
        segment = null;
        staging.clear();
    }

    boolean isAttached()
    {
        return segment != null;
    }

    /**
     * Stages a record holding {@code blockSize} bytes of {@code oldContent} at {@code contentOffset}.
     *
     * @return the record's position in the segment file.
     */
    long append(
        final long seq,
        final int volumeIndex,
        final long blockIndex,
        final ByteBuffer oldContent,
        final int contentOffset,
        final int blockSize) throws IOException
    {
        if (staging.remaining() < UndoRecordDescriptor.maxRecordLength(blockSize))
        {
            flush();
        }
        final long position = stagingPosition + staging.position();
        UndoRecordDescriptor.encode(
            staging, seq, segment.baseCheckpointSeq(), volumeIndex, blockIndex, oldContent, contentOffset, blockSize);
        return position;
    }

    /** Writes the staged records to the file (page cache; not yet durable). */
    void flush() throws IOException
    {
        staging.flip();
        long position = stagingPosition;
        while (staging.hasRemaining())
        {
            position += segment.channel().write(staging, position);
        }
        stagingPosition = position;
        staging.clear();
    }

    /** End of the records written so far; call after {@link #flush()}. */
    long endPosition()
    {
        return stagingPosition + staging.position();
    }

    /**
     * Makes the written records durable. fdatasync is enough although the file grows: it also flushes
     * the size, which is the metadata needed to read the data back.
     */
    void force() throws IOException
    {
        segment.channel().force(false);
    }
}
