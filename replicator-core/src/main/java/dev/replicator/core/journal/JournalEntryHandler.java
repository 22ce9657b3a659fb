package dev.replicator.core.journal;

import java.nio.ByteBuffer;

/**
 * Receives the entries a {@link JournalReader} polls, in seq order, on the polling thread.
 *
 * <p>If a method throws, the entry is not consumed: the next poll delivers it again.
 */
public interface JournalEntryHandler
{
    /**
     * A journaled write of whole blocks.
     *
     * @param seq         the group sequence number of the entry.
     * @param timestampMs wall-clock time of the append, epoch milliseconds.
     * @param volumeIndex index of the volume in the group's configuration.
     * @param firstBlock  index of the first block written.
     * @param payload     the written bytes, position 0, limit = payload length. Valid only during the
     *                    callback: the buffer is reused for the next entry.
     */
    void onWrite(long seq, long timestampMs, int volumeIndex, long firstBlock, ByteBuffer payload);

    /**
     * A consistent point of the group.
     *
     * @param seq         the group sequence number of the checkpoint.
     * @param timestampMs the checkpoint's wall-clock time, epoch milliseconds.
     * @param label       the label given at append, empty if none.
     */
    void onCheckpoint(long seq, long timestampMs, String label);

    /**
     * A consistent point of the group, with its flags ({@link JournalEntryDescriptor#CHECKPOINT_APP_CONSISTENT});
     * handlers that do not care about consistency keep the three-argument form.
     */
    default void onCheckpoint(long seq, long timestampMs, String label, long flags)
    {
        onCheckpoint(seq, timestampMs, label);
    }

    /**
     * One op of a tree volume. Readers that know no tree volumes keep this default, which refuses
     * the entry (and so stops rather than skips it).
     *
     * @param treeIndex index of the tree volume among the group's tree volumes.
     * @param payload   the encoded op ({@code TreeRecordDescriptor}), valid only during the callback.
     */
    default void onTree(long seq, long timestampMs, int treeIndex, ByteBuffer payload)
    {
        throw new UnsupportedOperationException("journal entry seq " + seq + " is a tree op; this reader handles blocks only");
    }
}
