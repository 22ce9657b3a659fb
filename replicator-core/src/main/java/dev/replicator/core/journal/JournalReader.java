package dev.replicator.core.journal;

import net.openhft.chronicle.queue.ExcerptTailer;
import net.openhft.chronicle.wire.DocumentContext;

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
 * skipping the released entries; and each entry's CRC32C is checked ({@link JournalEntryDecoder}), so
 * a damaged entry fails the poll instead of being delivered.
 */
public final class JournalReader implements AutoCloseable
{
    private final ExcerptTailer tailer;
    private final Path queueDirectory;
    private final JournalEntryDecoder decoder;
    private long lastReadSeq;
    private boolean closed;

    JournalReader(final ExcerptTailer tailer, final Path queueDirectory, final long afterSeq, final int payloadCapacity)
    {
        this.tailer = tailer;
        this.queueDirectory = queueDirectory;
        this.lastReadSeq = afterSeq;
        this.decoder = new JournalEntryDecoder(payloadCapacity);
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
        // An AssertionError is Chronicle's own check of a damaged file, when assertions are enabled.
        catch (final RuntimeException | AssertionError ex)
        {
            throw new JournalException("cannot read journal queue " + queueDirectory + " after seq " +
                lastReadSeq + ": " + ex.getMessage(), ex);
        }
    }

    private void deliver(final DocumentContext dc, final JournalEntryHandler handler)
    {
        final String damage = decoder.decode(dc.wire().bytes());
        if (damage != null)
        {
            throw damaged(dc, damage);
        }
        final long seq = decoder.seq();
        if (seq != lastReadSeq + 1)
        {
            throw new JournalException("journal queue " + queueDirectory + ": expected seq " + (lastReadSeq + 1) +
                " but found seq " + seq + (seq > lastReadSeq ?
                "; the entries in between were released while this reader lagged behind" : ""));
        }
        if (decoder.type() == JournalEntryDescriptor.TYPE_WRITE)
        {
            handler.onWrite(seq, decoder.timestampMs(), decoder.volumeIndex(), decoder.firstBlock(), decoder.payload());
        }
        else
        {
            handler.onCheckpoint(seq, decoder.timestampMs(),
                new String(decoder.payloadBytes(), 0, decoder.payloadLength(), StandardCharsets.UTF_8));
        }
        lastReadSeq = seq;
    }

    private JournalException damaged(final DocumentContext dc, final String what)
    {
        return new JournalException("journal queue " + queueDirectory + " entry at index 0x" +
            Long.toHexString(dc.index()) + " after seq " + lastReadSeq + " " + what +
            ": not a replicator journal, or damaged; entries up to seq " + lastReadSeq + " are intact");
    }
}
