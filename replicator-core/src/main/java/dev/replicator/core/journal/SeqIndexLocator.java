package dev.replicator.core.journal;

import java.util.List;

/**
 * Finds the queue index of the entry with a given seq without reading the journal from the start.
 *
 * <p>Seqs grow with queue order, so the cycle holding a seq is the newest cycle whose first entry's
 * seq is not above it: a binary search over the cycle files, one read each (empty cycle files are
 * stepped over). Within the cycle, seqs are contiguous and so are Chronicle's per-cycle sequence
 * numbers, so the index follows by arithmetic; the entry there is read to confirm it. Should that
 * ever disagree (a journal with a hole), a binary search over the cycle's entries finds it anyway.
 * Cost: O(log cycles + log entries-per-cycle) reads at worst, two or three reads usually.
 */
final class SeqIndexLocator
{
    static final long NOT_FOUND = -1;

    private SeqIndexLocator()
    {
    }

    /** Index of the entry with {@code seq}, or {@link #NOT_FOUND}. {@code cycles}: oldest first. */
    static long indexOf(final SeqProbe probe, final List<CycleFiles.CycleFile> cycles, final long seq)
    {
        int low = 0;
        int high = cycles.size() - 1;
        int foundCycle = 0;
        long foundFirstSeq = SeqProbe.NO_SEQ;
        while (low <= high)
        {
            final int mid = (low + high) >>> 1;
            int probed = mid;
            long firstSeq = SeqProbe.NO_SEQ;
            while (probed <= high && (firstSeq = probe.firstSeqInCycle(cycles.get(probed).cycle())) == SeqProbe.NO_SEQ)
            {
                probed++;
            }
            if (firstSeq == SeqProbe.NO_SEQ || firstSeq > seq)
            {
                high = mid - 1;
            }
            else
            {
                foundCycle = cycles.get(probed).cycle();
                foundFirstSeq = firstSeq;
                low = probed + 1;
            }
        }
        if (foundFirstSeq == SeqProbe.NO_SEQ)
        {
            return NOT_FOUND;
        }
        return indexInCycle(probe, foundCycle, foundFirstSeq, seq);
    }

    private static long indexInCycle(final SeqProbe probe, final int cycle, final long firstSeq, final long seq)
    {
        final long offset = seq - firstSeq;
        if (offset < probe.rollCycle().maxMessagesPerCycle())
        {
            final long guess = probe.rollCycle().toIndex(cycle, offset);
            if (probe.seqAt(guess) == seq)
            {
                return guess;
            }
        }
        long low = 0;
        long high = probe.entriesInCycle(cycle) - 1;
        while (low <= high)
        {
            final long mid = (low + high) >>> 1;
            final long index = probe.rollCycle().toIndex(cycle, mid);
            final long midSeq = probe.seqAt(index);
            if (midSeq == seq)
            {
                return index;
            }
            if (midSeq == SeqProbe.NO_SEQ || midSeq > seq)
            {
                high = mid - 1;
            }
            else
            {
                low = mid + 1;
            }
        }
        return NOT_FOUND;
    }
}
