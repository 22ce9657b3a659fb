package dev.replicator.target.group;

import dev.replicator.core.wire.Messages;
import io.prometheus.metrics.core.metrics.Histogram;

import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAdder;

/**
 * What the target has seen of a group's traffic since it started: when its agent was last heard,
 * the agent's last health report, bytes and frames applied, apply latency. Not persisted: after a
 * restart the figures start again and the RPO lag is unknown until the agent's next report.
 *
 * <p>Thread-safe: written by the group's agent session, read by status and metrics.
 */
public final class GroupActivity
{
    private final LongAdder appliedBytes = new LongAdder();
    private final LongAdder appliedFrames = new LongAdder();
    private final AtomicLongArray appliedBytesByVolume;
    private final RateMeter applyRate = new RateMeter();
    private final Histogram applySeconds = Histogram.builder()
        .name("replicator_group_apply_seconds")
        .help("Time to make one data frame durable at the target (undo, replica, state fsyncs)")
        .classicExponentialUpperBounds(0.0001, 2, 16)
        .classicOnly()
        .build();
    private volatile long lastHeardMs;
    private volatile Messages.AgentStats agentStats;
    private volatile long agentStatsAtMs;

    public GroupActivity(final int volumes)
    {
        appliedBytesByVolume = new AtomicLongArray(volumes);
    }

    /** Any frame from the group's agent (primary or demoted). */
    public void onHeard(final long nowMs)
    {
        lastHeardMs = nowMs;
    }

    public void onAgentStats(final Messages.AgentStats stats, final long nowMs)
    {
        agentStats = stats;
        agentStatsAtMs = nowMs;
        lastHeardMs = nowMs;
    }

    /**
     * A data frame was made durable.
     *
     * @param bytesByVolume plain block bytes applied per volume (config order).
     */
    public void onApplied(final long[] bytesByVolume, final long elapsedNs, final long nowMs)
    {
        long total = 0;
        for (int v = 0; v < bytesByVolume.length && v < appliedBytesByVolume.length(); v++)
        {
            if (bytesByVolume[v] != 0)
            {
                appliedBytesByVolume.addAndGet(v, bytesByVolume[v]);
                total += bytesByVolume[v];
            }
        }
        appliedBytes.add(total);
        appliedFrames.increment();
        applyRate.add(nowMs, total);
        applySeconds.observe(elapsedNs / 1e9);
    }

    /** When a frame of the agent last arrived (epoch ms), 0 if never since the target started. */
    public long lastHeardMs()
    {
        return lastHeardMs;
    }

    /** The agent's last health report, or null if none since the target started. */
    public Messages.AgentStats agentStats()
    {
        return agentStats;
    }

    public long agentStatsAtMs()
    {
        return agentStatsAtMs;
    }

    /**
     * RPO lag: age of the oldest write not yet durable here, from the agent's last report (its age
     * then, plus the time since). An upper bound: acknowledgements since the report may have made
     * it smaller.
     *
     * @param durableSeq the store's durable seq now.
     * @return milliseconds; 0 when everything the agent had is durable; -1 if no report yet.
     */
    public long rpoLagMs(final long durableSeq, final long nowMs)
    {
        final Messages.AgentStats stats = agentStats;
        if (stats == null)
        {
            return -1;
        }
        final boolean bitmap = "BITMAP".equals(stats.captureMode());
        if (stats.oldestUnackedAgeMs() == 0 || (!bitmap && durableSeq >= stats.lastJournaledSeq()))
        {
            return 0;
        }
        return stats.oldestUnackedAgeMs() + Math.max(0, nowMs - agentStatsAtMs);
    }

    /**
     * Journaled bytes the agent has not shipped, from its last report; 0 once the durable seq has
     * reached the newest seq it reported (acks since the report make the report stale), -1 if no
     * report yet.
     */
    public long unshippedBytes(final long durableSeq)
    {
        final Messages.AgentStats stats = agentStats;
        if (stats == null)
        {
            return -1;
        }
        return durableSeq >= stats.lastJournaledSeq() ? 0 : stats.unshippedBytes();
    }

    public long appliedBytes()
    {
        return appliedBytes.sum();
    }

    public long appliedBytes(final int volumeIndex)
    {
        return volumeIndex < appliedBytesByVolume.length() ? appliedBytesByVolume.get(volumeIndex) : 0;
    }

    public long appliedFrames()
    {
        return appliedFrames.sum();
    }

    /** Plain bytes applied per second, averaged over the last 10 seconds. */
    public double throughputBytesPerSecond(final long nowMs)
    {
        return applyRate.perSecond(nowMs);
    }

    public Histogram applySeconds()
    {
        return applySeconds;
    }
}
