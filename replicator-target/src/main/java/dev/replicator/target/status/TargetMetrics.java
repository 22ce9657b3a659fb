package dev.replicator.target.status;

import dev.replicator.core.config.HostPort;
import dev.replicator.core.metrics.HistogramFamily;
import dev.replicator.core.metrics.MetricsEndpoint;
import dev.replicator.core.metrics.StatusCollector;
import dev.replicator.core.metrics.StatusMetric;
import dev.replicator.target.group.Group;
import dev.replicator.target.group.GroupRole;
import dev.replicator.target.group.Groups;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.Labels;

import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The target's Prometheus metrics: the figures of {@link GroupStatus}, one series per group
 * (label {@code group}), taken from one status snapshot per scrape, plus the apply latency
 * histogram. A figure whose value is not known (-1 in the status) is left out of the scrape.
 * Names are listed in docs/OPERATIONS.md.
 */
public final class TargetMetrics
{
    private static final List<StatusMetric<GroupStatus>> GROUP_METRICS = List.of(
        StatusMetric.gauge("replicator_group_epoch", "The group's role generation", GroupStatus::epoch),
        StatusMetric.gauge("replicator_group_failed_over", "1 while the group is failed over to the recovery site",
            g -> GroupRole.FAILED_OVER.name().equals(g.role()) ? 1 : 0),
        StatusMetric.gauge("replicator_group_paused", "1 while the target cannot write (disk full, I/O error)",
            g -> g.paused() == null ? 0 : 1),
        StatusMetric.gauge("replicator_group_durable_seq", "Newest seq durable at the target", GroupStatus::durableSeq),
        StatusMetric.gauge("replicator_group_agent_last_journaled_seq", "Newest seq in the agent's journal (its last report)",
            g -> known(g.agentLastJournaledSeq())),
        StatusMetric.gauge("replicator_group_primary_connected", "1 while the primary agent is connected",
            g -> g.primaryConnected() ? 1 : 0),
        StatusMetric.gauge("replicator_group_agent_last_heard_seconds", "Seconds since the group's agent was last heard",
            g -> seconds(g.lastHeardAgoMs())),
        StatusMetric.gauge("replicator_group_rpo_lag_seconds",
            "Age of the oldest write not yet durable at the target (0: all durable)", g -> seconds(g.rpoLagMs())),
        StatusMetric.gauge("replicator_group_throughput_bytes_per_second",
            "Plain bytes applied per second, averaged over 10 s", GroupStatus::throughputBytesPerSec),
        StatusMetric.counter("replicator_group_applied_bytes", "Plain block bytes applied since the target started",
            GroupStatus::appliedBytes),
        StatusMetric.counter("replicator_group_applied_frames", "Data frames applied since the target started",
            GroupStatus::appliedFrames),
        StatusMetric.gauge("replicator_group_journal_used_bytes", "The agent's unshipped journal bytes",
            g -> known(g.journalUsedBytes())),
        StatusMetric.gauge("replicator_group_journal_limit_bytes",
            "The agent's journal limit (beyond it: bitmap mode)", g -> known(g.journalLimitBytes())),
        StatusMetric.gauge("replicator_group_backlog_bytes", "Bytes the agent still has to ship",
            GroupStatus::backlogBytes),
        StatusMetric.gauge("replicator_group_backlog_eta_seconds", "Backlog divided by throughput",
            g -> known(g.backlogEtaSeconds())),
        StatusMetric.gauge("replicator_group_bitmap_mode", "1 while the agent's journal is full (bitmap mode)",
            g -> g.bitmapMode() ? 1 : 0),
        StatusMetric.gauge("replicator_group_checkpoints", "Images (checkpoints) retained", GroupStatus::images),
        StatusMetric.gauge("replicator_group_last_checkpoint_seq", "Seq of the newest image",
            g -> known(g.lastCheckpointSeq())),
        StatusMetric.gauge("replicator_group_last_checkpoint_age_seconds", "Age of the newest image",
            g -> seconds(g.lastCheckpointAgeMs())),
        StatusMetric.gauge("replicator_auto_failover_enabled", "1 while the group has an automatic failover policy",
            g -> g.autoFailover() == null || "off".equals(g.autoFailover().policy()) ? 0 : 1),
        StatusMetric.gauge("replicator_auto_failover_primary_silent_seconds",
            "How long the primary has been silent, as the automatic failover policy counts it",
            g -> g.autoFailover() == null || g.autoFailover().primarySilentMs() == null ? Double.NaN :
                g.autoFailover().primarySilentMs() / 1000.0),
        StatusMetric.gauge("replicator_auto_last_transition_timestamp_seconds",
            "When the policy last acted or was blocked (Unix time; kept across restarts)",
            g -> lastTransition(g) == null ? Double.NaN : Instant.parse(lastTransition(g).at()).toEpochMilli() / 1000.0),
        StatusMetric.gauge("replicator_auto_last_transition_epoch", "The group's epoch after the last automatic transition",
            g -> lastTransition(g) == null ? Double.NaN : lastTransition(g).epoch()),
        StatusMetric.gauge("replicator_auto_last_transition_blocked",
            "1 if the policy's last transition was blocked (no image, validation or hook failed)",
            g -> lastTransition(g) == null ? Double.NaN : lastTransition(g).kind().endsWith("_BLOCKED") ? 1 : 0));

    /** One row per group and transition kind: a labelled counter. */
    private record TransitionCount(String group, String kind, long count)
    {
    }

    private static final List<StatusMetric<TransitionCount>> TRANSITION_METRICS = List.of(
        StatusMetric.counter("replicator_auto_transitions",
            "Automatic transitions (kind: FAILOVER, FAILBACK, FAILOVER_BLOCKED, FAILBACK_BLOCKED) since the target started",
            TransitionCount::count));

    private static final List<StatusMetric<TargetStatus>> TARGET_METRICS = List.of(
        StatusMetric.counter("replicator_target_corrupt_frames", "Frames refused by a check (and resent)",
            TargetStatus::corruptFramesRejected),
        StatusMetric.gauge("replicator_target_groups", "Groups held by the target", t -> t.groups().size()));

    private TargetMetrics()
    {
    }

    public static MetricsEndpoint serve(final StatusReporter status, final Groups groups, final HostPort listen)
        throws IOException
    {
        final PrometheusRegistry registry = new PrometheusRegistry();
        registry.register(new StatusCollector<>(status::groups, g -> Labels.of("group", g.group()), GROUP_METRICS));
        registry.register(new StatusCollector<>(() -> List.of(status.report()), t -> Labels.EMPTY, TARGET_METRICS));
        registry.register(new StatusCollector<>(() -> transitionCounts(status.groups()),
            t -> Labels.of("group", t.group(), "kind", t.kind()), TRANSITION_METRICS));
        registry.register(new HistogramFamily("replicator_group_apply_seconds",
            "Time to make one data frame durable at the target (undo, replica, state fsyncs)", () ->
            {
                final Map<Labels, Histogram> byGroup = new LinkedHashMap<>();
                for (final Group group : groups.all())
                {
                    byGroup.put(Labels.of("group", group.name()), group.activity().applySeconds());
                }
                return byGroup;
            }));
        return MetricsEndpoint.start(listen, registry);
    }

    private static List<TransitionCount> transitionCounts(final List<GroupStatus> groups)
    {
        final List<TransitionCount> rows = new ArrayList<>();
        for (final GroupStatus group : groups)
        {
            final AutoFailoverStatus auto = group.autoFailover();
            // Every group, policy or not: an alert's increase() needs the 0 before the first transition.
            if (auto != null)
            {
                for (final String kind : AutoFailoverStatus.KINDS)
                {
                    rows.add(new TransitionCount(group.group(), kind,
                        auto.transitions() == null ? 0 : auto.transitions().getOrDefault(kind, 0L)));
                }
            }
        }
        return rows;
    }

    private static AutoFailoverStatus.TransitionStatus lastTransition(final GroupStatus group)
    {
        return group.autoFailover() == null ? null : group.autoFailover().lastTransition();
    }

    private static double known(final long value)
    {
        return value < 0 ? Double.NaN : value;
    }

    private static double seconds(final long ms)
    {
        return ms < 0 ? Double.NaN : ms / 1000.0;
    }
}
