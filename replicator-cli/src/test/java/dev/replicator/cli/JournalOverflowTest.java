package dev.replicator.cli;

import dev.replicator.agent.Agent;
import dev.replicator.agent.AgentConfig;
import dev.replicator.agent.AgentStatus;
import dev.replicator.core.config.HostPort;
import dev.replicator.target.Target;
import dev.replicator.target.TargetConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Random;

import static dev.replicator.cli.LoopbackCluster.await;
import static dev.replicator.cli.LoopbackCluster.sha256;
import static org.assertj.core.api.Assertions.assertThat;

/** The target is gone until the journal is full: the agent keeps running on a dirty bitmap and loses nothing. */
class JournalOverflowTest
{
    private static final long VOLUME_BYTES = 32 << 20;
    private static final long LIMIT_BYTES = 4 << 20;

    @TempDir
    Path dir;

    @Test
    void shouldSwitchToBitmapModeWhenTheJournalIsFullAndResyncOnReconnect() throws Exception
    {
        final Path volume = dir.resolve("v.img");
        LoopbackCluster.sparseVolume(volume, VOLUME_BYTES);
        final int port;
        try (ServerSocket socket = new ServerSocket(0))
        {
            port = socket.getLocalPort();
        }
        final AgentConfig config = LoopbackCluster.apiAgent("o", port, dir.resolve("agent"), volume, VOLUME_BYTES)
            .maxUnshippedBytes(LIMIT_BYTES)
            .build();
        final Random random = new Random(17);
        final long dirtyBeforeRestart;
        try (Agent agent = new Agent(config).start())
        {
            writeRandom(agent, random, 3 << 20);
            assertThat(agent.status().captureMode()).isEqualTo("JOURNAL");
            assertThat(agent.checkpoint("before-overflow")).isPositive();
            writeRandom(agent, random, 6 << 20);
            final AgentStatus status = agent.status();
            assertThat(status.captureMode()).isEqualTo("BITMAP");
            assertThat(status.dirtyBlocks()).isPositive();
            assertThat(status.unshippedBytes()).isLessThanOrEqualTo(LIMIT_BYTES);
            assertThat(agent.checkpoint("during-overflow")).as("no image without the dirty blocks").isEqualTo(-1);
            dirtyBeforeRestart = status.dirtyBlocks();
        }

        try (Agent agent = new Agent(config).start())
        {
            assertThat(agent.status().captureMode()).as("the bitmap survives a restart").isEqualTo("BITMAP");
            assertThat(agent.status().dirtyBlocks()).isEqualTo(dirtyBeforeRestart);
            writeRandom(agent, random, 1 << 20);

            try (Target target = new Target(new TargetConfig(new HostPort("127.0.0.1", port), dir.resolve("target"),
                64, 200, 200)).start())
            {
                await(() -> agent.status().captureMode().equals("JOURNAL") && agent.status().dirtyBlocks() == 0,
                    "the agent to resync its dirty blocks");
                final long seq = agent.checkpoint("after-resync");
                assertThat(seq).isPositive();
                await(() -> target.groups().get("o").store().lastSeq() >= seq, "the checkpoint to be durable");
                final Path out = dir.resolve("out.img");
                final Cli.Result export = Cli.run("images", "export", "--image", "o@" + seq, "--to", out.toString(),
                    "--target", "127.0.0.1:" + port);
                assertThat(export.exitCode()).as(export.err()).isZero();
                assertThat(sha256(out)).as("nothing lost").isEqualTo(sha256(volume));
            }
        }
    }

    private static void writeRandom(final Agent agent, final Random random, final long bytes) throws Exception
    {
        long written = 0;
        while (written < bytes)
        {
            final byte[] data = new byte[4096 * (1 + random.nextInt(16))];
            random.nextBytes(data);
            final long offset = (long)random.nextInt((int)((VOLUME_BYTES - data.length) / 4096)) * 4096;
            agent.writer().write("v", offset, ByteBuffer.wrap(data));
            written += data.length;
        }
    }
}
