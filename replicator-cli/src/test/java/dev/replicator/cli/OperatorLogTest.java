package dev.replicator.cli;

import dev.replicator.core.test.ChildJvm;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static dev.replicator.cli.LoopbackCluster.GROUP;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * What an admin reads in the logs of expected trouble: an unreachable target and a refused agent
 * each give one line naming group, epoch and seq, and no stack trace, in the agent's log and the
 * target's.
 */
class OperatorLogTest
{
    private static final Duration WAIT = Duration.ofSeconds(60);

    @TempDir(cleanup = org.junit.jupiter.api.io.CleanupMode.ON_SUCCESS)
    Path dir;

    @Test
    void unreachableTargetAndRefusedAgentAreOneLineEachWithoutStackTraces() throws Exception
    {
        try (LoopbackCluster cluster = new LoopbackCluster(dir, 4))
        {
            final ChildJvm agent = cluster.startAgent();
            agent.awaitLog("unreachable", WAIT);
            cluster.startTarget();
            agent.awaitLog("connected to target", WAIT);

            // A second agent for the same group with a volume of another size: refused for good.
            final Path other = dir.resolve("other.img");
            try (RandomAccessFile file = new RandomAccessFile(other.toFile(), "rw"))
            {
                file.setLength(8L << 20);
            }
            Files.writeString(dir.resolve("other.conf"), cluster.agentConfig(other, "other-state"));
            try (ChildJvm refused = ChildJvm.start(Replicator.class, dir.resolve("logs-other"),
                "agent", "run", "--config", dir.resolve("other.conf").toString()))
            {
                assertThat(refused.awaitExit(WAIT)).as(refused.report()).isEqualTo(2);
                assertThat(refused.stderr()).as(refused.report())
                    .containsPattern("ERROR .*group=" + GROUP + " epoch=1 seq=\\d+ the target refused this agent " +
                        "\\(VOLUME_MISMATCH\\)")
                    .doesNotContain("\tat ", "Exception:");
            }
            cluster.targetProcess().awaitLog("refused agent", WAIT);

            final String agentLog = agent.stderr();
            assertThat(agentLog).containsPattern("WARN .*group=" + GROUP + " epoch=0 seq=0 target 127\\.0\\.0\\.1:\\d+ " +
                "unreachable");
            assertThat(agentLog.split("unreachable", -1)).as("said once, not at every retry").hasSize(2);
            assertThat(agentLog).doesNotContain("\tat ");
            assertThat(cluster.targetProcess().stderr()).containsPattern("WARN .*group=" + GROUP +
                " epoch=1 refused agent test-primary: volume size mismatch").doesNotContain("\tat ");
        }
    }
}
