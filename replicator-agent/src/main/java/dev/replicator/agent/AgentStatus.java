package dev.replicator.agent;

/**
 * A snapshot of an agent's progress, written to {@code state.dir/agent-status.json} for
 * {@code replicator agent status} and scripts.
 *
 * @param lastJournaledSeq newest seq in the journal.
 * @param ackedSeq         newest seq the target acknowledged as durable.
 * @param captureMode      JOURNAL, or BITMAP when the journal hit its limit and changed blocks are
 *                         only marked until the target catches up.
 * @param dirtyBlocks      blocks marked in bitmap mode, to resync.
 * @param rpoLagMs         age of the oldest change not yet durable at the target (0: all durable).
 */
public record AgentStatus(
    String group,
    String role,
    long epoch,
    boolean connected,
    long lastJournaledSeq,
    long ackedSeq,
    long lastCheckpointSeq,
    long scans,
    long lastScanChangedBlocks,
    long lastScanEndMs,
    long journalBytes,
    String captureMode,
    long unshippedBytes,
    long dirtyBlocks,
    String lastError,
    long rpoLagMs)
{
    public static final String FILE_NAME = "agent-status.json";
}
