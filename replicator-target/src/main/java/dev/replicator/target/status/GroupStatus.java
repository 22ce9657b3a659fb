package dev.replicator.target.status;

import com.fasterxml.jackson.annotation.JsonInclude;

import java.util.List;

/**
 * One group as {@code replicator status} shows it, as JSON ({@code --json}) and as a table row;
 * the metrics endpoint exports the same record. A new figure is one component here (JSON and
 * metrics follow from it: see {@link TargetMetrics}) and one column in the CLI's table.
 * Durations in ms; -1 means not known.
 *
 * @param role              REPLICATING, FAILED_OVER, or FAILING_OVER while the recovery volumes are
 *                          being produced (the group is fenced, the volumes are not usable yet).
 * @param connection        connected | disconnected | never (not heard since the target started) while
 *                          replicating; demoted (the old primary is connected and fenced) | fenced
 *                          (it is not connected) while failed over.
 * @param lastHeardAgoMs    since the last frame of the group's agent.
 * @param rpoLagMs          age of the oldest write not yet durable here (the agent's last report plus
 *                          the time since); 0 when all is durable; -1 unknown or failed over.
 * @param throughputBytesPerSec plain bytes applied per second, averaged over the last 10 s.
 * @param journalUsedBytes  the agent's unshipped journal bytes; with journalLimitBytes, how close it
 *                          is to falling back to bitmap mode.
 * @param backlogBytes      bytes the agent still has to ship (journal + bitmap-mode blocks).
 * @param backlogEtaSeconds backlog / throughput; -1 when nothing moves.
 * @param bitmapMode        the agent's journal is full: changes are only marked, history is coarser.
 * @param lastCheckpointAgeMs age of the newest image.
 * @param autoFailover      the automatic failover policy and its last transition; null without the service.
 */
public record GroupStatus(
    String group,
    String role,
    long epoch,
    long durableSeq,
    String paused,
    String connection,
    boolean primaryConnected,
    String primaryAgent,
    boolean demotedPrimaryConnected,
    boolean failbackReportReceived,
    long lastHeardAgoMs,
    long rpoLagMs,
    long agentLastJournaledSeq,
    double throughputBytesPerSec,
    long appliedBytes,
    long appliedFrames,
    long journalUsedBytes,
    long journalLimitBytes,
    long backlogBytes,
    long backlogEtaSeconds,
    boolean bitmapMode,
    long dirtyBlocks,
    int images,
    @JsonInclude(JsonInclude.Include.NON_NULL) String latestImage,
    @JsonInclude(JsonInclude.Include.NON_NULL) String latestImageTime,
    long lastCheckpointSeq,
    long lastCheckpointAgeMs,
    List<VolumeStatus> volumes,
    @JsonInclude(JsonInclude.Include.NON_NULL) FailoverStatus failover,
    @JsonInclude(JsonInclude.Include.NON_NULL) AutoFailoverStatus autoFailover)
{
}
