package dev.replicator.cli;

import dev.replicator.core.test.Await;
import dev.replicator.core.test.ChildJvm;
import dev.replicator.core.wire.Json;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.BooleanSupplier;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A target and an agent as separate JVMs on 127.0.0.1, with one scanned volume file, for end-to-end
 * tests. The test itself plays the application (writes the volume) and the admin (runs the CLI).
 */
final class LoopbackCluster implements AutoCloseable
{
    static final int BLOCK = 4096;
    static final String GROUP = "g";

    final Path dir;
    final Path volume;
    final int port;
    final String target;
    final long volumeBlocks;
    private ChildJvm targetJvm;
    private ChildJvm agentJvm;
    private int starts;
    /** Extra arguments of every admin command, e.g. {@code --tls-dir DIR} against a TLS target. */
    private String[] adminArgs = new String[0];

    LoopbackCluster(final Path dir, final int volumeMiB) throws IOException
    {
        this.dir = dir;
        this.volume = dir.resolve("primary.img");
        this.volumeBlocks = volumeMiB * 1024L * 1024 / BLOCK;
        try (RandomAccessFile file = new RandomAccessFile(volume.toFile(), "rw"))
        {
            file.setLength(volumeMiB * 1024L * 1024);
        }
        try (ServerSocket socket = new ServerSocket(0))
        {
            this.port = socket.getLocalPort();
        }
        this.target = "127.0.0.1:" + port;
        Files.writeString(dir.resolve("target.conf"), String.join("\n",
            "listen = " + target,
            "data.dir = target-data",
            "recovery.scan.interval.ms = 200",
            "heartbeat.interval.ms = 200", ""));
        Files.writeString(dir.resolve("agent.conf"), agentConfig(volume, "agent-state"));
    }

    String agentConfig(final Path volumePath, final String stateDir)
    {
        return String.join("\n",
            "group = " + GROUP,
            "agent.name = test-primary",
            "target = " + target,
            "state.dir = " + stateDir,
            "volume.disk0.path = " + volumePath,
            "capture = scan",
            "scan.interval.ms = 200",
            "heartbeat.interval.ms = 200", "");
    }

    /** Makes the agent protect the directory {@code share} as tree volume "share" (extra config lines after). */
    void useTreeVolume(final Path share, final String... extraLines) throws IOException
    {
        Files.writeString(dir.resolve("agent.conf"), String.join("\n",
            "group = " + GROUP,
            "agent.name = test-primary",
            "target = " + target,
            "state.dir = agent-state",
            "volume.share.kind = tree",
            "volume.share.path = " + share,
            "scan.interval.ms = 200",
            "heartbeat.interval.ms = 200", String.join("\n", extraLines), ""));
    }

    void startTarget()
    {
        targetJvm = ChildJvm.start(Replicator.class, dir.resolve("logs-target-" + (++starts)),
            "target", "run", "--config", dir.resolve("target.conf").toString());
        await(() -> admin("status").exitCode() == 0, "the target to answer");
    }

    void stopTarget()
    {
        targetJvm.terminate();
        targetJvm = null;
    }

    /** SIGKILL the target: no shutdown hooks, as a crash of its process would. */
    void killTargetHard()
    {
        targetJvm.killHard();
        targetJvm = null;
    }

    ChildJvm targetProcess()
    {
        return targetJvm;
    }

    /**
     * Adds settings to target.conf (e.g. {@code retain.checkpoints = 100000}); takes effect at the
     * next {@link #startTarget()}.
     */
    void appendTargetConfig(final String... lines) throws IOException
    {
        Files.writeString(dir.resolve("target.conf"), String.join("\n", lines) + "\n",
            java.nio.file.StandardOpenOption.APPEND);
    }

    ChildJvm startAgent()
    {
        agentJvm = ChildJvm.start(Replicator.class, dir.resolve("logs-agent-" + (++starts)),
            "agent", "run", "--config", dir.resolve("agent.conf").toString());
        return agentJvm;
    }

    void killAgentHard()
    {
        agentJvm.killHard();
        agentJvm = null;
    }

    ChildJvm agent()
    {
        return agentJvm;
    }

    Cli.Result admin(final String... args)
    {
        final String[] withTarget = new String[args.length + 2 + adminArgs.length];
        System.arraycopy(args, 0, withTarget, 0, args.length);
        withTarget[args.length] = "--target";
        withTarget[args.length + 1] = target;
        System.arraycopy(adminArgs, 0, withTarget, args.length + 2, adminArgs.length);
        return Cli.run(withTarget);
    }

    /** Admin commands from now on use the admin certificate in {@code dir} (a TLS target). */
    void adminTlsDir(final Path dir)
    {
        adminArgs = new String[] {"--tls-dir", dir.toString()};
    }

    /** Adds settings to agent.conf (e.g. {@code tls.dir = DIR}); takes effect at the next {@link #startAgent()}. */
    void appendAgentConfig(final String... lines) throws IOException
    {
        Files.writeString(dir.resolve("agent.conf"), String.join("\n", lines) + "\n",
            java.nio.file.StandardOpenOption.APPEND);
    }

    /** Takes a checkpoint through the target and returns its image id. */
    String checkpoint(final String label)
    {
        final Cli.Result[] last = new Cli.Result[1];
        await(() -> (last[0] = admin("checkpoint", "--group", GROUP, "--label", label)).exitCode() == 0,
            "a checkpoint (last answer: " + (last[0] == null ? "" : last[0].err()) + ")");
        return last[0].line();
    }

    JsonNode json(final String... args) throws IOException
    {
        final Cli.Result result = admin(args);
        assertThat(result.exitCode()).as(result.err()).isZero();
        return Json.mapper().readTree(result.out());
    }

    JsonNode agentStatus() throws IOException
    {
        final Path file = dir.resolve("agent-state").resolve("agent-status.json");
        return Files.exists(file) ? Json.mapper().readTree(file.toFile()) : Json.mapper().createObjectNode();
    }

    /** Overwrites {@code runs} runs of 1-8 random blocks; returns the blocks written. */
    static Set<Long> writeRandomRuns(final Path file, final long volumeBlocks, final int runs, final Random random)
        throws IOException
    {
        final Set<Long> written = new TreeSet<>();
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw"))
        {
            for (int r = 0; r < runs; r++)
            {
                final int count = 1 + random.nextInt(8);
                final long first = (long)(random.nextDouble() * (volumeBlocks - count));
                final byte[] data = new byte[count * BLOCK];
                random.nextBytes(data);
                if (r % 3 == 0)
                {
                    // Compressible text for a third of the runs: LZ4 is exercised, not just RAW.
                    final byte[] line = ("line " + first + " of run " + r + " the quick brown fox\n").getBytes();
                    for (int i = 0; i < data.length; i++)
                    {
                        data[i] = line[i % line.length];
                    }
                }
                raf.seek(first * BLOCK);
                raf.write(data);
                for (int i = 0; i < count; i++)
                {
                    written.add(first + i);
                }
            }
        }
        return written;
    }

    /** An in-process agent writing through the API to one volume {@code v}, shipping to 127.0.0.1:{@code port}. */
    static dev.replicator.agent.AgentConfig.Builder apiAgent(
        final String group, final int port, final Path stateDir, final Path volume, final long bytes)
    {
        return dev.replicator.agent.AgentConfig.builder()
            .group(group)
            .target(new dev.replicator.core.config.HostPort("127.0.0.1", port))
            .stateDir(stateDir)
            .volume(new dev.replicator.core.volume.VolumeSpec("v", volume, bytes, BLOCK))
            .capture(dev.replicator.agent.AgentConfig.Capture.API)
            .scanIntervalMs(100);
    }

    /** A new sparse file of {@code bytes} (all zeros), the volume of an in-process test. */
    static Path sparseVolume(final Path file, final long bytes) throws IOException
    {
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw"))
        {
            raf.setLength(bytes);
        }
        return file;
    }

    static String sha256(final Path file) throws IOException
    {
        try
        {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
        }
        catch (final NoSuchAlgorithmException ex)
        {
            throw new IllegalStateException(ex);
        }
    }

    static void await(final BooleanSupplier condition, final String what)
    {
        Await.until(condition, Duration.ofSeconds(60), "timed out after 60 s waiting for " + what);
    }

    @Override
    public void close()
    {
        if (agentJvm != null)
        {
            agentJvm.close();
        }
        if (targetJvm != null)
        {
            targetJvm.close();
        }
    }
}
