package dev.replicator.core.journal;

import net.openhft.chronicle.queue.ExcerptTailer;
import net.openhft.chronicle.queue.RollCycle;
import net.openhft.chronicle.queue.TailerDirection;
import net.openhft.chronicle.wire.DocumentContext;

import java.nio.file.Path;

/**
 * Reads the seq of the entry at a queue position, for positioning readers, recovery and release.
 * Every entry it reads is checked whole ({@link JournalEntryDecoder}), so a damaged entry never
 * passes its seq off as real. Moves the tailer it is given and uses the decoder it is given; not
 * thread-safe (a tailer belongs to one thread at a time).
 */
final class SeqProbe
{
    /** No entry at that position. Seqs are never negative, so this is no seq. */
    static final long NO_SEQ = Long.MIN_VALUE;

    private final ExcerptTailer tailer;
    private final RollCycle rollCycle;
    private final Path queueDirectory;
    private final JournalEntryDecoder decoder;
    private int entriesRead;
    private long lastIndex = -1;

    SeqProbe(
        final ExcerptTailer tailer, final RollCycle rollCycle, final Path queueDirectory, final JournalEntryDecoder decoder)
    {
        this.tailer = tailer;
        this.rollCycle = rollCycle;
        this.queueDirectory = queueDirectory;
        this.decoder = decoder;
    }

    RollCycle rollCycle()
    {
        return rollCycle;
    }

    /** Entries this probe has read: the cost of a search. */
    int entriesRead()
    {
        return entriesRead;
    }

    /** Seq of the entry at {@code index}, or {@link #NO_SEQ} if there is none. */
    long seqAt(final long index)
    {
        tailer.direction(TailerDirection.FORWARD);
        if (!tailer.moveToIndex(index))
        {
            return NO_SEQ;
        }
        try (DocumentContext dc = tailer.readingDocument())
        {
            if (!dc.isPresent() || dc.index() != index)
            {
                return NO_SEQ;
            }
            return readSeq(dc);
        }
    }

    /** Seq of the first entry of {@code cycle}, or {@link #NO_SEQ} if the cycle has none. */
    long firstSeqInCycle(final int cycle)
    {
        return seqAt(rollCycle.toIndex(cycle, 0));
    }

    /** Entries in {@code cycle}: 0 for an empty or missing cycle file. */
    long entriesInCycle(final int cycle)
    {
        return Math.max(0, tailer.excerptsInCycle(cycle));
    }

    /** Seq of the last entry of {@code cycle}, or {@link #NO_SEQ} if the cycle has none. */
    long lastSeqInCycle(final int cycle)
    {
        final long entries = entriesInCycle(cycle);
        return entries == 0 ? NO_SEQ : seqAt(rollCycle.toIndex(cycle, entries - 1));
    }

    /** Seq of the oldest entry in the queue, or {@link #NO_SEQ} if it has none. */
    long firstSeq()
    {
        tailer.direction(TailerDirection.FORWARD).toStart();
        try (DocumentContext dc = tailer.readingDocument())
        {
            return dc.isPresent() ? readSeq(dc) : NO_SEQ;
        }
    }

    /** Seq of the newest entry in the queue, or {@link #NO_SEQ} if it has none; see {@link #lastIndex()}. */
    long lastSeq()
    {
        // Chronicle's own lastIndex() reads backwards from the end the same way.
        tailer.direction(TailerDirection.BACKWARD).toEnd();
        try (DocumentContext dc = tailer.readingDocument())
        {
            lastIndex = dc.isPresent() ? dc.index() : -1;
            return dc.isPresent() ? readSeq(dc) : NO_SEQ;
        }
        finally
        {
            tailer.direction(TailerDirection.FORWARD);
        }
    }

    /** Queue index of the entry the last {@link #lastSeq()} found, -1 if none. */
    long lastIndex()
    {
        return lastIndex;
    }

    /** Whether a document (whole or not) follows {@code index} in its cycle. */
    boolean hasDocumentAfter(final long index)
    {
        tailer.direction(TailerDirection.FORWARD);
        if (!tailer.moveToIndex(index + 1))
        {
            return false;
        }
        try (DocumentContext dc = tailer.readingDocument())
        {
            return dc.isPresent();
        }
    }

    private long readSeq(final DocumentContext dc)
    {
        entriesRead++;
        final String damage = decoder.decode(dc.wire().bytes());
        if (damage != null)
        {
            throw new JournalException("journal queue " + queueDirectory + ": the entry at index 0x" +
                Long.toHexString(dc.index()) + " " + damage + ": not a replicator journal, or damaged");
        }
        return decoder.seq();
    }
}
