package dev.replicator.core.journal;

import java.util.Objects;

/**
 * What {@code journal.meta} holds: the journal's identity and the seq before its first entry.
 *
 * @param journalId random UUID string made when the journal was created; a new journal (after
 *                  failback switched roles) has a new id, so a reader can tell journals apart.
 * @param baseSeq   seq before the first entry: the first entry's seq is {@code baseSeq + 1}.
 */
record JournalMeta(String journalId, long baseSeq)
{
    JournalMeta
    {
        Objects.requireNonNull(journalId, "journalId");
        if (baseSeq < 0)
        {
            throw new IllegalArgumentException("baseSeq must be >= 0, was " + baseSeq);
        }
    }
}
