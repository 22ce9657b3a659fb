package dev.replicator.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.replicator.agent.Agent;
import dev.replicator.agent.AgentConfig;
import dev.replicator.agent.quiesce.QuiesceConfig;
import dev.replicator.agent.quiesce.Quiescer;
import dev.replicator.core.config.ConfigException;
import dev.replicator.core.config.HostPort;
import dev.replicator.core.volume.VolumeSpec;
import dev.replicator.core.wire.Json;
import dev.replicator.target.Target;
import dev.replicator.target.TargetConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

/**
 * Consistent checkpoints on a real ext4 file system on a loop device: hooks and fsfreeze around a
 * checkpoint, and the file system is writable again after success, a failing hook, a hanging hook,
 * a checkpoint that outlives the freeze timeout, and an agent killed while frozen. Needs root and
 * losetup, mkfs.ext4, mount, fsfreeze (util-linux, e2fsprogs).
 */
class ConsistentCheckpointTest
{
    private static final long DEVICE_BYTES = 32 << 20;
    private static final String GROUP = "c";

    @TempDir
    static Path shared;
    private static String device;
    private static Path mount;
    private static Path mode;
    private static Path preHook;

    @TempDir
    Path dir;

    @BeforeAll
    static void mountExt4OnALoopDevice() throws Exception
    {
        final Path image = shared.resolve("fs.img");
        try (RandomAccessFile file = new RandomAccessFile(image.toFile(), "rw"))
        {
            file.setLength(DEVICE_BYTES);
        }
        device = sh("losetup", "--find", "--show", image.toString()).strip();
        sh("mkfs.ext4", "-q", device);
        mount = Files.createDirectories(shared.resolve("mnt"));
        sh("mount", device, mount.toString());
        mode = shared.resolve("mode");
        preHook = shared.resolve("pre.sh");
        Files.writeString(preHook, "#!/bin/sh\ncase $(cat " + mode + ") in\n" +
            "  ok) exit 0 ;;\n  fail) echo 'cannot flush the database' ; exit 3 ;;\n  hang) sleep 60 ;;\nesac\n");
        Files.setPosixFilePermissions(preHook, PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    @AfterAll
    static void unmount() throws Exception
    {
        if (mount != null)
        {
            run("fsfreeze", "--unfreeze", mount.toString());
            run("umount", mount.toString());
        }
        if (device != null)
        {
            run("losetup", "--detach", device);
        }
    }

    @Test
    void onlyACheckpointWhosePreHookSucceededIsApplicationConsistentAndNothingStaysFrozen() throws Exception
    {
        try (Target target = target(); Agent agent = new Agent(agentConfig(target, 30_000)).start())
        {
            final String address = "127.0.0.1:" + target.port();
            awaitConnected(agent);
            Files.writeString(mode, "ok");
            final String consistent = checkpoint(address, "quiesced");
            assertWritable();
            Files.writeString(mode, "fail");
            final String failed = checkpoint(address, "hook-failed");
            assertWritable();
            Files.writeString(mode, "hang");
            final long startNs = System.nanoTime();
            final String hung = checkpoint(address, "hook-hung");
            assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs)).as("the hook ran to its timeout")
                .isGreaterThanOrEqualTo(1000);
            assertWritable();

            assertThat(consistency(address, consistent)).isEqualTo("application");
            assertThat(consistency(address, failed)).isEqualTo("crash");
            assertThat(consistency(address, hung)).isEqualTo("crash");
            final Cli.Result drill = Cli.run("failover", "--group", GROUP, "--latest-consistent", "--test", "--to",
                dir.resolve("drill.img").toString(), "--target", address);
            assertThat(drill.exitCode()).as(drill.err()).isZero();
            assertThat(drill.out()).contains("image " + consistent + " copied");
        }
    }

    @Test
    void aCheckpointThatOutlivesTheFreezeTimeoutIsThawedByTheWatchdogAndOnlyCrashConsistent() throws Exception
    {
        Files.writeString(mode, "ok");
        try (Target target = target(); Agent agent = new Agent(agentConfig(target, 1)).start())
        {
            final String address = "127.0.0.1:" + target.port();
            awaitConnected(agent);
            final String image = checkpoint(address, "too-slow");
            assertWritable();
            assertThat(consistency(address, image)).isEqualTo("crash");
        }
    }

    @Test
    void aFreezeThatFailsHalfwayThawsWhatItFrozeAndIsOnlyCrashConsistent() throws Exception
    {
        Files.writeString(mode, "ok");
        try (Target target = target(); Agent agent = new Agent(agentConfig(target, 30_000,
            List.of(mount, dir.resolve("no-such-mount")))).start())
        {
            final String address = "127.0.0.1:" + target.port();
            awaitConnected(agent);
            final String image = checkpoint(address, "half-frozen");
            assertWritable();
            assertThat(consistency(address, image)).isEqualTo("crash");
        }
    }

    @Test
    void aFreezeMountThatIsNotAMountPointIsRefused() throws Exception
    {
        final Path volume = LoopbackCluster.sparseVolume(dir.resolve("v.img"), 1 << 20);
        final Path plainDir = Files.createDirectories(dir.resolve("not-a-mount"));
        final Path file = dir.resolve("agent.conf");
        Files.writeString(file, "group = c\ntarget = 127.0.0.1:1\nvolume.v.path = " + volume + "\n" +
            "volume.v.freeze.mount = " + plainDir + "\n");
        assertThatThrownBy(() -> AgentConfig.load(file)).isInstanceOf(ConfigException.class)
            .hasMessageContaining("is not a mount point");
        Files.writeString(file, "group = c\ntarget = 127.0.0.1:1\nvolume.v.path = " + volume + "\n" +
            "volume.v.freeze.mount = " + mount + "\n");
        assertThat(AgentConfig.load(file).quiesce().freezeMounts()).containsExactly(mount);
    }

    @Test
    void anAgentThawsWhatAKilledPredecessorLeftFrozen() throws Exception
    {
        final AgentConfig config;
        try (Target target = target())
        {
            config = agentConfig(target, 30_000);
            Files.createDirectories(config.stateDir());
            // As a kill -9 between freeze and thaw leaves it: frozen, with the marker written before the freeze.
            Files.writeString(config.stateDir().resolve(Quiescer.MARKER_FILE), mount + "\n");
            sh("fsfreeze", "--freeze", mount.toString());
            try (Agent agent = new Agent(config).start())
            {
                assertWritable();
                awaitConnected(agent);
                assertThat(config.stateDir().resolve(Quiescer.MARKER_FILE)).doesNotExist();
            }
        }
    }

    private static void awaitConnected(final Agent agent)
    {
        LoopbackCluster.await(() -> agent.status().connected(), "the agent to connect");
    }

    private Target target() throws IOException
    {
        return new Target(new TargetConfig(new HostPort("127.0.0.1", 0), dir.resolve("target"), 64, 100, 100)).start();
    }

    private AgentConfig agentConfig(final Target target, final long freezeTimeoutMs)
    {
        return agentConfig(target, freezeTimeoutMs, List.of(mount));
    }

    private AgentConfig agentConfig(final Target target, final long freezeTimeoutMs, final List<Path> mounts)
    {
        return AgentConfig.builder()
            .group(GROUP)
            .target(new HostPort("127.0.0.1", target.port()))
            .stateDir(dir.resolve("agent"))
            .volume(new VolumeSpec("disk", Path.of(device), DEVICE_BYTES, 4096))
            .capture(AgentConfig.Capture.SCAN)
            .scanIntervalMs(3_600_000)
            .quiesce(new QuiesceConfig(preHook, null, 1000, mounts, freezeTimeoutMs))
            .build();
    }

    private static String checkpoint(final String address, final String label)
    {
        final Cli.Result result = Cli.run("checkpoint", "--group", GROUP, "--label", label, "--target", address);
        assertThat(result.exitCode()).as(result.err()).isZero();
        return result.line();
    }

    private static String consistency(final String address, final String image) throws IOException
    {
        final Cli.Result list = Cli.run("images", "list", "--group", GROUP, "--json", "--target", address);
        for (final JsonNode node : Json.mapper().readTree(list.out()))
        {
            if (node.get("id").asText().equals(image))
            {
                return node.get("consistency").asText();
            }
        }
        return fail("no image " + image + " in " + list.out());
    }

    /** A frozen file system blocks writes until thawed: write and fsync with a deadline. */
    private static void assertWritable() throws Exception
    {
        final Path probe = mount.resolve("probe");
        final CompletableFuture<Void> write = CompletableFuture.runAsync(() ->
        {
            try (FileChannel channel = FileChannel.open(probe, StandardOpenOption.CREATE, StandardOpenOption.WRITE))
            {
                channel.write(ByteBuffer.wrap(new byte[4096]), 0);
                channel.force(true);
            }
            catch (final IOException ex)
            {
                throw new java.io.UncheckedIOException(ex);
            }
        });
        try
        {
            write.get(10, TimeUnit.SECONDS);
        }
        catch (final TimeoutException ex)
        {
            fail("the file system at " + mount + " is still frozen: a write did not finish within 10 s");
        }
    }

    private static String sh(final String... command) throws Exception
    {
        final Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        final String output = new String(process.getInputStream().readAllBytes());
        if (process.waitFor() != 0)
        {
            throw new IllegalStateException(String.join(" ", command) + " failed (this test needs root, losetup, " +
                "mkfs.ext4, mount and fsfreeze): " + output);
        }
        return output;
    }

    private static void run(final String... command) throws Exception
    {
        final Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        process.getInputStream().readAllBytes();
        process.waitFor();
    }
}
