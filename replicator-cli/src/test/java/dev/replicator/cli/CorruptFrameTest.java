package dev.replicator.cli;

import dev.replicator.agent.Agent;
import dev.replicator.agent.AgentConfig;
import dev.replicator.core.config.HostPort;
import dev.replicator.core.ext.FaultDirection;
import dev.replicator.core.ext.FaultKind;
import dev.replicator.core.ext.FaultPlan;
import dev.replicator.core.ext.FaultProxy;
import dev.replicator.core.volume.VolumeSpec;
import dev.replicator.target.Target;
import dev.replicator.target.TargetConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.Random;

import static dev.replicator.cli.LoopbackCluster.sha256;
import static org.assertj.core.api.Assertions.assertThat;

/** A frame damaged in transit is refused and resent, never applied. */
class CorruptFrameTest
{
    @TempDir
    Path dir;

    @Test
    void corruptFramesAreRejectedAndResentSoTheImageIsExact() throws Exception
    {
        final Path volume = dir.resolve("v.img");
        LoopbackCluster.sparseVolume(volume, 8 << 20);
        LoopbackCluster.writeRandomRuns(volume, 2048, 300, new Random(5));
        final String expected = sha256(volume);
        try (Target target = new Target(new TargetConfig(new HostPort("127.0.0.1", 0), dir.resolve("target"), 16,
            200, 200)).start();
             FaultProxy proxy = FaultProxy.start(new InetSocketAddress("127.0.0.1", target.port()),
                 oneFlipInEachOfTheFirstThreeConnections()))
        {
            final AgentConfig config = AgentConfig.builder()
                .group("c")
                .target(new HostPort("127.0.0.1", proxy.port()))
                .stateDir(dir.resolve("agent"))
                .volume(new VolumeSpec("v", volume, 8 << 20, 4096))
                .scanIntervalMs(3_600_000)
                .build();
            final long checkpoint;
            try (Agent agent = new Agent(config).start())
            {
                checkpoint = agent.checkpoint("after-damage");
                LoopbackCluster.await(() -> target.groups().get("c") != null &&
                    target.groups().get("c").store().lastSeq() >= checkpoint, "the checkpoint to be durable");
            }
            assertThat(proxy.counters().faultsInjected(FaultKind.FLIP)).isEqualTo(3);
            assertThat(proxy.counters().totalFaultsInjected()).isEqualTo(3);
            assertThat(target.corruptFramesRejected()).isEqualTo(3);
            final Path out = dir.resolve("out.img");
            final Cli.Result export = Cli.run("images", "export", "--image", "c@" + checkpoint, "--to",
                out.toString(), "--target", "127.0.0.1:" + target.port());
            assertThat(export.exitCode()).as(export.err()).isZero();
            assertThat(sha256(out)).isEqualTo(expected);
        }
    }

    /** 200 000 bytes in is inside the first data frame (the hello is a few hundred bytes). */
    private static FaultPlan oneFlipInEachOfTheFirstThreeConnections()
    {
        final FaultPlan.Builder plan = FaultPlan.builder().seed(5);
        for (int connection = 1; connection <= 3; connection++)
        {
            plan.at(connection, FaultDirection.UPSTREAM, 200_000, FaultKind.FLIP);
        }
        return plan.build();
    }
}
