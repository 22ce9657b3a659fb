package dev.replicator.core.journal;

import net.openhft.chronicle.queue.ExcerptTailer;
import net.openhft.chronicle.wire.DocumentContext;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * A cursor over a journal, made by {@link Journal#reader(long)}. {@link #poll} hands the entries
 * appended so far to a handler, in seq order, without blocking.
 *
 * <p>Not thread-safe: one thread polls a reader at a time (a Chronicle tailer is single-threaded); it
 * may be handed to another thread with a happens-before edge. Each entry's seq is checked to follow
 * the previous one, so a reader that fell behind a {@link Journal#release} fails loudly instead of
 * skipping the released entries; each entry's CRC32C is checked ({@link JournalEntryDecoder}), so a
 * damaged entry fails the poll instead of being delivered; and a reader that can read nothing more
 * while the journal holds newer entries (Chronicle stops at a damaged document header, and would
 * report "no entry yet" for ever) fails after {@link #STALL_LIMIT_NS}.
 */
public final class JournalReader implements AutoCloseable
{
    /**
     * How long a reader may find no entry while the journal says newer ones are complete. An entry is
     * readable as soon as it is complete, so any delay is the damage case; the margin covers a
     * Chronicle tailer moving to a new cycle file.
     */
    static final long STALL_LIMIT_NS = TimeUnit.SECONDS.toNanos(1);
    private static final long NOT_STALLED = Long.MIN_VALUE;

    private final ExcerptTailer tailer;
    private final Path queueDirectory;
    private final LongSupplier journalLastSeq;
    private final JournalEntryDecoder decoder;
    private long lastReadSeq;
    private long stallLimitNs = STALL_LIMIT_NS;
    private long stalledSinceNs = NOT_STALLED;
    private boolean closed;

    JournalReader(
        final ExcerptTailer tailer,
        final Path queueDirectory,
        final long afterSeq,
        final int payloadCapacity,
        final LongSupplier journalLastSeq)
    {
        this.tailer = tailer;
        this.queueDirectory = queueDirectory;
        this.lastReadSeq = afterSeq;
        this.journalLastSeq = journalLastSeq;
        this.decoder = new JournalEntryDecoder(payloadCapacity);
    }

    /**
     * Reads up to {@code maxEntries} entries that are available now.
     *
     * @return how many entries the handler received; 0 if none is available yet (poll again later).
     * @throws JournalException if the journal cannot be read, an entry is damaged, entries this
     *                          reader had not read yet were released, or no entry after the last one
     *                          read has been readable for {@link #STALL_LIMIT_NS} although the journal
     *                          holds newer ones.
     */
    public int poll(final JournalEntryHandler handler, final int maxEntries)
    {
        Objects.requireNonNull(handler, "handler");
        if (closed)
        {
            throw new JournalException("journal reader of " + queueDirectory + " is closed");
        }
        // Read before the tailer looks: every entry up to it is complete and must be readable.
        final long completeUpToSeq = journalLastSeq.getAsLong();
        int count = 0;
        while (count < maxEntries)
        {
            final DocumentContext dc = readingDocument();
            try
            {
                if (!dc.isPresent())
                {
                    checkNotStalled(completeUpToSeq);
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
        if (count > 0)
        {
            stalledSinceNs = NOT_STALLED;
        }
        return count;
    }

    /** For tests of damaged journals: a shorter stall limit (0: the second empty poll fails). */
    void stallLimitNs(final long limitNs)
    {
        this.stallLimitNs = limitNs;
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

    private void checkNotStalled(final long completeUpToSeq)
    {
        if (lastReadSeq >= completeUpToSeq)
        {
            stalledSinceNs = NOT_STALLED;
            return;
        }
        final long nowNs = System.nanoTime();
        if (stalledSinceNs == NOT_STALLED)
        {
            stalledSinceNs = nowNs;
        }
        else if (nowNs - stalledSinceNs - stallLimitNs >= 0)
        {
            throw new JournalException("journal queue " + queueDirectory + " holds entries up to seq " +
                completeUpToSeq + " but none after seq " + lastReadSeq + " can be read (index 0x" +
                Long.toHexString(tailer.index()) + "): the queue is damaged there; entries up to seq " +
                lastReadSeq + " are intact");
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
                "; the entries in between were released while this reader lagged behind, or are damaged" : ""));
        }
        if (decoder.type() == JournalEntryDescriptor.TYPE_WRITE)
        {
            handler.onWrite(seq, decoder.timestampMs(), decoder.volumeIndex(), decoder.firstBlock(), decoder.payload());
        }
        else if (decoder.type() == JournalEntryDescriptor.TYPE_TREE)
        {
            handler.onTree(seq, decoder.timestampMs(), decoder.volumeIndex(), decoder.payload());
        }
        else
        {
            handler.onCheckpoint(seq, decoder.timestampMs(),
                new String(decoder.payloadBytes(), 0, decoder.payloadLength(), StandardCharsets.UTF_8),
                decoder.firstBlock());
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
