package dev.replicator.cli;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;

import static dev.replicator.cli.LoopbackCluster.GROUP;
import static dev.replicator.cli.LoopbackCluster.await;
import static dev.replicator.cli.LoopbackCluster.sha256;
import static dev.replicator.cli.LoopbackCluster.writeRandomRuns;
import static org.assertj.core.api.Assertions.assertThat;

/** The whole cycle with a target and an agent in their own JVMs on loopback. */
class ReplicationCycleTest
{
    @TempDir
    Path dir;

    @Test
    void shouldKeepEveryCheckpointImageByteIdenticalToTheSourceAtThatCheckpoint() throws Exception
    {
        final long seed = System.nanoTime();
        System.out.println("seed=" + seed);
        final Random random = new Random(seed);
        try (LoopbackCluster cluster = new LoopbackCluster(dir, 16))
        {
            writeRandomRuns(cluster.volume, cluster.volumeBlocks, 200, random);
            cluster.startTarget();
            cluster.startAgent();
            final Map<String, String> expected = new LinkedHashMap<>();
            for (int round = 0; round < 4; round++)
            {
                final String image = cluster.checkpoint("round-" + round);
                expected.put(image, sha256(cluster.volume));
                writeRandomRuns(cluster.volume, cluster.volumeBlocks, 30, random);
                if (round == 1)
                {
                    // Either side restarts: the shipper reconnects and resumes from the durable seq.
                    cluster.stopTarget();
                    cluster.startTarget();
                }
                if (round == 2)
                {
                    cluster.killAgentHard();
                    cluster.startAgent();
                }
            }
            final JsonNode images = cluster.json("images", "list", "--group", GROUP, "--json");
            assertThat(images.size()).isGreaterThanOrEqualTo(4);
            for (final Map.Entry<String, String> entry : expected.entrySet())
            {
                final Path out = dir.resolve("export-" + entry.getKey().replace('@', '-') + ".img");
                final Cli.Result export = cluster.admin("images", "export", "--image", entry.getKey(), "--to",
                    out.toString());
                assertThat(export.exitCode()).as(export.err()).isZero();
                assertThat(sha256(out)).as("image %s (seed %d)", entry.getKey(), seed).isEqualTo(entry.getValue());
            }
            final String first = expected.keySet().iterator().next();
            final Path firstExport = dir.resolve("export-" + first.replace('@', '-') + ".img");
            assertThat(cluster.admin("verify", "--image", first, "--file", firstExport.toString()).exitCode()).isZero();
            assertThat(cluster.admin("verify", "--image", first, "--file", cluster.volume.toString()).exitCode())
                .as("the source has changed since the first image").isEqualTo(1);
        }
    }

    @Test
    void failbackShipsOnlyTheReverseDeltaAndLeavesPrimaryIdenticalToRecovery() throws Exception
    {
        final long seed = System.nanoTime();
        System.out.println("seed=" + seed);
        final Random random = new Random(seed);
        try (LoopbackCluster cluster = new LoopbackCluster(dir, 16))
        {
            writeRandomRuns(cluster.volume, cluster.volumeBlocks, 150, random);
            cluster.startTarget();
            cluster.startAgent();
            final String older = cluster.checkpoint("older");
            final Path primaryAtOlder = dir.resolve("primary-at-older.img");
            Files.copy(cluster.volume, primaryAtOlder, StandardCopyOption.REPLACE_EXISTING);

            final Set<Long> receivedAfterImage = writeRandomRuns(cluster.volume, cluster.volumeBlocks, 20, random);
            cluster.checkpoint("newer");

            // The target goes away; the agent journals writes it cannot ship; then the disaster.
            cluster.stopTarget();
            final long acked = cluster.agentStatus().path("ackedSeq").asLong();
            final long scans = cluster.agentStatus().path("scans").asLong();
            final Set<Long> unshipped = writeRandomRuns(cluster.volume, cluster.volumeBlocks, 10, random);
            await(() -> statusLong(cluster, "scans") >= scans + 2 && statusLong(cluster, "lastJournaledSeq") > acked,
                "the agent to journal the unshipped writes");
            cluster.killAgentHard();

            cluster.startTarget();
            final Path recovery = dir.resolve("recovery.img");
            final Cli.Result failover = cluster.admin("failover", "--group", GROUP, "--image", older, "--to",
                recovery.toString());
            assertThat(failover.exitCode()).as(failover.err()).isZero();
            assertThat(sha256(recovery)).isEqualTo(sha256(primaryAtOlder));
            final JsonNode afterFailover = cluster.json("status", "--json").get("groups").get(0);
            assertThat(afterFailover.get("role").asText()).isEqualTo("FAILED_OVER");

            final Set<Long> writtenOnRecovery = writeRandomRuns(recovery, cluster.volumeBlocks, 12, random);

            // The old primary comes back: refused by epoch, kept for failback.
            cluster.startAgent();
            await(() -> demotedReported(cluster), "the demoted primary's failback report");
            cluster.agent().awaitLog("demoted", java.time.Duration.ofSeconds(30));

            final Set<Long> expected = new TreeSet<>(receivedAfterImage);
            expected.addAll(unshipped);
            expected.addAll(writtenOnRecovery);

            final JsonNode plan = cluster.json("failback", "--group", GROUP, "--plan", "--json");
            assertThat(plan.get("mode").asText()).isEqualTo("journal");
            assertThat(plan.get("blocks").asLong()).isEqualTo(expected.size());
            final JsonNode volumePlan = plan.get("volumes").get(0);
            assertThat(volumePlan.get("writtenOnRecovery").asLong()).isEqualTo(writtenOnRecovery.size());
            assertThat(volumePlan.get("receivedAfterImage").asLong()).isEqualTo(receivedAfterImage.size());
            assertThat(volumePlan.get("unshippedOnPrimary").asLong()).isEqualTo(unshipped.size());

            final JsonNode result = cluster.json("failback", "--group", GROUP, "--execute", "--json");
            assertThat(result.get("blocksShipped").asLong()).as("seed %d", seed).isEqualTo(expected.size());
            assertThat(result.get("blocksShipped").asLong()).isLessThan(cluster.volumeBlocks / 10);
            assertThat(sha256(cluster.volume)).as("primary after failback").isEqualTo(sha256(recovery));

            // Forward replication resumes from the common state.
            final JsonNode resumed = cluster.json("status", "--json").get("groups").get(0);
            assertThat(resumed.get("role").asText()).isEqualTo("REPLICATING");
            assertThat(resumed.get("epoch").asLong()).isEqualTo(afterFailover.get("epoch").asLong() + 1);
            writeRandomRuns(cluster.volume, cluster.volumeBlocks, 5, random);
            final String after = cluster.checkpoint("after-failback");
            final String expectedSha = sha256(cluster.volume);
            final Path export = dir.resolve("after.img");
            assertThat(cluster.admin("images", "export", "--image", after, "--to", export.toString()).exitCode())
                .isZero();
            assertThat(sha256(export)).isEqualTo(expectedSha);
        }
    }

    private static long statusLong(final LoopbackCluster cluster, final String field)
    {
        try
        {
            return cluster.agentStatus().path(field).asLong();
        }
        catch (final java.io.IOException ex)
        {
            return -1;
        }
    }

    private static boolean demotedReported(final LoopbackCluster cluster)
    {
        try
        {
            return cluster.json("status", "--json").get("groups").get(0).get("failbackReportReceived").asBoolean();
        }
        catch (final java.io.IOException | AssertionError ex)
        {
            return false;
        }
    }
}
