package dev.replicator.cli;

import dev.replicator.agent.Agent;
import dev.replicator.agent.AgentConfig;
import dev.replicator.core.config.HostPort;
import dev.replicator.core.ext.FaultDirection;
import dev.replicator.core.ext.FaultKind;
import dev.replicator.core.ext.FaultPlan;
import dev.replicator.core.ext.FaultProxy;
import dev.replicator.core.ext.ScheduledFault;
import dev.replicator.core.test.Await;
import dev.replicator.core.volume.VolumeSpec;
import dev.replicator.core.wire.FrameDescriptor;
import dev.replicator.core.wire.Json;
import dev.replicator.core.wire.Messages;
import dev.replicator.target.Target;
import dev.replicator.target.TargetConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * One bit flipped in the length field of a frame the target sends to an idle agent. A frame's
 * length is read before its CRC32C can be checked; without the header check and the per-frame
 * deadline in {@code FrameChannel.read}, the agent's ack reader waited for a 1 MiB body that the
 * 32-byte heartbeat replies filled at 32 B/s: "connected" but deaf, a checkpoint timed out after
 * 60 s. Now the damaged frame is refused and the agent reconnects.
 */
class DamagedFrameLengthTest
{
    private static final String GROUP = "deaf";

    @TempDir
    Path dir;

    @Test
    void anIdleAgentNoticesADamagedFrameLengthWithinTenHeartbeats() throws Exception
    {
        final Path volume = dir.resolve("v.img");
        LoopbackCluster.sparseVolume(volume, 4 << 20);
        // The target sends an idle agent its WELCOME, then a 32-byte HEARTBEAT per heartbeat. Byte 2
        // of the third heartbeat's length, bit 4: a length of 32 becomes 32 + 1 MiB.
        final int welcome = FrameDescriptor.HEADER_LENGTH + Json.encode(new Messages.Welcome(GROUP, 1, 0)).length;
        final long lengthByte = welcome + 2L * FrameDescriptor.HEADER_LENGTH + FrameDescriptor.LENGTH_OFFSET + 2;
        final FaultPlan plan = FaultPlan.builder()
            .seed(1)
            .at(ScheduledFault.flip(1, FaultDirection.DOWNSTREAM, lengthByte, 4))
            .build();
        try (Target target = new Target(new TargetConfig(new HostPort("127.0.0.1", 0), dir.resolve("target"), 16,
            200, 200)).start();
             FaultProxy proxy = FaultProxy.start(new InetSocketAddress("127.0.0.1", target.port()), plan);
             Agent agent = new Agent(AgentConfig.builder()
                 .group(GROUP)
                 .target(new HostPort("127.0.0.1", proxy.port()))
                 .stateDir(dir.resolve("agent"))
                 .volume(new VolumeSpec("v", volume, 4 << 20, 4096))
                 .capture(AgentConfig.Capture.API)
                 .build()).start())
        {
            Await.until(() -> proxy.counters().faultsInjected(FaultKind.FLIP) == 1, Duration.ofSeconds(30),
                "the damaged heartbeat");
            // The agent's heartbeat interval is 1 s: ten of them, and a margin.
            Await.until(() -> proxy.counters().connections() >= 2 && agent.status().connected(),
                Duration.ofSeconds(15), () -> "the agent to notice and reconnect; proxy " + proxy.counters());
            final Cli.Result checkpoint = Cli.run("checkpoint", "--group", GROUP, "--target",
                "127.0.0.1:" + target.port());
            assertThat(checkpoint.exitCode()).as(checkpoint.err()).isZero();
        }
    }
}
