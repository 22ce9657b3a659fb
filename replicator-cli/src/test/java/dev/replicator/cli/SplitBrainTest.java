package dev.replicator.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.replicator.agent.Agent;
import dev.replicator.agent.AgentConfig;
import dev.replicator.core.config.HostPort;
import dev.replicator.core.wire.Json;
import dev.replicator.target.Target;
import dev.replicator.target.TargetConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;

import static dev.replicator.cli.LoopbackCluster.await;
import static dev.replicator.cli.LoopbackCluster.sha256;
import static org.assertj.core.api.Assertions.assertThat;

/** A primary still running when the group fails over is fenced: it ships nothing more, and keeps its writes for failback. */
class SplitBrainTest
{
    private static final long VOLUME_BYTES = 16 << 20;

    @TempDir
    Path dir;

    @Test
    void aPrimaryFencedWhileShippingIsRefusedAndItsLaterWritesGoBackByFailback() throws Exception
    {
        final Path volume = dir.resolve("v.img");
        LoopbackCluster.sparseVolume(volume, VOLUME_BYTES);
        try (Target target = new Target(new TargetConfig(new HostPort("127.0.0.1", 0), dir.resolve("target"), 64,
            100, 100)).start())
        {
            final String address = "127.0.0.1:" + target.port();
            final AgentConfig config = LoopbackCluster.apiAgent("s", target.port(), dir.resolve("agent"), volume, VOLUME_BYTES)
                .build();
            final Random random = new Random(31);
            try (Agent agent = new Agent(config).start())
            {
                writeBlocks(agent, random, 300);
                final long seq = agent.checkpoint("before");
                await(() -> target.groups().get("s").store().lastSeq() >= seq, "the checkpoint");

                final Path recovery = dir.resolve("recovery.img");
                final Cli.Result failover = Cli.run("failover", "--group", "s", "--latest", "--to",
                    recovery.toString(), "--target", address);
                assertThat(failover.exitCode()).as(failover.err()).isZero();
                await(() -> agent.status().role().equals("DEMOTED"), "the running primary to learn it is demoted");
                final long durableAtFailover = target.groups().get("s").store().lastSeq();

                // The old primary keeps being written (split brain): nothing of it may reach the replica.
                final Set<Long> writtenAfter = writeBlocks(agent, random, 40);
                assertThat(agent.journal().lastSeq()).isGreaterThan(durableAtFailover);
                assertThat(target.groups().get("s").store().lastSeq()).isEqualTo(durableAtFailover);

                final Set<Long> writtenOnRecovery = new TreeSet<>();
                try (RandomAccessFile file = new RandomAccessFile(recovery.toFile(), "rw"))
                {
                    for (int i = 0; i < 25; i++)
                    {
                        final long block = random.nextInt((int)(VOLUME_BYTES / 4096));
                        final byte[] data = new byte[4096];
                        random.nextBytes(data);
                        file.seek(block * 4096);
                        file.write(data);
                        writtenOnRecovery.add(block);
                    }
                }
                await(() -> reportReceived(address), "the demoted primary's report");
                final Set<Long> expected = new TreeSet<>(writtenAfter);
                expected.addAll(writtenOnRecovery);
                final Cli.Result plan = Cli.run("failback", "--group", "s", "--plan", "--json", "--target", address);
                final JsonNode planJson = Json.mapper().readTree(plan.out());
                assertThat(planJson.get("volumes").get(0).get("writtenOnRecovery").asLong())
                    .isEqualTo(writtenOnRecovery.size());
                assertThat(planJson.get("volumes").get(0).get("unshippedOnPrimary").asLong())
                    .as("writes made on the fenced primary are reported").isEqualTo(writtenAfter.size());
                assertThat(planJson.get("blocks").asLong()).isEqualTo(expected.size());
                final Cli.Result execute = Cli.run("failback", "--group", "s", "--execute", "--json", "--target",
                    address);
                assertThat(execute.exitCode()).as(execute.err()).isZero();
                assertThat(sha256(volume)).isEqualTo(sha256(recovery));
                assertThat(Json.mapper().readTree(execute.out()).get("blocksShipped").asLong())
                    .isEqualTo(expected.size());
                assertThat(Json.mapper().readTree(execute.out()).get("passes").asInt()).isEqualTo(1);
            }
        }
    }

    private static boolean reportReceived(final String address)
    {
        try
        {
            return Json.mapper().readTree(Cli.run("status", "--json", "--target", address).out())
                .get("groups").get(0).get("failbackReportReceived").asBoolean();
        }
        catch (final java.io.IOException ex)
        {
            return false;
        }
    }

    private static Set<Long> writeBlocks(final Agent agent, final Random random, final int count) throws Exception
    {
        final Set<Long> written = new TreeSet<>();
        for (int i = 0; i < count; i++)
        {
            final long block = random.nextInt((int)(VOLUME_BYTES / 4096));
            final byte[] data = new byte[4096];
            random.nextBytes(data);
            agent.writer().write("v", block * 4096, ByteBuffer.wrap(data));
            written.add(block);
        }
        return written;
    }
}
