package dev.replicator.target.status;

import dev.replicator.core.wire.Messages;
import dev.replicator.target.admin.ImageId;
import dev.replicator.target.auto.AutoFailover;
import dev.replicator.target.auto.AutoFailoverPolicy;
import dev.replicator.target.auto.Transition;
import dev.replicator.target.failover.FailoverService;
import dev.replicator.target.failover.RecoveryVolumes;
import dev.replicator.target.group.AgentLink;
import dev.replicator.target.group.Group;
import dev.replicator.target.group.GroupActivity;
import dev.replicator.target.group.GroupRole;
import dev.replicator.target.group.GroupState;
import dev.replicator.target.group.Groups;
import dev.replicator.target.image.Checkpoint;
import dev.replicator.target.receive.TargetServer;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * Builds the status model from the live groups: the one source of {@code replicator status} and of
 * the metrics endpoint. Thread-safe, and lock-free: it reads only volatile fields and immutable
 * snapshots (state, store, durable seq, checkpoint list, links), never the group lock, which a
 * failover or failback holds for minutes; status and scrapes must answer during exactly those. A
 * row may therefore mix two moments of a transition (the new epoch with the previous durable seq).
 */
public final class StatusReporter
{
    /** The role shown while a failover is producing the recovery volumes (not yet usable). */
    public static final String FAILING_OVER = "FAILING_OVER";

    private final Groups groups;
    private final FailoverService failover;
    private volatile TargetServer server;
    private volatile AutoFailover autoFailover;

    public StatusReporter(final Groups groups, final FailoverService failover)
    {
        this.groups = groups;
        this.failover = failover;
    }

    public void server(final TargetServer server)
    {
        this.server = server;
    }

    public void autoFailover(final AutoFailover autoFailover)
    {
        this.autoFailover = autoFailover;
    }

    public TargetStatus report()
    {
        final TargetServer s = server;
        return new TargetStatus(groups(), s == null ? 0 : s.corruptFrames(), s == null ? 0 : s.framesApplied());
    }

    public List<GroupStatus> groups()
    {
        final long nowMs = System.currentTimeMillis();
        final List<GroupStatus> rows = new ArrayList<>();
        for (final Group group : groups.all())
        {
            rows.add(groupStatus(group, nowMs));
        }
        return rows;
    }

    private GroupStatus groupStatus(final Group group, final long nowMs)
    {
        final GroupState state = group.state();
        final GroupActivity activity = group.activity();
        final long durableSeq = group.store().lastSeq();
        final AgentLink primary = group.primary();
        final boolean primaryConnected = primary != null && !primary.isClosed();
        final AgentLink demoted = group.demoted();
        final boolean demotedConnected = demoted != null && !demoted.isClosed();
        final boolean failedOver = state.role() == GroupRole.FAILED_OVER;
        final long lastHeardMs = activity.lastHeardMs();

        final String connection;
        if (failedOver)
        {
            connection = demotedConnected ? "demoted" : "fenced";
        }
        else
        {
            connection = primaryConnected ? "connected" : lastHeardMs == 0 ? "never" : "disconnected";
        }

        final Messages.AgentStats stats = activity.agentStats();
        final boolean bitmapMode = stats != null && "BITMAP".equals(stats.captureMode());
        final long unshippedBytes = activity.unshippedBytes(durableSeq);
        final long backlogBytes = stats == null || failedOver ? 0 : unshippedBytes + stats.dirtyBytes();
        final double throughput = activity.throughputBytesPerSecond(nowMs);
        final long eta = backlogBytes == 0 ? 0 : throughput <= 0 ? -1 : (long)Math.ceil(backlogBytes / throughput);

        final List<Checkpoint> checkpoints = group.store().checkpoints();
        final Checkpoint last = checkpoints.isEmpty() ? null : checkpoints.get(checkpoints.size() - 1);

        final RecoveryVolumes tracker = state.failover() == null ? null : failover.tracker(state.name());
        final List<VolumeStatus> volumes = new ArrayList<>();
        long writtenSinceFailover = 0;
        for (int v = 0; v < state.volumes().size(); v++)
        {
            final Messages.VolumeInfo info = state.volumes().get(v);
            final Long written = tracker == null ? null : tracker.written(v).cardinality();
            if (written != null)
            {
                writtenSinceFailover += written;
            }
            volumes.add(new VolumeStatus(info.name(), info.sizeBytes(), info.blockSize(), activity.appliedBytes(v),
                written));
        }
        FailoverStatus failoverStatus = null;
        if (state.failover() != null)
        {
            final List<String> paths = List.copyOf(state.failover().recoveryPaths());
            failoverStatus = new FailoverStatus(new ImageId(state.name(), state.failover().imageSeq()).toString(),
                Instant.ofEpochMilli(state.failover().atMs()).toString(), paths,
                tracker == null ? null : writtenSinceFailover, state.failover().reason(),
                tracker == null ? null : tracker.export());
        }

        return new GroupStatus(
            state.name(),
            failedOver && !failover.recoveryReady(state.name()) ? FAILING_OVER : state.role().name(),
            state.epoch(),
            durableSeq,
            group.pausedReason(),
            connection,
            primaryConnected,
            primary == null ? null : primary.agentName(),
            demotedConnected,
            group.failbackReport() != null,
            lastHeardMs == 0 ? -1 : Math.max(0, nowMs - lastHeardMs),
            failedOver ? -1 : activity.rpoLagMs(durableSeq, nowMs),
            stats == null ? -1 : stats.lastJournaledSeq(),
            throughput,
            activity.appliedBytes(),
            activity.appliedFrames(),
            unshippedBytes,
            stats == null ? -1 : stats.maxUnshippedBytes(),
            backlogBytes,
            eta,
            bitmapMode,
            stats == null ? 0 : stats.dirtyBlocks(),
            checkpoints.size(),
            last == null ? null : new ImageId(state.name(), last.seq()).toString(),
            last == null ? null : Instant.ofEpochMilli(last.timestampMs()).toString(),
            last == null ? -1 : last.seq(),
            last == null ? -1 : Math.max(0, nowMs - last.timestampMs()),
            volumes,
            failoverStatus,
            autoFailoverStatus(group));
    }

    private AutoFailoverStatus autoFailoverStatus(final Group group)
    {
        final AutoFailover auto = autoFailover;
        if (auto == null)
        {
            return null;
        }
        final AutoFailoverPolicy policy = auto.policy(group.name());
        final Long silentMs = policy != null && group.state().role() == GroupRole.REPLICATING ?
            auto.silentMs(group) : null;
        final Transition last = auto.lastTransition(group.name());
        final AutoFailoverStatus.TransitionStatus transition = last == null ? null :
            new AutoFailoverStatus.TransitionStatus(last.kind(), Instant.ofEpochMilli(last.atMs()).toString(),
                last.epoch(), last.imageSeq(), last.reason(), last.hookExitCode(), last.hookOutcome());
        return new AutoFailoverStatus(policy == null ? "off" : policy.describe(), silentMs, transition,
            auto.transitionCounts(group.name()));
    }
}
