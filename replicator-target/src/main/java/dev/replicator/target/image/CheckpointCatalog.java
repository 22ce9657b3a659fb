package dev.replicator.target.image;

import dev.replicator.core.io.AtomicFiles;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The append-only checkpoint catalog ({@link CheckpointCatalogDescriptor}). Opening reads the valid
 * records and skips those whose seq is not above the previous one; what follows the last valid record
 * is truncated by {@link #truncateTornTail()} once the store has checked it is a torn tail and not
 * damage. The file is never rewritten: retention only moves the store's "first retained" mark.
 *
 * <p>Single writer (the store's writer thread); not thread-safe. Readers get immutable snapshots.
 */
final class CheckpointCatalog implements Closeable
{
    private final Path path;
    private FileChannel channel;
    private int version;
    private final ByteBuffer recordBuffer =
        ByteBuffer.allocateDirect(CheckpointCatalogDescriptor.MAX_RECORD_LENGTH);
    private final ArrayList<Checkpoint> checkpoints = new ArrayList<>();
    private long endPosition;
    private long fileLength;

    private CheckpointCatalog(final Path path, final FileChannel channel)
    {
        this.path = path;
        this.channel = channel;
    }

    static CheckpointCatalog openOrCreate(final Path path) throws IOException
    {
        if (!Files.exists(path))
        {
            final ByteBuffer header = ByteBuffer.allocate(CheckpointCatalogDescriptor.FILE_HEADER_LENGTH);
            CheckpointCatalogDescriptor.encodeFileHeader(header);
            AtomicFiles.write(path, header);
        }
        final FileChannel channel = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
        try
        {
            final CheckpointCatalog catalog = new CheckpointCatalog(path, channel);
            catalog.recover();
            return catalog;
        }
        catch (final IOException | RuntimeException ex)
        {
            Closeables.closeQuietly(channel, ex);
            throw ex;
        }
    }

    private void recover() throws IOException
    {
        final long size = channel.size();
        if (size > Integer.MAX_VALUE)
        {
            throw new ImageStoreException("checkpoint catalog " + path + " is larger than 2 GiB; it is damaged");
        }
        final ByteBuffer all = ByteBuffer.allocate((int)size);
        while (all.hasRemaining() && channel.read(all, all.position()) >= 0)
        {
            // Loop: positional reads may be short.
        }
        if (size < CheckpointCatalogDescriptor.FILE_HEADER_LENGTH || !CheckpointCatalogDescriptor.isValidFileHeader(all))
        {
            throw new ImageStoreException("checkpoint catalog " + path + " is not a replicator checkpoint catalog");
        }
        version = CheckpointCatalogDescriptor.version(all);
        int offset = CheckpointCatalogDescriptor.FILE_HEADER_LENGTH;
        long previousSeq = 0;
        while (true)
        {
            final int length = CheckpointCatalogDescriptor.validLength(all, offset, (int)size - offset, version);
            if (length < 0)
            {
                break;
            }
            final long seq = CheckpointCatalogDescriptor.seq(all, offset);
            // A seq at or below the previous one was a checkpoint resent after a crash: the first wins.
            if (seq > previousSeq)
            {
                checkpoints.add(new Checkpoint(
                    seq,
                    CheckpointCatalogDescriptor.timestampMs(all, offset),
                    new String(CheckpointCatalogDescriptor.label(all, offset, length, version), StandardCharsets.UTF_8),
                    CheckpointCatalogDescriptor.blocksChanged(all, offset),
                    (CheckpointCatalogDescriptor.flags(all, offset, version) &
                        CheckpointCatalogDescriptor.FLAG_APP_CONSISTENT) != 0));
                previousSeq = seq;
            }
            offset += length;
        }
        endPosition = offset;
        fileLength = size;
    }

    /** Bytes after the last valid record: a torn tail, or damage. */
    long invalidTailBytes()
    {
        return fileLength - endPosition;
    }

    /**
     * Truncates what follows the last valid record; call only once it is known to be a torn tail. A
     * version 1 catalog is then rewritten as version 2 (atomic replace), its checkpoints crash-consistent.
     */
    void truncateTornTail() throws IOException
    {
        if (endPosition < fileLength)
        {
            channel.truncate(endPosition);
            channel.force(true);
            fileLength = endPosition;
        }
        if (version == CheckpointCatalogDescriptor.VERSION_1)
        {
            upgrade();
        }
    }

    private void upgrade() throws IOException
    {
        final ByteBuffer all = ByteBuffer.allocate(CheckpointCatalogDescriptor.FILE_HEADER_LENGTH +
            checkpoints.size() * CheckpointCatalogDescriptor.MAX_RECORD_LENGTH);
        CheckpointCatalogDescriptor.encodeFileHeader(all);
        int offset = CheckpointCatalogDescriptor.FILE_HEADER_LENGTH;
        for (final Checkpoint checkpoint : checkpoints)
        {
            offset += encode(all, offset, checkpoint);
        }
        all.limit(offset);
        channel.close();
        AtomicFiles.write(path, all);
        channel = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
        version = CheckpointCatalogDescriptor.VERSION;
        endPosition = offset;
        fileLength = offset;
    }

    private static int encode(final ByteBuffer buffer, final int offset, final Checkpoint checkpoint)
    {
        return CheckpointCatalogDescriptor.encode(buffer, offset, checkpoint.seq(), checkpoint.timestampMs(),
            checkpoint.blocksChanged(), checkpoint.applicationConsistent() ?
                CheckpointCatalogDescriptor.FLAG_APP_CONSISTENT : 0,
            checkpoint.label().getBytes(StandardCharsets.UTF_8));
    }

    /** All checkpoints in seq order, retained or not; an immutable snapshot. */
    List<Checkpoint> checkpoints()
    {
        return Collections.unmodifiableList(new ArrayList<>(checkpoints));
    }

    /** Seq of the newest checkpoint, or 0 if there is none. */
    long latestSeq()
    {
        return checkpoints.isEmpty() ? 0 : checkpoints.get(checkpoints.size() - 1).seq();
    }

    /** Appends a checkpoint and makes it durable. */
    void append(final Checkpoint checkpoint) throws IOException
    {
        if (version != CheckpointCatalogDescriptor.VERSION)
        {
            throw new IllegalStateException("checkpoint catalog " + path + " is not upgraded yet");
        }
        recordBuffer.clear();
        final int length = encode(recordBuffer, 0, checkpoint);
        recordBuffer.limit(length);
        long position = endPosition;
        while (recordBuffer.hasRemaining())
        {
            position += channel.write(recordBuffer, position);
        }
        // The file grows: sync metadata too (checkpoints are rare, the cost does not matter).
        channel.force(true);
        endPosition = position;
        fileLength = Math.max(fileLength, position);
        checkpoints.add(checkpoint);
    }

    @Override
    public void close() throws IOException
    {
        channel.close();
    }
}
