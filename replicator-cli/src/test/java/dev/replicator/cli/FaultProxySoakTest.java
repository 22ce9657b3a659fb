package dev.replicator.cli;

import dev.replicator.agent.Agent;
import dev.replicator.agent.AgentConfig;
import dev.replicator.core.config.HostPort;
import dev.replicator.core.ext.FaultCounters;
import dev.replicator.core.ext.FaultDirection;
import dev.replicator.core.ext.FaultKind;
import dev.replicator.core.ext.FaultPlan;
import dev.replicator.core.ext.FaultProxy;
import dev.replicator.core.test.Await;
import dev.replicator.core.volume.VolumeSpec;
import dev.replicator.target.Target;
import dev.replicator.target.TargetConfig;
import dev.replicator.target.group.Group;
import dev.replicator.target.image.ImageStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;

import static dev.replicator.cli.LoopbackCluster.sha256;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Replication through a {@link FaultProxy} that drops, delays, resets, stalls, truncates and flips
 * bits in both directions, for at least 10^4 data frames (10^5 with {@code -Dreplicator.soak=true}):
 * every checkpoint's image is byte-exact, the replica converges to the volume, and the agent never
 * gives up. Seeded: {@code -Dreplicator.soak.seed=N} replays a run's fault plan and writes.
 */
class FaultProxySoakTest
{
    private static final String GROUP = "soak";
    private static final String VOLUME = "v";
    private static final int VOLUME_BYTES = 8 << 20;
    private static final int BLOCK = 4096;
    /** Small frames, so frames are many: a frame is sent once it holds this much or the shipper caught up. */
    private static final int FRAME_BYTES = 8 * 1024;
    private static final int MAX_WRITE_BYTES = 12 * 1024;
    private static final int WRITES_PER_CHECKPOINT = 500;
    /** The writer waits when it is this many entries ahead of the target: frames stay small, not full. */
    private static final long MAX_LAG_ENTRIES = 64;
    private static final long FRAMES = Long.getLong("replicator.soak.frames",
        Boolean.getBoolean("replicator.soak") ? 100_000 : 10_000);
    private static final Duration RUN_LIMIT = Duration.ofMinutes(Boolean.getBoolean("replicator.soak") ? 30 : 4);
    private static final Duration CATCH_UP = Duration.ofSeconds(60);

    @TempDir(factory = RamDiskTempDir.class)
    Path dir;

    private record CheckpointImage(long seq, String sha256)
    {
    }

    @Test
    void everyImageStaysExactWhileTheNetworkDropsDelaysResetsStallsTruncatesAndFlips() throws Exception
    {
        final long seed = Long.getLong("replicator.soak.seed", System.nanoTime());
        System.out.println("FaultProxySoakTest seed=" + seed + " frames>=" + FRAMES +
            " (replay with -Dreplicator.soak.seed=" + seed + ")");
        final long startNs = System.nanoTime();
        final Path volume = dir.resolve("v.img");
        LoopbackCluster.sparseVolume(volume, VOLUME_BYTES);
        final Random random = new Random(seed);
        final byte[] model = new byte[VOLUME_BYTES];
        final List<CheckpointImage> images = new ArrayList<>();
        long writes = 0;
        final long lastSeq;
        try (Target target = new Target(new TargetConfig(new HostPort("127.0.0.1", 0), dir.resolve("target"),
            1_000_000, 200, 200)).start();
             FaultProxy proxy = FaultProxy.start(new InetSocketAddress("127.0.0.1", target.port()), plan(seed));
             Agent agent = new Agent(AgentConfig.builder()
                 .group(GROUP)
                 .target(new HostPort("127.0.0.1", proxy.port()))
                 .stateDir(dir.resolve("agent"))
                 .volume(new VolumeSpec(VOLUME, volume, VOLUME_BYTES, BLOCK))
                 .capture(AgentConfig.Capture.API)
                 .frameBytes(FRAME_BYTES)
                 .build()).start())
        {
            final long deadlineNs = startNs + RUN_LIMIT.toNanos();
            while (target.framesApplied() < FRAMES || !everyKindInjected(proxy.counters()))
            {
                if (System.nanoTime() - deadlineNs >= 0)
                {
                    throw new AssertionError("seed " + seed + ": after " + RUN_LIMIT + " only " +
                        target.framesApplied() + " frames applied; proxy " + proxy.counters());
                }
                final long seq = writeRandom(agent, random, model);
                writes++;
                if (writes % WRITES_PER_CHECKPOINT == 0)
                {
                    images.add(new CheckpointImage(agent.checkpoint("soak-" + images.size()), sha256Of(model)));
                }
                if (seq - durableSeq(target) > MAX_LAG_ENTRIES)
                {
                    Await.until(() -> seq - durableSeq(target) <= MAX_LAG_ENTRIES / 2, CATCH_UP,
                        () -> "seed " + seed + ": the target to catch up; proxy " + proxy.counters());
                }
            }
            lastSeq = agent.checkpoint("soak-last");
            images.add(new CheckpointImage(lastSeq, sha256Of(model)));
            Await.until(() -> durableSeq(target) >= lastSeq, CATCH_UP,
                () -> "seed " + seed + ": the last checkpoint to be durable; proxy " + proxy.counters());
            final long shippedNs = System.nanoTime();

            assertThat(sha256(volume)).as("the writer's volume matches the test's model").isEqualTo(sha256Of(model));
            final ImageStore store = target.groups().get(GROUP).store();
            for (final CheckpointImage image : images)
            {
                final Path out = dir.resolve("image-" + image.seq());
                store.openImage(image.seq()).materialize(0, out, null);
                assertThat(sha256(out)).as("image at seq %d (seed %d)", image.seq(), seed).isEqualTo(image.sha256());
                Files.delete(out);
            }
            final Path replica = dir.resolve("replica");
            store.openLatest().materialize(0, replica, null);
            assertThat(sha256(replica)).as("the replica converged (seed %d)", seed).isEqualTo(sha256Of(model));

            final FaultCounters counters = proxy.counters();
            for (final FaultKind kind : FaultKind.values())
            {
                assertThat(counters.faultsInjected(kind)).as("%s faults (seed %d)", kind, seed).isPositive();
            }
            assertThat(target.corruptFramesRejected()).as("corrupt frames rejected (seed %d)", seed).isPositive();
            assertThat(target.framesApplied()).isGreaterThanOrEqualTo(FRAMES);
            Await.until(() -> agent.status().connected(), CATCH_UP, "the agent to be connected at the end");
            assertThat(agent.fatalRefusal()).isNull();

            System.out.printf("FaultProxySoakTest seed=%d framesApplied=%d writes=%d checkpoints=%d " +
                "corruptFramesRejected=%d shippedIn=%.1fs total=%.1fs%n", seed, target.framesApplied(), writes,
                images.size(), target.corruptFramesRejected(), (shippedNs - startNs) / 1e9,
                (System.nanoTime() - startNs) / 1e9);
            System.out.println("FaultProxySoakTest proxy " + counters);
        }
    }

    /**
     * Rates per MiB of each direction's stream. Upstream carries ~10 KiB per frame, downstream a
     * 32-byte ACK per frame, so the downstream rates are higher for a similar number of faults.
     * Stalls reach past the target's 2 s read timeout (10 x its 200 ms heartbeat) now and then.
     */
    private static FaultPlan plan(final long seed)
    {
        final FaultPlan.Builder plan = FaultPlan.builder()
            .seed(seed)
            .delayMs(1, 50)
            .stallMs(100, 2500);
        //                          DROP  DELAY  RESET  STALL  TRUNCATE  FLIP
        final double[] upstream = {0.15, 0.5, 0.15, 0.06, 0.15, 0.25};
        final double[] downstream = {15, 30, 15, 6, 15, 15};
        for (final FaultKind kind : FaultKind.values())
        {
            plan.faultsPerMiB(FaultDirection.UPSTREAM, kind, upstream[kind.ordinal()]);
            plan.faultsPerMiB(FaultDirection.DOWNSTREAM, kind, downstream[kind.ordinal()]);
        }
        return plan.build();
    }

    private static boolean everyKindInjected(final FaultCounters counters)
    {
        for (final FaultKind kind : FaultKind.values())
        {
            if (counters.faultsInjected(kind) == 0)
            {
                return false;
            }
        }
        return true;
    }

    /** One write of 1 B to 12 KiB at a random offset: random, compressible text or zeros. */
    private static long writeRandom(final Agent agent, final Random random, final byte[] model) throws Exception
    {
        final int length = 1 + random.nextInt(MAX_WRITE_BYTES);
        final int offset = random.nextInt(VOLUME_BYTES - length);
        final int kind = random.nextInt(4);
        if (kind == 0)
        {
            final byte[] line = ("near " + offset + ": the quick brown fox\n").getBytes(StandardCharsets.US_ASCII);
            for (int i = 0; i < length; i++)
            {
                model[offset + i] = line[i % line.length];
            }
        }
        else if (kind == 1)
        {
            java.util.Arrays.fill(model, offset, offset + length, (byte)0);
        }
        else
        {
            final byte[] bytes = new byte[length];
            random.nextBytes(bytes);
            System.arraycopy(bytes, 0, model, offset, length);
        }
        return agent.writer().write(VOLUME, offset, ByteBuffer.wrap(model, offset, length));
    }

    private static long durableSeq(final Target target)
    {
        final Group group = target.groups().get(GROUP);
        return group == null ? 0 : group.store().lastSeq();
    }

    private static String sha256Of(final byte[] bytes) throws Exception
    {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    }
}
