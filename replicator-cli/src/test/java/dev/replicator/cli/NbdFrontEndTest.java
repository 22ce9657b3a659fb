package dev.replicator.cli;

import dev.replicator.core.test.Tool;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static dev.replicator.cli.LoopbackCluster.BLOCK;
import static dev.replicator.cli.LoopbackCluster.await;
import static org.assertj.core.api.Assertions.assertThat;

/** The host writes through the agent's NBD export with real clients; the target's images hold exactly those bytes. */
class NbdFrontEndTest
{
    private static final int VOLUME_MIB = 16;
    private static final int PATTERN_BYTES = 2 << 20;

    @TempDir(cleanup = org.junit.jupiter.api.io.CleanupMode.ON_SUCCESS)
    Path dir;

    @Test
    void qemuIoWritesThroughTheAgentAreInTheTargetImageAtTheNextCheckpoint() throws Exception
    {
        try (LoopbackCluster cluster = new LoopbackCluster(dir, VOLUME_MIB))
        {
            final String uri = startWithNbdFront(cluster);
            final byte[] model = new byte[VOLUME_MIB << 20];
            Tool.run(60, "qemu-io", "-f", "raw", "-d", "unmap",
                "-c", "write -P 0xa1 0 1M",
                "-c", "write -f -P 0xb2 3M 12k",
                "-c", "write -P 0xc3 8195 5000",
                "-c", "write -z 512k 64k",
                "-c", "write -P 0xd4 4M 64k",
                "-c", "discard 4M 8k",
                "-c", "flush", uri).requireSuccess("qemu-io through the agent");
            fill(model, 0, 1 << 20, 0xa1);
            fill(model, 3 << 20, 12 << 10, 0xb2);
            fill(model, 8195, 5000, 0xc3);
            fill(model, 512 << 10, 64 << 10, 0);
            fill(model, 4 << 20, 64 << 10, 0xd4);
            fill(model, 4 << 20, 8 << 10, 0);
            assertThat(Arrays.equals(Files.readAllBytes(cluster.volume), model)).as("the agent's volume").isTrue();
            // base:allocation: the zero runs are reported as such, so nbdcopy and qemu-img skip them.
            final String map = Tool.run(30, "nbdinfo", "--map", uri).requireSuccess("nbdinfo --map").output();
            assertThat(map.lines().map(l -> l.trim().replaceAll("\\s+", " ")).toList())
                .containsExactlyElementsOf(expectedMap(model));

            final String image = cluster.checkpoint("after-qemu-io");
            assertThat(Arrays.equals(exportImage(cluster, image), model)).as("image %s", image).isTrue();

            Tool.run(60, "qemu-io", "-f", "raw", "-c", "write -P 0xe5 15M 1M", uri).requireSuccess("qemu-io");
            fill(model, 15 << 20, 1 << 20, 0xe5);
            final String next = cluster.checkpoint("second");
            assertThat(Arrays.equals(exportImage(cluster, next), model)).as("image %s", next).isTrue();
            assertThat(Tool.run(30, "nbdinfo", "--size", uri).output().trim())
                .isEqualTo(String.valueOf(VOLUME_MIB << 20));
        }
    }

    @Test
    void checkpointsTakenWhileTheHostWritesHoldWholeBlocksAndTheLastMatchesExactly() throws Exception
    {
        final long seed = System.nanoTime();
        System.out.println("seed=" + seed);
        final Random random = new Random(seed);
        try (LoopbackCluster cluster = new LoopbackCluster(dir, VOLUME_MIB))
        {
            final String uri = startWithNbdFront(cluster);
            // The host rewrites the first 2 MiB over and over: enough to overlap the checkpoints, little
            // enough that shipping keeps up on a loaded machine.
            final byte[][] patterns = new byte[2][PATTERN_BYTES];
            final Path[] files = new Path[2];
            for (int p = 0; p < 2; p++)
            {
                random.nextBytes(patterns[p]);
                files[p] = dir.resolve("pattern-" + p + ".img");
                Files.write(files[p], patterns[p]);
            }
            final AtomicBoolean stop = new AtomicBoolean();
            final AtomicInteger passes = new AtomicInteger();
            final AtomicReference<Throwable> failure = new AtomicReference<>();
            final Thread host = new Thread(() ->
            {
                try
                {
                    while (!stop.get() || passes.get() < 2)
                    {
                        Tool.run(120, "nbdcopy", "--request-size=65536", files[passes.get() % 2].toString(), uri)
                            .requireSuccess("nbdcopy to the agent");
                        passes.incrementAndGet();
                    }
                }
                catch (final Throwable ex)
                {
                    failure.set(ex);
                }
            }, "host-writes");
            host.start();
            final List<String> during = new ArrayList<>();
            for (int i = 0; i < 2; i++)
            {
                during.add(cluster.checkpoint("during-" + i));
            }
            stop.set(true);
            host.join(180_000);
            assertThat(failure.get()).isNull();
            System.out.println("nbdcopy passes=" + passes.get());
            final byte[] last = Arrays.copyOf(patterns[(passes.get() - 1) % 2], VOLUME_MIB << 20);
            final String image = cluster.checkpoint("after");
            assertThat(Arrays.equals(exportImage(cluster, image), last)).as("the last image").isTrue();
            for (final String id : during)
            {
                final byte[] bytes = exportImage(cluster, id);
                for (int b = 0; b < PATTERN_BYTES / BLOCK; b++)
                {
                    assertThat(isBlockOf(bytes, b, new byte[PATTERN_BYTES]) || isBlockOf(bytes, b, patterns[0]) ||
                        isBlockOf(bytes, b, patterns[1])).as("block %d of image %s", b, id).isTrue();
                }
                assertThat(Arrays.equals(bytes, PATTERN_BYTES, bytes.length, new byte[VOLUME_MIB << 20], PATTERN_BYTES,
                    bytes.length)).as("the rest of image %s is untouched", id).isTrue();
            }
        }
    }

    @Test
    void overlappingWritesInFlightFromSeveralClientsLeaveTheImageEqualToTheVolume() throws Exception
    {
        final long seed = System.nanoTime();
        System.out.println("seed=" + seed);
        final Random random = new Random(seed);
        try (LoopbackCluster cluster = new LoopbackCluster(dir, VOLUME_MIB))
        {
            final String uri = startWithNbdFront(cluster);
            final List<Process> clients = new ArrayList<>();
            for (int c = 0; c < 3; c++)
            {
                // Many asynchronous writes in flight at once, aligned and not, all within 1 MiB so they overlap.
                final List<String> command = new ArrayList<>(List.of("qemu-io", "-f", "raw"));
                for (int i = 0; i < 150; i++)
                {
                    final boolean aligned = random.nextBoolean();
                    final int length = aligned ? BLOCK * (1 + random.nextInt(32)) : 1 + random.nextInt(3 * BLOCK);
                    final int offset = aligned ? BLOCK * random.nextInt(256 - 32) : random.nextInt((1 << 20) - length);
                    command.add("-c");
                    command.add("aio_write -P " + (1 + random.nextInt(255)) + " " + offset + " " + length);
                }
                command.add("-c");
                command.add("aio_flush");
                command.add(uri);
                clients.add(new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(dir.resolve("qemu-io-" + c + ".log").toFile()).start());
            }
            for (final Process client : clients)
            {
                assertThat(client.waitFor()).as("qemu-io exit code").isZero();
            }
            final String image = cluster.checkpoint("after-overlaps");
            assertThat(Arrays.equals(exportImage(cluster, image), Files.readAllBytes(cluster.volume)))
                .as("image %s equals the volume (seed %d)", image, seed).isTrue();
        }
    }

    @Test
    void nbdFrontConfigMistakesAreOneSentenceAndExitTwo() throws IOException
    {
        Files.write(dir.resolve("v.img"), new byte[8192]);
        final Path config = dir.resolve("agent.conf");
        Files.writeString(config, "group = g\ntarget = 127.0.0.1:1\nvolume.v.path = v.img\nvolume.v.front = nbd\n" +
            "capture = scan\n");
        final Cli.Result result = Cli.run("agent", "run", "--config", config.toString());
        assertThat(result.exitCode()).isEqualTo(2);
        assertThat(result.err()).contains("'capture': must be api when volume.v.front = nbd");
        assertThat(result.err().strip().lines().count()).isEqualTo(1);

        Files.writeString(config, "group = g\ntarget = 127.0.0.1:1\nvolume.v.path = v.img\n" +
            "volume.v.nbd.listen = 127.0.0.1:10809\n");
        final Cli.Result orphan = Cli.run("agent", "run", "--config", config.toString());
        assertThat(orphan.exitCode()).isEqualTo(2);
        assertThat(orphan.err()).contains("'volume.v.nbd.listen': is set but volume.v.front is not nbd");

        Files.writeString(config, "group = g\ntarget = 127.0.0.1:1\nvolume.v.path = v.img\nvolume.v.front = nbd\n" +
            "volume.v.nbd.listen = 127.0.0.1:99999\n");
        final Cli.Result badPort = Cli.run("agent", "run", "--config", config.toString());
        assertThat(badPort.exitCode()).isEqualTo(2);
        assertThat(badPort.err()).contains("port 99999 in '127.0.0.1:99999' is outside 0-65535");
        assertThat(Files.exists(dir.resolve("state"))).isFalse();
    }

    @Test
    void aDemotedAgentRefusesHostWritesUntilFailbackMakesItPrimaryAgain() throws Exception
    {
        try (LoopbackCluster cluster = new LoopbackCluster(dir, VOLUME_MIB))
        {
            final String uri = startWithNbdFront(cluster);
            Tool.run(60, "qemu-io", "-f", "raw", "-c", "write -P 0x61 0 256k", uri).requireSuccess("qemu-io");
            final String image = cluster.checkpoint("before-disaster");
            cluster.killAgentHard();
            final Path recovery = dir.resolve("recovery.img");
            final Cli.Result failover = cluster.admin("failover", "--group", LoopbackCluster.GROUP, "--image", image,
                "--to", recovery.toString());
            assertThat(failover.exitCode()).as(failover.err()).isZero();

            cluster.startAgent();
            cluster.agent().awaitLog("demoted", java.time.Duration.ofSeconds(60));
            final byte[] before = Files.readAllBytes(cluster.volume);
            final Tool.Result refused = Tool.run(60, "qemu-io", "-f", "raw", "-c", "write -P 0x62 0 4k", uri);
            assertThat(refused.exitCode()).as(refused.output()).isNotZero();
            assertThat(refused.output()).contains("Operation not permitted");
            assertThat(Arrays.equals(Files.readAllBytes(cluster.volume), before)).as("the demoted volume").isTrue();

            final Cli.Result failback = cluster.admin("failback", "--group", LoopbackCluster.GROUP, "--execute");
            assertThat(failback.exitCode()).as(failback.err()).isZero();
            Tool.run(60, "qemu-io", "-f", "raw", "-c", "write -P 0x63 8k 4k", uri)
                .requireSuccess("qemu-io after failback");
            final String after = cluster.checkpoint("after-failback");
            assertThat(Arrays.equals(exportImage(cluster, after), Files.readAllBytes(cluster.volume)))
                .as("image %s after failback", after).isTrue();
        }
    }

    @Test
    void anNbdFrontDefaultsToApiCaptureAndResolvesAUnixSocketAgainstTheConfigDirectory() throws IOException
    {
        Files.write(dir.resolve("v.img"), new byte[8192]);
        Files.write(dir.resolve("w.img"), new byte[8192]);
        final Path config = dir.resolve("agent.conf");
        Files.writeString(config, "group = g\ntarget = 127.0.0.1:1\nvolume.v.path = v.img\nvolume.v.front = nbd\n" +
            "volume.v.nbd.listen = unix:run/v.sock\nvolume.w.path = w.img\nvolume.w.front = nbd\n");
        final dev.replicator.agent.AgentConfig loaded = dev.replicator.agent.AgentConfig.load(config);
        assertThat(loaded.capture()).isEqualTo(dev.replicator.agent.AgentConfig.Capture.API);
        assertThat(loaded.nbdFronts().get("v").unixPath()).isEqualTo(dir.resolve("run/v.sock").toAbsolutePath());
        assertThat(loaded.nbdFronts().get("w").toString()).isEqualTo("127.0.0.1:10809");
    }

    /** Rewrites agent.conf with an NBD front on a free port, starts both sides, returns the export's URI. */
    private String startWithNbdFront(final LoopbackCluster cluster) throws Exception
    {
        final int nbdPort;
        try (ServerSocket socket = new ServerSocket(0))
        {
            nbdPort = socket.getLocalPort();
        }
        Files.writeString(dir.resolve("agent.conf"), cluster.agentConfig(cluster.volume, "agent-state")
            .replace("capture = scan\n", "") +
            "volume.disk0.front = nbd\nvolume.disk0.nbd.listen = 127.0.0.1:" + nbdPort + "\n");
        cluster.startTarget();
        cluster.startAgent();
        final String uri = "nbd://127.0.0.1:" + nbdPort + "/disk0";
        await(() -> nbdinfoSize(uri) == (long)VOLUME_MIB << 20, "the agent's NBD export");
        return uri;
    }

    private static long nbdinfoSize(final String uri)
    {
        try
        {
            final Tool.Result result = Tool.run(30, "nbdinfo", "--size", uri);
            return result.exitCode() == 0 ? Long.parseLong(result.output().trim()) : -1;
        }
        catch (final IOException ex)
        {
            return -1;
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            return -1;
        }
    }

    private byte[] exportImage(final LoopbackCluster cluster, final String image) throws IOException
    {
        final Path out = dir.resolve("export-" + image.replace('@', '-') + ".img");
        final Cli.Result export = cluster.admin("images", "export", "--image", image, "--to", out.toString());
        assertThat(export.exitCode()).as(export.err()).isZero();
        return Files.readAllBytes(out);
    }

    /** nbdinfo --map lines for runs of zero and non-zero blocks: "offset length 2 zero" or "... 0 data". */
    private static List<String> expectedMap(final byte[] model)
    {
        final List<String> lines = new ArrayList<>();
        final byte[] zeros = new byte[BLOCK];
        int runStart = 0;
        for (int b = 0; b <= model.length / BLOCK; b++)
        {
            final boolean end = b == model.length / BLOCK;
            final boolean zero = !end && Arrays.equals(model, b * BLOCK, (b + 1) * BLOCK, zeros, 0, BLOCK);
            final boolean runZero = Arrays.equals(model, runStart, runStart + BLOCK, zeros, 0, BLOCK);
            if (b * BLOCK > runStart && (end || zero != runZero))
            {
                lines.add(runStart + " " + (b * BLOCK - runStart) + (runZero ? " 2 zero" : " 0 data"));
                runStart = b * BLOCK;
            }
        }
        return lines;
    }

    private static boolean isBlockOf(final byte[] bytes, final int block, final byte[] source)
    {
        final int from = block * BLOCK;
        return Arrays.equals(bytes, from, from + BLOCK, source, from, from + BLOCK);
    }

    private static void fill(final byte[] model, final int offset, final int length, final int value)
    {
        Arrays.fill(model, offset, offset + length, (byte)value);
    }
}
