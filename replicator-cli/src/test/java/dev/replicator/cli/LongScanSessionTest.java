package dev.replicator.cli;

import dev.replicator.agent.Agent;
import dev.replicator.agent.AgentConfig;
import dev.replicator.core.config.HostPort;
import dev.replicator.core.ext.FaultPlan;
import dev.replicator.core.ext.FaultProxy;
import dev.replicator.core.volume.VolumeSpec;
import dev.replicator.target.Target;
import dev.replicator.target.TargetConfig;
import dev.replicator.target.group.Group;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.RandomAccessFile;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static dev.replicator.cli.LoopbackCluster.sha256;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A scan that outlasts the target's read deadline (a big volume on a loaded machine) must not stall
 * the session: heartbeats keep flowing while it runs, and a reconnect is welcomed without waiting
 * for it. The scan is kept running on purpose through the capture's test hook; the target's read
 * deadline is 10 heartbeats of 50 ms. The agent ships through a fault-free {@link FaultProxy}: closing
 * it cuts the session, and a new one on the same port takes the reconnect.
 */
class LongScanSessionTest
{
    private static final int HEARTBEAT_MS = 50;
    private static final long READ_DEADLINE_MS = HEARTBEAT_MS * 10L;
    private static final int SIZE = 4 << 20;

    @TempDir
    Path dir;

    @Test
    void aRunningScanNeverStallsTheSessionNorAReconnect() throws Exception
    {
        final Path volume = dir.resolve("data.img");
        try (RandomAccessFile file = new RandomAccessFile(volume.toFile(), "rw"))
        {
            file.setLength(SIZE);
            file.write(new byte[] {1, 2, 3});
        }
        final Target target = new Target(new TargetConfig(new HostPort("127.0.0.1", 0), dir.resolve("target"), 16, 200,
            HEARTBEAT_MS)).start();
        final InetSocketAddress server = new InetSocketAddress("127.0.0.1", target.port());
        FaultProxy proxy = FaultProxy.start(server, FaultPlan.none());
        final InetSocketAddress proxyAddress = proxy.listenAddress();
        final AgentConfig config = AgentConfig.builder()
            .group("big")
            .target(new HostPort("127.0.0.1", proxyAddress.getPort()))
            .stateDir(dir.resolve("agent"))
            .volume(new VolumeSpec("data", volume, SIZE, 4096))
            .capture(AgentConfig.Capture.SCAN)
            .scanIntervalMs(100)
            .heartbeatIntervalMs(HEARTBEAT_MS)
            .build();
        final CountDownLatch scanEntered = new CountDownLatch(1);
        final CountDownLatch releaseScan = new CountDownLatch(1);
        try (Agent agent = new Agent(config).start())
        {
            try
            {
                final long firstSeq = agent.scanCapture().lastCheckpointSeq();
                LoopbackCluster.await(() -> durableSeq(target) >= firstSeq, "the initial sync");

                agent.scanCapture().scanStartHook(() ->
                {
                    scanEntered.countDown();
                    awaitQuietly(releaseScan);
                });
                LoopbackCluster.await(() -> scanEntered.getCount() == 0, "a periodic scan to start");

                // 1. While the scan runs, the agent's health reports keep arriving for 4 read deadlines.
                assertReportsFlowFor(target, 4 * READ_DEADLINE_MS, "while a scan runs");

                // 2. The connection drops while the scan still runs: the agent is welcomed again and reports.
                proxy.close();
                proxy = FaultProxy.start(proxyAddress, server, FaultPlan.none());
                final FaultProxy second = proxy;
                LoopbackCluster.await(() -> second.counters().connections() > 0, "the agent to reconnect");
                assertReportsFlowFor(target, 4 * READ_DEADLINE_MS, "after a reconnect during a scan");
                assertThat(scanEntered.getCount()).isZero();
                assertThat(releaseScan.getCount()).as("the scan was held throughout").isOne();
            }
            finally
            {
                agent.scanCapture().scanStartHook(null);
                releaseScan.countDown();
            }

            // 3. Capture goes on once the scan ends: a new write reaches the target and matches.
            final byte[] bytes = new byte[65536];
            new Random(4).nextBytes(bytes);
            try (RandomAccessFile file = new RandomAccessFile(volume.toFile(), "rw"))
            {
                file.seek(SIZE / 2);
                file.write(bytes);
                file.getFD().sync();
            }
            final String expected = sha256(volume);
            final long seq = agent.checkpoint("after-scan");
            LoopbackCluster.await(() -> durableSeq(target) >= seq, "the checkpoint after the long scan");
            final Path out = dir.resolve("export.img");
            final Cli.Result result = Cli.run("images", "export", "--image", "big@" + seq,
                "--to", out.toString(), "--target", "127.0.0.1:" + target.port());
            assertThat(result.exitCode()).as(result.err()).isZero();
            assertThat(sha256(out)).isEqualTo(expected);
        }
        finally
        {
            releaseScan.countDown();
            proxy.close();
            target.close();
        }
    }

    private static long durableSeq(final Target target)
    {
        final Group group = target.groups().get("big");
        return group == null ? -1 : group.store().lastSeq();
    }

    /** Waits until a health report arrives at least {@code spanMs} after the first one seen from now on. */
    private static void assertReportsFlowFor(final Target target, final long spanMs, final String when)
    {
        final long fromMs = System.currentTimeMillis();
        LoopbackCluster.await(() -> reportAtMs(target) >= fromMs + spanMs,
            "the agent's health reports to keep arriving " + when + " (target read deadline " + READ_DEADLINE_MS + " ms)");
    }

    private static long reportAtMs(final Target target)
    {
        final Group group = target.groups().get("big");
        return group == null ? 0 : group.activity().agentStatsAtMs();
    }

    private static void awaitQuietly(final CountDownLatch latch)
    {
        try
        {
            latch.await(120, TimeUnit.SECONDS);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
        }
    }
}
