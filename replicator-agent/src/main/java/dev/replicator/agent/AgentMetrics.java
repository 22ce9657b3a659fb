package dev.replicator.agent;

import dev.replicator.core.config.HostPort;
import dev.replicator.core.metrics.HistogramFamily;
import dev.replicator.core.metrics.MetricsEndpoint;
import dev.replicator.core.metrics.StatusCollector;
import dev.replicator.core.metrics.StatusMetric;
import dev.replicator.core.wire.Messages;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.Labels;

import java.io.IOException;
import java.util.List;
import java.util.Map;

/**
 * The agent's Prometheus metrics: the figures it reports to the target (so a host can be watched
 * even while its target is unreachable) and its own latencies. Names are listed in
 * docs/OPERATIONS.md; every series carries {@code group}.
 */
final class AgentMetrics
{
    /** One scrape's view of the agent. */
    record Row(AgentStatus status, Messages.AgentStats stats, long bytesSent)
    {
    }

    private static final List<StatusMetric<Row>> METRICS = List.of(
        StatusMetric.gauge("replicator_agent_connected", "1 while connected to the target",
            r -> r.status().connected() ? 1 : 0),
        StatusMetric.gauge("replicator_agent_demoted", "1 while the group failed over and this primary is demoted",
            r -> AgentRole.DEMOTED.name().equals(r.status().role()) ? 1 : 0),
        StatusMetric.gauge("replicator_agent_epoch", "The group's epoch as this agent last saw it",
            r -> r.status().epoch()),
        StatusMetric.gauge("replicator_agent_last_journaled_seq", "Newest seq in the journal",
            r -> r.stats().lastJournaledSeq()),
        StatusMetric.gauge("replicator_agent_acked_seq", "Newest seq the target acknowledged as durable",
            r -> r.stats().ackedSeq()),
        StatusMetric.gauge("replicator_agent_rpo_lag_seconds",
            "Age of the oldest change not yet durable at the target (0: all durable)",
            r -> r.stats().oldestUnackedAgeMs() / 1000.0),
        StatusMetric.gauge("replicator_agent_unshipped_bytes", "Journaled bytes the target has not acknowledged",
            r -> r.stats().unshippedBytes()),
        StatusMetric.gauge("replicator_agent_journal_limit_bytes",
            "Unshipped journal size beyond which changes are only marked in a bitmap",
            r -> r.stats().maxUnshippedBytes()),
        StatusMetric.gauge("replicator_agent_journal_file_bytes", "Apparent size of the journal's files (sparse)",
            r -> r.stats().journalFileBytes()),
        StatusMetric.gauge("replicator_agent_bitmap_mode", "1 while the journal is full and changes are only marked",
            r -> "BITMAP".equals(r.stats().captureMode()) ? 1 : 0),
        StatusMetric.gauge("replicator_agent_dirty_bytes", "Bytes of blocks marked in bitmap mode, to resync",
            r -> r.stats().dirtyBytes()),
        StatusMetric.gauge("replicator_agent_last_checkpoint_seq", "Seq of the newest journaled checkpoint",
            r -> r.stats().lastCheckpointSeq()),
        StatusMetric.counter("replicator_agent_sent_bytes", "Bytes of data frames sent to the target (resends count)",
            r -> r.bytesSent()),
        StatusMetric.counter("replicator_agent_scans", "Scans of the volumes completed", r -> r.status().scans()));

    private AgentMetrics()
    {
    }

    static MetricsEndpoint serve(final Agent agent, final HostPort listen) throws IOException
    {
        final Labels group = Labels.of("group", agent.config().group());
        final PrometheusRegistry registry = new PrometheusRegistry();
        registry.register(new StatusCollector<>(
            () -> List.of(new Row(agent.status(), agent.stats(), agent.shipper().bytesSent())), r -> group, METRICS));
        registry.register(new HistogramFamily("replicator_agent_ship_round_trip_seconds",
            "Time from sending a data frame to the target's acknowledgement that it is durable",
            () -> Map.of(group, agent.shipper().roundTripSeconds())));
        registry.register(new HistogramFamily("replicator_agent_journal_append_seconds",
            "Time to append one captured write to the journal", () -> Map.of(group, agent.changeLog().appendSeconds())));
        return MetricsEndpoint.start(listen, registry);
    }
}
