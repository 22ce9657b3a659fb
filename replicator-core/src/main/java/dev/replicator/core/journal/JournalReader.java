package dev.replicator.core.journal;

import net.openhft.chronicle.bytes.Bytes;
import net.openhft.chronicle.queue.ExcerptTailer;
import net.openhft.chronicle.wire.DocumentContext;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Objects;

/**
 * A cursor over a journal, made by {@link Journal#reader(long)}. {@link #poll} hands the entries
 * appended so far to a handler, in seq order, without blocking.
 *
 * <p>Not thread-safe: one thread polls a reader at a time (a Chronicle tailer is single-threaded); it
 * may be handed to another thread with a happens-before edge. Each entry's seq is checked to follow
 * the previous one, so a reader that fell behind a {@link Journal#release} fails loudly instead of
 * skipping the released entries.
 */
public final class JournalReader implements AutoCloseable
{
    private final ExcerptTailer tailer;
    private final Path queueDirectory;
    private byte[] payloadBytes;
    private ByteBuffer payload;
    private long lastReadSeq;
    private boolean closed;

    JournalReader(final ExcerptTailer tailer, final Path queueDirectory, final long afterSeq, final int payloadCapacity)
    {
        this.tailer = tailer;
        this.queueDirectory = queueDirectory;
        this.lastReadSeq = afterSeq;
        allocatePayload(payloadCapacity);
    }

    /**
     * Reads up to {@code maxEntries} entries that are available now.
     *
     * @return how many entries the handler received; 0 if none is available yet (poll again later).
     * @throws JournalException if the journal cannot be read, an entry is damaged, or entries this
     *                          reader had not read yet were released.
     */
    public int poll(final JournalEntryHandler handler, final int maxEntries)
    {
        Objects.requireNonNull(handler, "handler");
        if (closed)
        {
            throw new JournalException("journal reader of " + queueDirectory + " is closed");
        }
        int count = 0;
        while (count < maxEntries)
        {
            final DocumentContext dc = readingDocument();
            try
            {
                if (!dc.isPresent())
                {
                    break;
                }
                deliver(dc, handler);
            }
            catch (final RuntimeException | Error ex)
            {
                // Leave the entry unread so that the next poll delivers it again.
                dc.rollbackOnClose();
                throw ex;
            }
            finally
            {
                dc.close();
            }
            count++;
        }
        return count;
    }

    /** Seq of the last entry handed to a handler; the {@code afterSeq} of the reader if none yet. */
    public long lastReadSeq()
    {
        return lastReadSeq;
    }

    @Override
    public void close()
    {
        if (!closed)
        {
            closed = true;
            tailer.close();
        }
    }

    private DocumentContext readingDocument()
    {
        try
        {
            return tailer.readingDocument();
        }
        catch (final RuntimeException ex)
        {
            throw new JournalException("cannot read journal queue " + queueDirectory + " after seq " +
                lastReadSeq + ": " + ex.getMessage(), ex);
        }
    }

    private void deliver(final DocumentContext dc, final JournalEntryHandler handler)
    {
        final Bytes<?> bytes = dc.wire().bytes();
        final long entryOffset = bytes.readPosition();
        final long entryLength = bytes.readRemaining();
        if (entryLength < JournalEntryDescriptor.HEADER_LENGTH)
        {
            throw damaged(dc, "is " + entryLength + " bytes, shorter than a journal entry header");
        }
        final long seq = JournalEntryDescriptor.seq(bytes, entryOffset);
        if (seq != lastReadSeq + 1)
        {
            throw new JournalException("journal queue " + queueDirectory + ": expected seq " + (lastReadSeq + 1) +
                " but found seq " + seq + (seq > lastReadSeq ?
                "; the entries in between were released while this reader lagged behind" : ""));
        }
        final int payloadLength = JournalEntryDescriptor.payloadLength(bytes, entryOffset);
        if (payloadLength < 0 || payloadLength > entryLength - JournalEntryDescriptor.HEADER_LENGTH)
        {
            throw damaged(dc, "seq " + seq + " claims a payload of " + payloadLength + " bytes in an entry of " +
                entryLength + " bytes");
        }
        final long timestampMs = JournalEntryDescriptor.timestampMs(bytes, entryOffset);
        final byte type = JournalEntryDescriptor.type(bytes, entryOffset);
        if (payloadLength > payloadBytes.length)
        {
            // Written by a journal configured with larger entries than this one: grow once.
            allocatePayload(payloadLength);
        }
        bytes.read(entryOffset + JournalEntryDescriptor.HEADER_LENGTH, payloadBytes, 0, payloadLength);
        if (type == JournalEntryDescriptor.TYPE_WRITE)
        {
            payload.clear().limit(payloadLength);
            handler.onWrite(
                seq,
                timestampMs,
                JournalEntryDescriptor.volumeIndex(bytes, entryOffset),
                JournalEntryDescriptor.firstBlock(bytes, entryOffset),
                payload);
        }
        else if (type == JournalEntryDescriptor.TYPE_CHECKPOINT)
        {
            handler.onCheckpoint(seq, timestampMs, new String(payloadBytes, 0, payloadLength, StandardCharsets.UTF_8));
        }
        else
        {
            throw damaged(dc, "seq " + seq + " has unknown entry type " + type);
        }
        lastReadSeq = seq;
    }

    private void allocatePayload(final int capacity)
    {
        payloadBytes = new byte[capacity];
        payload = ByteBuffer.wrap(payloadBytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    private JournalException damaged(final DocumentContext dc, final String what)
    {
        return new JournalException("journal queue " + queueDirectory + " entry at index 0x" +
            Long.toHexString(dc.index()) + " " + what + ": not a replicator journal, or damaged");
    }
}
