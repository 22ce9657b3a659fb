package dev.replicator.cli;

import dev.replicator.agent.Agent;
import dev.replicator.agent.AgentConfig;
import dev.replicator.core.config.HostPort;
import dev.replicator.core.volume.VolumeSpec;
import dev.replicator.target.Target;
import dev.replicator.target.TargetConfig;
import dev.replicator.target.image.ImageStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicReference;

import static dev.replicator.cli.LoopbackCluster.BLOCK;
import static dev.replicator.cli.LoopbackCluster.sha256;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The bulk (initial) sync streams the volume from a scan, outside the journal, while writes go on
 * through the journal: the target ends byte-identical, and its first image exists only after the
 * whole volume is there. A kill -9 of the agent mid-sync resumes the sync.
 */
class BulkSyncTest
{
    private static final int VOLUME_MIB = 32;

    @TempDir
    Path dir;

    /**
     * A sparse volume: holes, random runs, runs of written zeros, text runs; 12 MiB of it data.
     * Returns the seed-determined layout written.
     */
    static void writeMixedVolume(final Path file, final long seed) throws Exception
    {
        final Random random = new Random(seed);
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw"))
        {
            raf.setLength(VOLUME_MIB << 20);
            final byte[] run = new byte[1 << 20];
            for (int mib = 0; mib < VOLUME_MIB; mib++)
            {
                switch (mib % 8)
                {
                    case 0, 3 ->
                    {
                        random.nextBytes(run);
                        raf.seek((long)mib << 20);
                        raf.write(run);
                    }
                    case 5 ->
                    {
                        java.util.Arrays.fill(run, (byte)0);
                        raf.seek((long)mib << 20);
                        raf.write(run);
                    }
                    case 6 ->
                    {
                        final byte[] line = ("text of MiB " + mib + " with some words in it\n").getBytes();
                        for (int i = 0; i < run.length; i++)
                        {
                            run[i] = line[i % line.length];
                        }
                        raf.seek((long)mib << 20);
                        raf.write(run);
                    }
                    default ->
                    {
                        // a hole
                    }
                }
            }
        }
    }

    @Test
    void initialSyncStreamsTheVolumeWhileApiWritesGoOnAndEndsIdentical() throws Exception
    {
        final long seed = Long.getLong("bulksync.seed", System.nanoTime());
        System.out.println("BulkSyncTest seed " + seed + " (replay: -Dbulksync.seed=" + seed + ")");
        final Path volume = dir.resolve("disk.img");
        writeMixedVolume(volume, seed);
        try (Target target = new Target(new TargetConfig(new HostPort("127.0.0.1", 0), dir.resolve("target"), 16,
            200, 200)).start())
        {
            final AgentConfig config = AgentConfig.builder()
                .group("bulk")
                .target(new HostPort("127.0.0.1", target.port()))
                .stateDir(dir.resolve("agent"))
                .volume(new VolumeSpec("v", volume, VOLUME_MIB << 20, BLOCK))
                // Scan capture (the bulk sync is its first scan) with writes through the API as well: they
                // are journaled at once, and the periodic scans during the sync find them too.
                .capture(AgentConfig.Capture.SCAN)
                .scanIntervalMs(100)
                // Slow enough that the writes below land while the sync is shipping.
                .syncRateBytesPerS(3_000_000)
                .build();
            final String expectedSha;
            try (Agent agent = new Agent(config).start())
            {
                LoopbackCluster.await(() -> agent.bulkSyncMarkedBlocks() > 0 && agent.status().connected(),
                    "the sync to start");
                final Random random = new Random(seed + 1);
                final AtomicReference<Throwable> failure = new AtomicReference<>();
                final Thread writer = new Thread(() ->
                {
                    try
                    {
                        for (int i = 0; i < 400; i++)
                        {
                            // Anywhere: over data the sync has shipped or not yet, in holes, unaligned.
                            final byte[] bytes = new byte[1 + random.nextInt(3 * BLOCK)];
                            if (i % 5 == 0)
                            {
                                java.util.Arrays.fill(bytes, (byte)0);
                            }
                            else
                            {
                                random.nextBytes(bytes);
                            }
                            final long offset = (long)(random.nextDouble() * ((VOLUME_MIB << 20) - bytes.length));
                            agent.writer().write("v", offset, ByteBuffer.wrap(bytes));
                        }
                    }
                    catch (final Exception ex)
                    {
                        failure.set(ex);
                    }
                }, "api-writer");
                writer.start();
                // While the sync runs, no image exists: a checkpoint asked for now waits for the sync's end.
                assertThat(agent.bulkSyncOutstanding()).isTrue();
                final java.util.concurrent.CompletableFuture<Long> early = java.util.concurrent.CompletableFuture.supplyAsync(() ->
                {
                    try
                    {
                        return agent.checkpoint("early");
                    }
                    catch (final java.io.IOException ex)
                    {
                        throw new java.io.UncheckedIOException(ex);
                    }
                });
                writer.join();
                assertThat(failure.get()).isNull();
                final boolean earlyDone = early.isDone();
                // Checked after: the sync only ends once, so it was running when earlyDone was read.
                assertThat(agent.bulkSyncOutstanding()).as("the sync outlasts the writes (rate limited)").isTrue();
                assertThat(earlyDone).as("the early checkpoint waits for the sync").isFalse();
                assertThat(store(target).checkpoints()).isEmpty();
                expectedSha = sha256(volume);
                LoopbackCluster.await(() -> !agent.bulkSyncOutstanding(), "the sync to complete");
                LoopbackCluster.await(() -> store(target).checkpoints().stream()
                    .anyMatch(c -> c.label().equals("initial-sync")), "the checkpoint after the sync");
                assertThat(early.get(60, java.util.concurrent.TimeUnit.SECONDS)).as("the early checkpoint, once synced")
                    .isPositive();
                // The journal carried the writes, not the volume: the sync marked the data blocks.
                assertThat(agent.bulkSyncMarkedBlocks()).isGreaterThanOrEqualTo(12L * (1 << 20) / BLOCK - 256);
            }
            // Every image (the sync's, and a periodic scan's that may come first) is the whole volume.
            final List<dev.replicator.target.image.Checkpoint> checkpoints = store(target).checkpoints();
            assertThat(checkpoints).isNotEmpty();
            for (final dev.replicator.target.image.Checkpoint checkpoint : checkpoints)
            {
                assertThat(checkpoint.label()).isIn("initial-sync", "scan", "early");
                final Path out = dir.resolve("export-" + checkpoint.seq());
                final Cli.Result result = Cli.run("images", "export", "--image", "bulk@" + checkpoint.seq(),
                    "--to", out.toString(), "--target", "127.0.0.1:" + target.port());
                assertThat(result.exitCode()).as(result.err()).isZero();
                assertThat(sha256(out)).as("image " + checkpoint).isEqualTo(expectedSha);
            }
        }
    }

    @Test
    void anAgentKilledMidSyncResumesTheSyncAndTheTargetEndsIdentical() throws Exception
    {
        final long seed = Long.getLong("bulksync.seed", System.nanoTime());
        System.out.println("BulkSyncTest seed " + seed + " (replay: -Dbulksync.seed=" + seed + ")");
        try (LoopbackCluster cluster = new LoopbackCluster(dir, VOLUME_MIB))
        {
            writeMixedVolume(cluster.volume, seed);
            cluster.appendAgentConfig("sync.rate.mb.s = 3");
            cluster.startTarget();
            cluster.startAgent();
            final Path replica = dir.resolve("target-data").resolve("groups").resolve(LoopbackCluster.GROUP)
                .resolve("volumes").resolve("disk0.replica");
            LoopbackCluster.await(() -> nonZeroBlocks(replica) >= 512, "part of the sync at the target");
            System.out.println("killing the agent mid-sync");
            cluster.killAgentHard();
            assertThat(dir.resolve("agent-state").resolve("sync")).as("killed mid-sync").isDirectory();
            assertThat(cluster.json("images", "list", "--group", LoopbackCluster.GROUP, "--json").size())
                .as("no image before the whole volume is there").isZero();
            // Changes while the agent is down, over shipped and unshipped parts and holes.
            LoopbackCluster.writeRandomRuns(cluster.volume, cluster.volumeBlocks, 40, new Random(seed));
            cluster.startAgent();
            System.out.println("agent restarted");
            final String image = cluster.checkpoint("after-restart");
            System.out.println("checkpoint " + image);
            final String expected = sha256(cluster.volume);
            final Path out = dir.resolve("export.img");
            final Cli.Result result = cluster.admin("images", "export", "--image", image, "--to", out.toString());
            assertThat(result.exitCode()).as(result.err()).isZero();
            assertThat(sha256(out)).isEqualTo(expected);
            assertThat(dir.resolve("agent-state").resolve("sync")).as("the sync finished").doesNotExist();
        }
    }

    private static long nonZeroBlocks(final Path file)
    {
        try
        {
            if (!Files.exists(file))
            {
                return 0;
            }
            final byte[] bytes = Files.readAllBytes(file);
            long blocks = 0;
            for (int b = 0; b < bytes.length; b += BLOCK)
            {
                for (int i = b; i < b + BLOCK; i++)
                {
                    if (bytes[i] != 0)
                    {
                        blocks++;
                        break;
                    }
                }
            }
            return blocks;
        }
        catch (final java.io.IOException ex)
        {
            return 0;
        }
    }

    private static ImageStore store(final Target target)
    {
        return target.groups().get("bulk") == null ? null : target.groups().get("bulk").store();
    }
}
