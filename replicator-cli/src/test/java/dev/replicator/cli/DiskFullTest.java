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

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static dev.replicator.cli.LoopbackCluster.await;
import static dev.replicator.cli.LoopbackCluster.sha256;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The target's disk fills up: replication pauses with a clear status, the agent keeps its journal,
 * and everything resumes when space returns, with every image exact. Needs root (a size-limited
 * tmpfs is the disk); CI runs as root, and without it this test fails rather than skips.
 */
class DiskFullTest
{
    private static final long VOLUME_BYTES = 64 << 20;

    @TempDir
    Path dir;

    @Test
    void replicationPausesWhenTheTargetDiskIsFullAndResumesWhenSpaceReturns() throws Exception
    {
        final Path disk = dir.resolve("target-disk");
        Files.createDirectories(disk);
        run("mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", disk.toString());
        try
        {
            final Path volume = dir.resolve("v.img");
            LoopbackCluster.sparseVolume(volume, VOLUME_BYTES);
            try (Target target = new Target(new TargetConfig(new HostPort("127.0.0.1", 0), disk.resolve("data"), 64,
                200, 200)).start())
            {
                final String address = "127.0.0.1:" + target.port();
                final AgentConfig config = LoopbackCluster.apiAgent("d", target.port(), dir.resolve("agent"), volume, VOLUME_BYTES)
                    .build();
                final Random random = new Random(23);
                try (Agent agent = new Agent(config).start())
                {
                    write(agent, random, 0, 2 << 20);
                    final long first = agent.checkpoint("fits");
                    final String firstSha = sha256(volume);
                    await(() -> target.groups().get("d").store().lastSeq() >= first, "the first checkpoint");

                    write(agent, random, 2 << 20, 40 << 20);
                    await(() -> paused(address) != null, "the target to report replication paused");
                    assertThat(paused(address)).contains("No space left on device");
                    assertThat(target.groups().get("d").store().lastSeq()).isLessThan(agent.journal().lastSeq());

                    run("mount", "-o", "remount,size=256m", disk.toString());
                    final long last = agent.checkpoint("after-space-returned");
                    await(() -> target.groups().get("d").store().lastSeq() >= last, "replication to resume");
                    assertThat(paused(address)).isNull();

                    final Path outFirst = dir.resolve("first.img");
                    assertThat(Cli.run("images", "export", "--image", "d@" + first, "--to", outFirst.toString(),
                        "--target", address).exitCode()).isZero();
                    assertThat(sha256(outFirst)).isEqualTo(firstSha);
                    final Path outLast = dir.resolve("last.img");
                    assertThat(Cli.run("images", "export", "--image", "d@" + last, "--to", outLast.toString(),
                        "--target", address).exitCode()).isZero();
                    assertThat(sha256(outLast)).isEqualTo(sha256(volume));
                }
            }
        }
        finally
        {
            run("umount", "-l", disk.toString());
        }
    }

    private static String paused(final String address)
    {
        final Cli.Result result = Cli.run("status", "--json", "--target", address);
        try
        {
            final JsonNode node = Json.mapper().readTree(result.out()).get("groups").get(0).get("paused");
            return node == null || node.isNull() ? null : node.asText();
        }
        catch (final IOException ex)
        {
            throw new AssertionError(result.err(), ex);
        }
    }

    private static void write(final Agent agent, final Random random, final long from, final long bytes)
        throws IOException
    {
        final byte[] data = new byte[256 * 1024];
        for (long offset = from; offset < from + bytes; offset += data.length)
        {
            random.nextBytes(data);
            agent.writer().write("v", offset, ByteBuffer.wrap(data));
        }
    }

    private static void run(final String... command) throws IOException, InterruptedException
    {
        final Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        final String output = new String(process.getInputStream().readAllBytes());
        if (!process.waitFor(30, TimeUnit.SECONDS) || process.exitValue() != 0)
        {
            throw new AssertionError(String.join(" ", command) + " failed (this test needs root to mount a " +
                "size-limited tmpfs): " + output);
        }
    }
}
