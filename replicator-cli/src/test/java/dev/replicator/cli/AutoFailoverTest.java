package dev.replicator.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.replicator.core.test.Await;
import dev.replicator.core.wire.FrameChannel;
import dev.replicator.core.wire.Json;
import dev.replicator.core.wire.MessageType;
import dev.replicator.core.wire.Messages;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static dev.replicator.cli.LoopbackCluster.await;
import static dev.replicator.cli.LoopbackCluster.sha256;
import static org.assertj.core.api.Assertions.assertThat;

/** The target fails a group over on its own when the primary goes silent, and only then (child JVMs). */
class AutoFailoverTest
{
    private static final String TRANSITIONS = "replicator_auto_transitions_total{group=\"g\",kind=\"";

    @TempDir
    Path dir;

    @Test
    void failsOverAfterTheSilenceWindowFencesThePrimaryAndRemembersWhy() throws Exception
    {
        try (LoopbackCluster cluster = new LoopbackCluster(dir, 16))
        {
            final Path recovery = dir.resolve("recovery.img");
            final Path hookEnv = dir.resolve("hook.env");
            final Path hook = script("hook.sh", "env | grep -E '^(GROUP|IMAGE|EPOCH|RECOVERY_PATH|TRANSITION)=' | " +
                "sort > " + hookEnv + "\nexit 0");
            final int metricsPort = freePort();
            cluster.appendTargetConfig(
                "group.g.auto.failover = on",
                "group.g.auto.failover.silence.s = 3",
                "group.g.auto.failover.to = " + recovery,
                "group.g.auto.failover.hook = " + hook,
                "metrics.listen = 127.0.0.1:" + metricsPort);
            cluster.startTarget();
            cluster.startAgent();
            LoopbackCluster.writeRandomRuns(cluster.volume, cluster.volumeBlocks, 50, new Random(7));
            final String image = cluster.checkpoint("before");
            final String expected = sha256(cluster.volume);
            final Map<String, Double> before = StatusAndMetricsTest.scrape(metricsPort);
            assertThat(before.get("replicator_auto_failover_enabled{group=\"g\"}")).isEqualTo(1.0);
            assertThat(before.get("replicator_auto_failover_primary_silent_seconds{group=\"g\"}")).isNotNull();
            assertThat(before.get(TRANSITIONS + "FAILOVER\"}")).isEqualTo(0.0);
            assertThat(before).doesNotContainKey("replicator_auto_last_transition_timestamp_seconds{group=\"g\"}");

            final long killedAtMs = System.currentTimeMillis();
            cluster.killAgentHard();
            final long killedNs = System.nanoTime();
            // The transition record is written just after the recovery volume is ready.
            await(() -> "FAILED_OVER".equals(status(cluster).path("role").asText()) &&
                status(cluster).path("autoFailover").has("lastTransition"), "the automatic failover");
            final long afterMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - killedNs);
            // The last heartbeat may precede the kill by one interval (200 ms); the rest is slack for a busy machine.
            assertThat(afterMs).as("failover after the 3 s silence window, not before").isBetween(2500L, 20_000L);

            final JsonNode group = status(cluster);
            assertThat(group.get("epoch").asLong()).isEqualTo(2);
            final JsonNode transition = group.get("autoFailover").get("lastTransition");
            assertThat(transition.get("kind").asText()).isEqualTo("FAILOVER");
            assertThat(transition.get("reason").asText()).contains("primary silent for").contains(image);
            assertThat("g@" + transition.get("seq").asLong()).isEqualTo(image);
            assertThat(group.get("failover").get("reason").asText()).startsWith("automatic: primary silent for");
            await(() -> status(cluster).get("autoFailover").get("lastTransition").has("hookExitCode"), "the hook");
            assertThat(status(cluster).get("autoFailover").get("lastTransition").get("hookExitCode").asInt()).isZero();
            assertThat(Files.readString(hookEnv)).contains("GROUP=g\n", "IMAGE=" + image + "\n", "EPOCH=2\n",
                "RECOVERY_PATH=" + recovery + "\n", "TRANSITION=failover\n");
            assertThat(sha256(recovery)).as("the recovery volume is the checkpoint's image").isEqualTo(expected);
            final Map<String, Double> after = StatusAndMetricsTest.scrape(metricsPort);
            assertThat(after.get(TRANSITIONS + "FAILOVER\"}")).as("the hook's outcome is not a second one").isEqualTo(1.0);
            assertThat(after.get(TRANSITIONS + "FAILOVER_BLOCKED\"}")).isEqualTo(0.0);
            assertThat(after.get("replicator_auto_last_transition_epoch{group=\"g\"}")).isEqualTo(2.0);
            assertThat(after.get("replicator_auto_last_transition_blocked{group=\"g\"}")).isEqualTo(0.0);
            assertThat(after.get("replicator_auto_last_transition_timestamp_seconds{group=\"g\"}"))
                .isBetween(killedAtMs / 1000.0, System.currentTimeMillis() / 1000.0);
            assertThat(after.get("replicator_group_failed_over{group=\"g\"}")).isEqualTo(1.0);
            assertThat(after).as("not replicating: no silence counted")
                .doesNotContainKey("replicator_auto_failover_primary_silent_seconds{group=\"g\"}");
            final java.util.Set<String> seen = new java.util.TreeSet<>(before.keySet());
            seen.addAll(after.keySet());
            StatusAndMetricsTest.assertMonitoringNamesExported(seen, name -> name.startsWith("replicator_auto_"));

            // The old primary comes back: refused as demoted, it ships nothing.
            final long durable = group.get("durableSeq").asLong();
            cluster.startAgent();
            await(() -> "DEMOTED".equals(agentRole(cluster)), "the old primary to be demoted");
            LoopbackCluster.writeRandomRuns(cluster.volume, cluster.volumeBlocks, 10, new Random(8));
            await(() -> status(cluster).path("demotedPrimaryConnected").asBoolean(), "the demoted primary");
            assertThat(status(cluster).get("durableSeq").asLong()).isEqualTo(durable);
            assertThat(status(cluster).get("epoch").asLong()).isEqualTo(2);

            // Why survives a restart of the target.
            cluster.stopTarget();
            cluster.startTarget();
            final JsonNode again = status(cluster);
            assertThat(again.get("role").asText()).isEqualTo("FAILED_OVER");
            assertThat(again.get("autoFailover").get("lastTransition").get("reason").asText())
                .isEqualTo(transition.get("reason").asText());
            final Map<String, Double> restarted = StatusAndMetricsTest.scrape(metricsPort);
            assertThat(restarted.get("replicator_auto_last_transition_timestamp_seconds{group=\"g\"}"))
                .isEqualTo(after.get("replicator_auto_last_transition_timestamp_seconds{group=\"g\"}"));
            assertThat(restarted.get(TRANSITIONS + "FAILOVER\"}")).as("counted since the target started").isEqualTo(0.0);
        }
    }

    /**
     * max.lag.s: the primary stays connected and heartbeats a journal newer than anything the target
     * holds. A real agent's heartbeat follows, on the same stream, every frame it covers (it is sent
     * only when the shipper is idle), so this primary is played by the test: it says hello with the
     * group's journal and heartbeats seq durable+100, shipping nothing.
     */
    @Test
    void failsOverWhenTheTargetStaysBehindAConnectedPrimaryForMaxLag() throws Exception
    {
        try (LoopbackCluster cluster = new LoopbackCluster(dir, 8))
        {
            final Path recovery = dir.resolve("recovery.img");
            cluster.appendTargetConfig(
                "group.g.auto.failover = on",
                "group.g.auto.failover.silence.s = 600",
                "group.g.auto.failover.max.lag.s = 2",
                "group.g.auto.failover.to = " + recovery);
            cluster.startTarget();
            cluster.startAgent();
            LoopbackCluster.writeRandomRuns(cluster.volume, cluster.volumeBlocks, 20, new Random(9));
            final String image = cluster.checkpoint("before");
            final String expected = sha256(cluster.volume);
            cluster.killAgentHard();
            final JsonNode before = status(cluster);
            final long durable = before.get("durableSeq").asLong();
            final long epoch = before.get("epoch").asLong();
            final String journalId = journalId(dir);

            try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), cluster.port);
                 FrameChannel channel = new FrameChannel(socket))
            {
                channel.send(MessageType.HELLO, epoch, 0, new Messages.Hello(Messages.PROTOCOL_VERSION, "g",
                    "test-primary", journalId, epoch, durable + 100,
                    List.of(new Messages.VolumeInfo("disk0", cluster.volumeBlocks * LoopbackCluster.BLOCK,
                        LoopbackCluster.BLOCK))));
                assertThat(channel.read().type()).isEqualTo(MessageType.WELCOME);
                final long connectedNs = System.nanoTime();
                await(() -> heartbeatThenCheck(channel, durable + 100, cluster), "the failover for lag");
                final long afterMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - connectedNs);
                assertThat(afterMs).as("failover after the 2 s lag limit, not before").isBetween(1500L, 20_000L);
            }
            final JsonNode transition = status(cluster).get("autoFailover").get("lastTransition");
            assertThat(transition.get("kind").asText()).isEqualTo("FAILOVER");
            assertThat(transition.get("reason").asText()).contains("target behind the primary for")
                .contains("primary at " + (durable + 100));
            assertThat("g@" + transition.get("seq").asLong()).isEqualTo(image);
            assertThat(sha256(recovery)).as("the recovery volume is the checkpoint's image").isEqualTo(expected);
        }
    }

    /** Heartbeats as a primary at {@code seq} (no data); true once the group has failed over. */
    private static boolean heartbeatThenCheck(final FrameChannel channel, final long seq, final LoopbackCluster cluster)
    {
        try
        {
            channel.send(MessageType.HEARTBEAT, 0, seq, null);
        }
        catch (final IOException ex)
        {
            // Fenced by the failover: the target closed the session.
        }
        final JsonNode group = status(cluster);
        return "FAILED_OVER".equals(group.path("role").asText()) && group.path("autoFailover").has("lastTransition");
    }

    private static String journalId(final Path clusterDir) throws IOException
    {
        try (java.util.stream.Stream<Path> files = Files.walk(clusterDir))
        {
            final Path state = files.filter(p -> p.getFileName().toString().equals("group.json")).findFirst()
                .orElseThrow(() -> new AssertionError("no group.json under " + clusterDir));
            return Json.mapper().readTree(state.toFile()).get("journalId").asText();
        }
    }

    @Test
    void neverFailsOverWhenOnlyTheTargetWasDownWhileTheAgentStayedHealthy() throws Exception
    {
        try (LoopbackCluster cluster = new LoopbackCluster(dir, 8))
        {
            cluster.appendTargetConfig(
                "group.g.auto.failover = on",
                "group.g.auto.failover.silence.s = 4",
                "group.g.auto.failover.to = " + dir.resolve("recovery.img"));
            cluster.startTarget();
            cluster.startAgent();
            await(() -> status(cluster).path("primaryConnected").asBoolean(), "the primary");
            cluster.checkpoint("first");

            cluster.stopTarget();
            final long stoppedNs = System.nanoTime();
            // The target stays down longer than the silence window.
            Await.until(() -> System.nanoTime() - stoppedNs > TimeUnit.SECONDS.toNanos(5), Duration.ofSeconds(30),
                "time to pass");
            cluster.startTarget();
            final long startedNs = System.nanoTime();
            boolean reconnected = false;
            while (System.nanoTime() - startedNs < TimeUnit.SECONDS.toNanos(6))
            {
                final JsonNode group = status(cluster);
                assertThat(group.get("role").asText()).as("still replicating").isEqualTo("REPLICATING");
                assertThat(group.get("autoFailover").has("lastTransition")).as("%s", group).isFalse();
                reconnected |= group.path("primaryConnected").asBoolean();
            }
            assertThat(reconnected).as("the agent reconnected").isTrue();
            assertThat(Files.exists(dir.resolve("recovery.img"))).isFalse();
        }
    }

    @Test
    void failsBackOnItsOwnWhenEnabledOnceTheOldPrimaryStayedHealthy() throws Exception
    {
        try (LoopbackCluster cluster = new LoopbackCluster(dir, 8))
        {
            final Path recovery = dir.resolve("recovery.img");
            cluster.appendTargetConfig(
                "group.g.auto.failover = on",
                "group.g.auto.failover.silence.s = 2",
                "group.g.auto.failover.to = " + recovery,
                "group.g.auto.failback = on",
                "group.g.auto.failback.healthy.s = 2");
            cluster.startTarget();
            cluster.startAgent();
            LoopbackCluster.writeRandomRuns(cluster.volume, cluster.volumeBlocks, 30, new Random(11));
            cluster.checkpoint("before");
            cluster.killAgentHard();
            await(() -> "FAILED_OVER".equals(status(cluster).path("role").asText()), "the automatic failover");
            LoopbackCluster.writeRandomRuns(recovery, cluster.volumeBlocks, 20, new Random(12));

            cluster.startAgent();
            await(() -> "FAILBACK".equals(status(cluster).path("autoFailover").path("lastTransition").path("kind")
                .asText()), "the automatic failback");
            final JsonNode group = status(cluster);
            assertThat(group.get("role").asText()).isEqualTo("REPLICATING");
            assertThat(group.get("epoch").asLong()).isEqualTo(3);
            assertThat(group.get("autoFailover").get("lastTransition").get("reason").asText())
                .contains("connected and healthy for");
            assertThat(sha256(cluster.volume)).as("the primary holds what the recovery volume held")
                .isEqualTo(sha256(recovery));
        }
    }

    @Test
    void aHookThatHangsDelaysOnlyItsOwnGroup() throws Exception
    {
        try (LoopbackCluster cluster = new LoopbackCluster(dir, 8))
        {
            final Path started = dir.resolve("g-hook.started");
            final Path release = dir.resolve("g-hook.release");
            // The hook of group g runs until the test releases it (its timeout is far away).
            final Path hook = script("hang.sh", "touch " + started + "\nwhile [ ! -f " + release + " ]; do sleep 0.1; done");
            final Path volumeH = LoopbackCluster.sparseVolume(dir.resolve("h.img"), 4L << 20);
            Files.writeString(dir.resolve("agent-h.conf"), cluster.agentConfig(volumeH, "agent-h-state")
                .replace("group = g\n", "group = h\n").replace("agent.name = test-primary", "agent.name = h-primary"));
            cluster.appendTargetConfig(
                "group.g.auto.failover = on",
                "group.g.auto.failover.silence.s = 2",
                "group.g.auto.failover.to = " + dir.resolve("g-recovery.img"),
                "group.g.auto.failover.hook = " + hook,
                "group.g.auto.failover.hook.timeout.s = 600",
                "group.h.auto.failover = on",
                "group.h.auto.failover.silence.s = 2",
                "group.h.auto.failover.to = " + dir.resolve("h-recovery.img"));
            cluster.startTarget();
            cluster.startAgent();
            try (dev.replicator.core.test.ChildJvm agentH = dev.replicator.core.test.ChildJvm.start(Replicator.class,
                dir.resolve("logs-agent-h"), "agent", "run", "--config", dir.resolve("agent-h.conf").toString()))
            {
                LoopbackCluster.writeRandomRuns(cluster.volume, cluster.volumeBlocks, 10, new Random(21));
                LoopbackCluster.writeRandomRuns(volumeH, (4L << 20) / LoopbackCluster.BLOCK, 10, new Random(22));
                cluster.checkpoint("g1");
                await(() -> cluster.admin("checkpoint", "--group", "h", "--label", "h1").exitCode() == 0, "a checkpoint of h");

                cluster.killAgentHard();
                await(() -> Files.exists(started), "g's failover and its hook to start");
                agentH.killHard();
                await(() -> "FAILED_OVER".equals(groupStatus(cluster, "h").path("role").asText()), "h's automatic failover");
                assertThat(groupStatus(cluster, "g").path("autoFailover").path("lastTransition").has("hookExitCode"))
                    .as("g's hook is still running while h failed over").isFalse();
            }
            finally
            {
                Files.writeString(release, "");
            }
            await(() -> groupStatus(cluster, "g").path("autoFailover").path("lastTransition").has("hookExitCode"),
                "g's hook to finish once released");
        }
    }

    @Test
    void aTreeGroupFailsOverToADirectoryAndBackOnItsOwn() throws Exception
    {
        try (LoopbackCluster cluster = new LoopbackCluster(dir, 1))
        {
            final Path share = Files.createDirectories(dir.resolve("share"));
            final Path recovery = dir.resolve("recovery");
            Files.createDirectories(recovery); // empty: usable as it is
            cluster.useTreeVolume(share);
            cluster.appendTargetConfig(
                "group.g.auto.failover = on",
                "group.g.auto.failover.silence.s = 2",
                "group.g.auto.failover.to = " + recovery,
                "group.g.auto.failback = on",
                "group.g.auto.failback.healthy.s = 2");
            final Random random = new Random(31);
            new dev.replicator.core.tree.TreeWorkload(Files.createDirectories(share.resolve("random")), random).run(30);
            final byte[] big = new byte[64 * 65536];
            random.nextBytes(big);
            Files.write(share.resolve("big.bin"), big);
            cluster.startTarget();
            cluster.startAgent();
            cluster.checkpoint("before");
            final java.util.TreeMap<String, String> atImage = TreeFailbackTest.digest(share);

            cluster.killAgentHard();
            await(() -> "FAILED_OVER".equals(status(cluster).path("role").asText()), "the automatic tree failover");
            assertThat(TreeFailbackTest.digest(recovery)).as("the recovery tree is the image").isEqualTo(atImage);
            // In service at the recovery site.
            Files.writeString(recovery.resolve("written-at-recovery.txt"), "recovery side\n");
            try (java.io.RandomAccessFile file = new java.io.RandomAccessFile(recovery.resolve("big.bin").toFile(), "rw"))
            {
                file.seek(10 * 65536L);
                file.write(new byte[] {1, 2, 3});
            }

            cluster.startAgent();
            await(() -> "FAILBACK".equals(status(cluster).path("autoFailover").path("lastTransition").path("kind")
                .asText()), "the automatic tree failback");
            final JsonNode group = status(cluster);
            assertThat(group.get("role").asText()).isEqualTo("REPLICATING");
            assertThat(group.get("autoFailover").get("lastTransition").get("reason").asText()).contains("tree ops");
            assertThat(TreeFailbackTest.digest(share)).as("the primary holds what the recovery tree held")
                .isEqualTo(TreeFailbackTest.digest(recovery));
        }
    }

    private static JsonNode groupStatus(final LoopbackCluster cluster, final String name)
    {
        try
        {
            for (final JsonNode group : cluster.json("status", "--json").path("groups"))
            {
                if (name.equals(group.path("group").asText()))
                {
                    return group;
                }
            }
            return com.fasterxml.jackson.databind.node.MissingNode.getInstance();
        }
        catch (final IOException ex)
        {
            throw new IllegalStateException(ex);
        }
    }

    private static JsonNode status(final LoopbackCluster cluster)
    {
        try
        {
            return cluster.json("status", "--json").path("groups").path(0);
        }
        catch (final IOException ex)
        {
            throw new IllegalStateException(ex);
        }
    }

    private static String agentRole(final LoopbackCluster cluster)
    {
        try
        {
            return cluster.agentStatus().path("role").asText();
        }
        catch (final IOException ex)
        {
            return "";
        }
    }

    private static int freePort() throws IOException
    {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress()))
        {
            return socket.getLocalPort();
        }
    }

    private Path script(final String name, final String body) throws IOException
    {
        final Path file = dir.resolve(name);
        Files.writeString(file, "#!/bin/sh\n" + body + "\n");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
        return file;
    }
}
