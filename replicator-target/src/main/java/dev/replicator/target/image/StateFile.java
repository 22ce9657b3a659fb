package dev.replicator.target.image;

import dev.replicator.core.io.AtomicFiles;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The store's small durable state: lastSeq, the first retained checkpoint seq, and how much of the
 * current interval's undo segment the replicas depend on, in two alternating slots
 * ({@link StateFileDescriptor}). Single writer (the store's writer thread); not thread-safe.
 */
final class StateFile implements Closeable
{
    private final Path path;
    private final FileChannel channel;
    private final ByteBuffer slot = ByteBuffer.allocateDirect(StateFileDescriptor.ENCODED_LENGTH);
    private long generation;
    private long lastSeq;
    private long firstRetainedSeq;
    private long undoBaseSeq;
    private long undoLength;

    private StateFile(final Path path, final FileChannel channel)
    {
        this.path = path;
        this.channel = channel;
    }

    /** Creates the file (atomically, generation 1, lastSeq 0, everything retained) if it is missing. */
    static StateFile openOrCreate(final Path path) throws IOException
    {
        if (!Files.exists(path))
        {
            final ByteBuffer initial = ByteBuffer.allocate(StateFileDescriptor.FILE_LENGTH);
            StateFileDescriptor.encode(initial, (int)StateFileDescriptor.slotPosition(1), 1, 0, 0, 0, 0);
            AtomicFiles.write(path, initial);
        }
        final FileChannel channel = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
        try
        {
            final StateFile file = new StateFile(path, channel);
            file.recover();
            return file;
        }
        catch (final IOException | RuntimeException ex)
        {
            Closeables.closeQuietly(channel, ex);
            throw ex;
        }
    }

    private void recover() throws IOException
    {
        final ByteBuffer all = ByteBuffer.allocate(StateFileDescriptor.FILE_LENGTH);
        while (all.hasRemaining() && channel.read(all, all.position()) >= 0)
        {
            // Positional reads may be short; a file shorter than both slots leaves the rest zero.
        }
        long bestGeneration = 0;
        int bestOffset = -1;
        for (int i = 0; i < StateFileDescriptor.SLOT_COUNT; i++)
        {
            final int offset = i * StateFileDescriptor.SLOT_LENGTH;
            if (StateFileDescriptor.isValid(all, offset) && StateFileDescriptor.generation(all, offset) > bestGeneration)
            {
                bestGeneration = StateFileDescriptor.generation(all, offset);
                bestOffset = offset;
            }
        }
        if (bestOffset < 0)
        {
            throw new ImageStoreException("image store state file " + path + " has no valid slot; the file is " +
                "damaged and the group must be resynchronised");
        }
        generation = bestGeneration;
        lastSeq = StateFileDescriptor.lastSeq(all, bestOffset);
        firstRetainedSeq = StateFileDescriptor.firstRetained(all, bestOffset);
        undoBaseSeq = StateFileDescriptor.undoBase(all, bestOffset);
        undoLength = StateFileDescriptor.undoLength(all, bestOffset);
    }

    long lastSeq()
    {
        return lastSeq;
    }

    long firstRetainedSeq()
    {
        return firstRetainedSeq;
    }

    /** Checkpoint seq of the interval the last commit was in; {@link StateFileDescriptor#UNKNOWN} if not recorded. */
    long undoBaseSeq()
    {
        return undoBaseSeq;
    }

    /** Bytes of that interval's undo segment durable at the last commit; {@link StateFileDescriptor#UNKNOWN} if not recorded. */
    long undoLength()
    {
        return undoLength;
    }

    /**
     * Writes the next generation over the older slot and fdatasyncs it.
     *
     * @param newUndoBaseSeq checkpoint seq of the current interval (0 before the first checkpoint).
     * @param newUndoLength  bytes of that interval's undo segment that are durable (0: no segment yet).
     */
    void write(final long newLastSeq, final long newFirstRetainedSeq, final long newUndoBaseSeq, final long newUndoLength)
        throws IOException
    {
        final long next = generation + 1;
        StateFileDescriptor.encode(slot, 0, next, newLastSeq, newFirstRetainedSeq, newUndoBaseSeq, newUndoLength);
        slot.clear();
        long position = StateFileDescriptor.slotPosition(next);
        while (slot.hasRemaining())
        {
            position += channel.write(slot, position);
        }
        // The file never changes length, so data sync is enough.
        channel.force(false);
        generation = next;
        lastSeq = newLastSeq;
        firstRetainedSeq = newFirstRetainedSeq;
        undoBaseSeq = newUndoBaseSeq;
        undoLength = newUndoLength;
    }

    @Override
    public void close() throws IOException
    {
        channel.close();
    }
}
