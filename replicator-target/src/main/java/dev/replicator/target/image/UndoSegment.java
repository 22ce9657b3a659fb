package dev.replicator.target.image;

import dev.replicator.core.codec.BlockCodec;
import dev.replicator.core.io.AtomicFiles;
import dev.replicator.core.volume.VolumeSpec;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

/**
 * One undo segment file ({@link UndoSegmentDescriptor}): scanning its records, reading one record's
 * block back, and recovering its tail after a crash.
 *
 * <p>Records below {@link #publishedLength()} are whole and immutable, so any number of threads may
 * read them with positional reads; only the store's writer appends (through {@link UndoAppender}) and
 * moves the published length, under the store's write lock.
 */
final class UndoSegment implements Closeable
{
    private final long baseCheckpointSeq;
    private final Path path;
    private final FileChannel channel;
    private final List<VolumeSpec> volumes;
    private volatile long publishedLength;

    private UndoSegment(
        final long baseCheckpointSeq, final Path path, final FileChannel channel, final List<VolumeSpec> volumes)
    {
        this.baseCheckpointSeq = baseCheckpointSeq;
        this.path = path;
        this.channel = channel;
        this.volumes = volumes;
    }

    /** Creates an empty segment; the header and the directory entry are durable on return. */
    static UndoSegment create(final Path path, final long baseCheckpointSeq, final List<VolumeSpec> volumes)
        throws IOException
    {
        final ByteBuffer header = ByteBuffer.allocate(UndoSegmentDescriptor.HEADER_LENGTH);
        UndoSegmentDescriptor.encodeHeader(header, baseCheckpointSeq);
        AtomicFiles.write(path, header);
        final UndoSegment segment = open(path, baseCheckpointSeq, volumes, true);
        segment.publishedLength = UndoSegmentDescriptor.HEADER_LENGTH;
        return segment;
    }

    /**
     * Opens an existing segment and checks its header; the published length is the file's length
     * until {@link #recoverTail} says otherwise.
     */
    static UndoSegment open(
        final Path path, final long baseCheckpointSeq, final List<VolumeSpec> volumes, final boolean writable)
        throws IOException
    {
        final FileChannel channel = writable ?
            FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE) :
            FileChannel.open(path, StandardOpenOption.READ);
        try
        {
            final ByteBuffer header = ByteBuffer.allocate(UndoSegmentDescriptor.HEADER_LENGTH);
            while (header.hasRemaining() && channel.read(header, header.position()) >= 0)
            {
                // Loop: positional reads may be short.
            }
            if (header.hasRemaining() || !UndoSegmentDescriptor.isValidHeader(header, baseCheckpointSeq))
            {
                throw new ImageStoreException("undo segment " + path + " has a damaged header; the images of " +
                    "checkpoints up to seq " + baseCheckpointSeq + " cannot be produced");
            }
            final UndoSegment segment = new UndoSegment(baseCheckpointSeq, path, channel, volumes);
            segment.publishedLength = channel.size();
            return segment;
        }
        catch (final IOException | RuntimeException ex)
        {
            Closeables.closeQuietly(channel, ex);
            throw ex;
        }
    }

    long baseCheckpointSeq()
    {
        return baseCheckpointSeq;
    }

    Path path()
    {
        return path;
    }

    FileChannel channel()
    {
        return channel;
    }

    /** End of the records readers may see. */
    long publishedLength()
    {
        return publishedLength;
    }

    /** Only the writer, under the store's write lock, after the bytes below it are written. */
    void publish(final long length)
    {
        publishedLength = length;
    }

    /**
     * Crash recovery of the newest segment: visits the valid records, truncates the first invalid one
     * and everything after it (a write cut short by the crash, never fsynced, so no replica write
     * depends on it) and publishes the rest.
     *
     * @param committedLength the records below it were durable before a replica write that overwrote
     *                        what they keep ({@code store.state}): damage there is not a torn tail.
     * @return the number of valid records.
     * @throws ImageStoreException if the valid records end before {@code committedLength}; then nothing
     *                             is truncated.
     */
    long recoverTail(final ByteBuffer window, final UndoRecordVisitor visitor, final long committedLength)
        throws IOException
    {
        final long size = channel.size();
        final long[] count = new long[1];
        final long end = scan(UndoSegmentDescriptor.HEADER_LENGTH, size, window,
            (position, seq, volumeIndex, blockIndex) ->
            {
                count[0]++;
                visitor.onRecord(position, seq, volumeIndex, blockIndex);
            });
        if (end < committedLength)
        {
            throw new ImageStoreException("undo segment " + path + " is damaged at byte " + end + " of " + size +
                ": the replicas already depend on its records up to byte " + committedLength + ", so images of " +
                "checkpoints up to seq " + baseCheckpointSeq + " cannot be produced exactly; the file was left " +
                "as it is; the group must be resynchronised");
        }
        if (end < size)
        {
            channel.truncate(end);
            channel.force(true);
        }
        publishedLength = end;
        return count[0];
    }

    /**
     * Visits the published records from {@code fromPosition}; they must all be valid, since only whole
     * records are published.
     *
     * @return the position after the last record visited (the published length).
     * @throws ImageStoreException if a published record is damaged.
     */
    long scanPublished(final long fromPosition, final ByteBuffer window, final UndoRecordVisitor visitor)
        throws IOException
    {
        final long to = publishedLength;
        final long end = scan(fromPosition, to, window, visitor);
        if (end != to)
        {
            throw damaged(end);
        }
        return end;
    }

    /**
     * Decodes the block saved by the record at {@code recordPosition} into {@code dst} at
     * {@code dstOffset}; {@code scratch} must hold {@link UndoRecordDescriptor#maxRecordLength} bytes.
     */
    void readBlock(
        final long recordPosition,
        final int volumeIndex,
        final long blockIndex,
        final ByteBuffer scratch,
        final ByteBuffer dst,
        final int dstOffset) throws IOException
    {
        final int blockSize = volumes.get(volumeIndex).blockSize();
        scratch.clear().limit(UndoRecordDescriptor.maxRecordLength(blockSize));
        long position = recordPosition;
        while (scratch.hasRemaining())
        {
            final int read = channel.read(scratch, position);
            if (read < 0)
            {
                break;
            }
            position += read;
        }
        final int length = UndoRecordDescriptor.validLength(
            scratch, 0, scratch.position(), baseCheckpointSeq, volumes);
        if (length < 0 ||
            UndoRecordDescriptor.volumeIndex(scratch, 0) != volumeIndex ||
            UndoRecordDescriptor.blockIndex(scratch, 0) != blockIndex)
        {
            throw damaged(recordPosition);
        }
        BlockCodec.decode(
            UndoRecordDescriptor.codec(scratch, 0), scratch, UndoRecordDescriptor.PAYLOAD_OFFSET,
            length - UndoRecordDescriptor.HEADER_LENGTH, dst, dstOffset, blockSize);
    }

    /** Bytes a scan window needs so that the largest record fits twice. */
    static int scanWindowLength(final List<VolumeSpec> volumes)
    {
        int maxBlockSize = 0;
        for (int i = 0; i < volumes.size(); i++)
        {
            maxBlockSize = Math.max(maxBlockSize, volumes.get(i).blockSize());
        }
        // 1 MiB reads keep a sequential scan at disk speed; two records must fit for the slide.
        return Math.max(1 << 20, 2 * UndoRecordDescriptor.maxRecordLength(maxBlockSize));
    }

    /**
     * Visits valid records from {@code from} up to {@code to}; stops at the first invalid one.
     *
     * @return the position after the last valid record.
     */
    private long scan(final long from, final long to, final ByteBuffer window, final UndoRecordVisitor visitor)
        throws IOException
    {
        long windowStart = from;
        window.clear().limit(0);
        long position = from;
        while (position < to)
        {
            final int relative = (int)(position - windowStart);
            final int available = window.limit() - relative;
            int wanted = UndoRecordDescriptor.HEADER_LENGTH;
            if (available >= UndoRecordDescriptor.HEADER_LENGTH)
            {
                final int length = UndoRecordDescriptor.length(window, relative);
                if (length > wanted && length <= window.capacity())
                {
                    wanted = length;
                }
            }
            if (available < wanted && position + available < to)
            {
                window.position(relative);
                window.compact();
                windowStart = position;
                window.limit((int)Math.min(window.capacity(), to - windowStart));
                long readPosition = windowStart + window.position();
                while (window.hasRemaining())
                {
                    final int read = channel.read(window, readPosition);
                    if (read < 0)
                    {
                        break;
                    }
                    readPosition += read;
                }
                window.flip();
                if (window.limit() == available)
                {
                    break;
                }
                continue;
            }
            final int length = UndoRecordDescriptor.validLength(
                window, relative, available, baseCheckpointSeq, volumes);
            if (length < 0)
            {
                break;
            }
            visitor.onRecord(
                position,
                UndoRecordDescriptor.seq(window, relative),
                UndoRecordDescriptor.volumeIndex(window, relative),
                UndoRecordDescriptor.blockIndex(window, relative));
            position += length;
        }
        return position;
    }

    private ImageStoreException damaged(final long position)
    {
        return new ImageStoreException("undo segment " + path + " is damaged at byte " + position +
            "; images of checkpoints up to seq " + baseCheckpointSeq + " cannot be produced exactly");
    }

    @Override
    public void close() throws IOException
    {
        channel.close();
    }
}
