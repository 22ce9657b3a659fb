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
 */
public record Checkpoint(long seq, long timestampMs, String label, long blocksChanged)
{
    public Checkpoint
    {
        Objects.requireNonNull(label, "label");
    }
}
