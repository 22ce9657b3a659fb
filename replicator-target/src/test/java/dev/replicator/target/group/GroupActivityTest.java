package dev.replicator.target.group;

import dev.replicator.core.wire.Messages;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class GroupActivityTest
{
    private static Messages.AgentStats stats(final long lastJournaledSeq, final long oldestUnackedAgeMs, final String mode)
    {
        return new Messages.AgentStats(lastJournaledSeq, 10, oldestUnackedAgeMs, 4096, 1 << 30, 0, mode, 0, 0, 0);
    }

    @Test
    void rpoLagIsUnknownBeforeTheFirstReport()
    {
        assertThat(new GroupActivity(1).rpoLagMs(0, 1000)).isEqualTo(-1);
        assertThat(new GroupActivity(1).unshippedBytes(0)).isEqualTo(-1);
    }

    @Test
    void rpoLagIsTheReportedAgePlusTheTimeSinceTheReport()
    {
        final GroupActivity activity = new GroupActivity(1);
        activity.onAgentStats(stats(20, 1500, "JOURNAL"), 10_000);
        assertThat(activity.rpoLagMs(10, 10_000)).isEqualTo(1500);
        assertThat(activity.rpoLagMs(10, 12_000)).isEqualTo(3500);
        assertThat(activity.unshippedBytes(10)).isEqualTo(4096);
    }

    @Test
    void rpoLagIsZeroOnceEverythingReportedIsDurable()
    {
        final GroupActivity activity = new GroupActivity(1);
        activity.onAgentStats(stats(20, 1500, "JOURNAL"), 10_000);
        assertThat(activity.rpoLagMs(20, 12_000)).isZero();
        assertThat(activity.unshippedBytes(20)).isZero();
    }

    @Test
    void bitmapModeKeepsTheLagEvenWhenTheJournalIsDurable()
    {
        final GroupActivity activity = new GroupActivity(1);
        activity.onAgentStats(stats(20, 60_000, "BITMAP"), 10_000);
        assertThat(activity.rpoLagMs(20, 11_000)).isEqualTo(61_000);
    }

    @Test
    void throughputAveragesAppliedBytesOverTenSeconds()
    {
        final GroupActivity activity = new GroupActivity(2);
        activity.onApplied(new long[] {40_960, 8192}, 1_000_000, 100_000);
        activity.onApplied(new long[] {0, 8192}, 1_000_000, 101_500);
        assertThat(activity.appliedBytes()).isEqualTo(57_344);
        assertThat(activity.appliedBytes(0)).isEqualTo(40_960);
        assertThat(activity.appliedBytes(1)).isEqualTo(16_384);
        assertThat(activity.appliedFrames()).isEqualTo(2);
        assertThat(activity.throughputBytesPerSecond(102_000)).isEqualTo(5734.4);
        assertThat(activity.throughputBytesPerSecond(120_000)).isZero();
        assertThat(activity.applySeconds().collect().getDataPoints().get(0).getCount()).isEqualTo(2);
    }
}
