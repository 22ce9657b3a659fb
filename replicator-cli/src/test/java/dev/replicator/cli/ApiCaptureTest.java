package dev.replicator.cli;

import dev.replicator.agent.Agent;
import dev.replicator.agent.AgentConfig;
import dev.replicator.core.config.HostPort;
import dev.replicator.core.volume.VolumeSpec;
import dev.replicator.target.Target;
import dev.replicator.target.TargetConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static dev.replicator.cli.LoopbackCluster.sha256;
import static org.assertj.core.api.Assertions.assertThat;

/** Capture through the embedding API: unaligned writes, in order, across two volumes of one group. */
class ApiCaptureTest
{
    @TempDir
    Path dir;

    @Test
    void writesThroughTheApiReplicateInOrderAcrossVolumes() throws Exception
    {
        final Path data = dir.resolve("data.img");
        final Path log = dir.resolve("log.img");
        for (final Path p : List.of(data, log))
        {
            try (RandomAccessFile file = new RandomAccessFile(p.toFile(), "rw"))
            {
                file.setLength(4 << 20);
            }
        }
        try (Target target = new Target(new TargetConfig(new HostPort("127.0.0.1", 0), dir.resolve("target"), 16,
            200, 200)).start())
        {
            final AgentConfig config = AgentConfig.builder()
                .group("api")
                .target(new HostPort("127.0.0.1", target.port()))
                .stateDir(dir.resolve("agent"))
                .volume(new VolumeSpec("data", data, 4 << 20, 4096))
                .volume(new VolumeSpec("log", log, 4 << 20, 4096))
                .capture(AgentConfig.Capture.API)
                .build();
            final Random random = new Random(11);
            final List<String> expectedData = new ArrayList<>();
            final List<String> expectedLog = new ArrayList<>();
            final List<Long> checkpoints = new ArrayList<>();
            try (Agent agent = new Agent(config).start())
            {
                for (int round = 0; round < 3; round++)
                {
                    for (int i = 0; i < 40; i++)
                    {
                        // Unaligned offsets and lengths: the writer reads the rest of each block first.
                        final byte[] bytes = new byte[1 + random.nextInt(20_000)];
                        random.nextBytes(bytes);
                        final long offset = random.nextInt((4 << 20) - bytes.length);
                        agent.writer().write(i % 2 == 0 ? "data" : "log", offset, ByteBuffer.wrap(bytes));
                    }
                    final long seq = agent.checkpoint("round-" + round);
                    checkpoints.add(seq);
                    expectedData.add(sha256(data));
                    expectedLog.add(sha256(log));
                }
                LoopbackCluster.await(() -> target.groups().get("api") != null &&
                    target.groups().get("api").store().lastSeq() >= checkpoints.get(2), "the last checkpoint");
            }
            for (int round = 0; round < 3; round++)
            {
                final Path out = dir.resolve("export-" + round);
                final Cli.Result result = Cli.run("images", "export", "--image", "api@" + checkpoints.get(round),
                    "--to", out.toString(), "--target", "127.0.0.1:" + target.port());
                assertThat(result.exitCode()).as(result.err()).isZero();
                assertThat(sha256(out.resolve("data.img"))).isEqualTo(expectedData.get(round));
                assertThat(sha256(out.resolve("log.img"))).isEqualTo(expectedLog.get(round));
            }
            assertThat(Files.exists(dir.resolve("agent").resolve("journal"))).isTrue();
        }
    }
}
