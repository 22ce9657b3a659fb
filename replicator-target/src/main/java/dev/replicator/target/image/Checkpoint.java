package dev.replicator.target.image;

import java.util.Objects;

/**
 * A consistent point of a group as the catalog records it: the checkpoint's seq, the source's wall
 * time when it was taken, an optional label ("" when none), and the number of distinct blocks written
 * since the previous checkpoint, summed over the group's volumes. Immutable and thread-safe.
 *
 * <p>{@code blocksChanged} of the first checkpoint after a store was opened with no checkpoint yet
 * counts only blocks written since that open: before the first checkpoint nothing is persisted per
 * block (no undo is needed), so a restart forgets the count.
 *
 * <p>{@code applicationConsistent}: the agent quiesced the application around it (pre-checkpoint hook
 * and fsfreeze succeeded); otherwise it is crash-consistent.
 */
public record Checkpoint(long seq, long timestampMs, String label, long blocksChanged, boolean applicationConsistent)
{
    public Checkpoint
    {
        Objects.requireNonNull(label, "label");
    }

    /** A crash-consistent checkpoint. */
    public Checkpoint(final long seq, final long timestampMs, final String label, final long blocksChanged)
    {
        this(seq, timestampMs, label, blocksChanged, false);
    }

    /** "application" or "crash", as {@code images list} shows it. */
    public String consistency()
    {
        return applicationConsistent ? "application" : "crash";
    }
}
