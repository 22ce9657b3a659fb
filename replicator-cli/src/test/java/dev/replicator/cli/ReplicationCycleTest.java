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
    @TempDir(cleanup = org.junit.jupiter.api.io.CleanupMode.ON_SUCCESS)
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

    @Test
    void aPrimaryThatLostItsJournalFailsBackByFingerprintComparison() throws Exception
    {
        final long seed = System.nanoTime();
        System.out.println("seed=" + seed);
        final Random random = new Random(seed);
        try (LoopbackCluster cluster = new LoopbackCluster(dir, 8))
        {
            writeRandomRuns(cluster.volume, cluster.volumeBlocks, 80, random);
            cluster.startTarget();
            cluster.startAgent();
            final String first = cluster.checkpoint("first");
            final String primaryAtFirst = sha256(cluster.volume);
            writeRandomRuns(cluster.volume, cluster.volumeBlocks, 15, random);
            cluster.checkpoint("second");
            String firstTime = null;
            for (final JsonNode image : cluster.json("images", "list", "--group", GROUP, "--json"))
            {
                if (image.get("id").asText().equals(first))
                {
                    firstTime = image.get("time").asText();
                }
            }

            // The disaster takes the primary's journal with it (a replaced disk, lost state).
            cluster.killAgentHard();
            deleteTree(dir.resolve("agent-state"));

            final Path recovery = dir.resolve("recovery.img");
            final Cli.Result failover = cluster.admin("failover", "--group", GROUP, "--at", firstTime, "--to",
                recovery.toString());
            assertThat(failover.exitCode()).as(failover.err()).isZero();
            assertThat(failover.out()).contains(first);
            assertThat(sha256(recovery)).isEqualTo(primaryAtFirst);
            writeRandomRuns(recovery, cluster.volumeBlocks, 10, random);

            // Writes on the recovery volume survive a target restart.
            cluster.stopTarget();
            cluster.startTarget();

            cluster.startAgent();
            await(() -> demotedReported(cluster), "the demoted primary's failback report");
            final long differing = differingBlocks(cluster.volume, recovery);
            final JsonNode plan = cluster.json("failback", "--group", GROUP, "--plan", "--json");
            assertThat(plan.get("mode").asText()).isEqualTo("fingerprints");
            assertThat(plan.get("volumes").get(0).get("differing").asLong()).isEqualTo(differing);
            final JsonNode result = cluster.json("failback", "--group", GROUP, "--execute", "--json");
            assertThat(result.get("blocksShipped").asLong()).isEqualTo(differing);
            assertThat(sha256(cluster.volume)).isEqualTo(sha256(recovery));

            writeRandomRuns(cluster.volume, cluster.volumeBlocks, 3, random);
            final String after = cluster.checkpoint("resumed");
            assertThat(cluster.admin("verify", "--image", after, "--file", cluster.volume.toString()).exitCode())
                .isZero();
        }
    }

    private static long differingBlocks(final Path a, final Path b) throws java.io.IOException
    {
        final byte[] x = Files.readAllBytes(a);
        final byte[] y = Files.readAllBytes(b);
        long count = 0;
        for (int block = 0; block < x.length / LoopbackCluster.BLOCK; block++)
        {
            final int from = block * LoopbackCluster.BLOCK;
            if (java.util.Arrays.mismatch(x, from, from + LoopbackCluster.BLOCK, y, from,
                from + LoopbackCluster.BLOCK) != -1)
            {
                count++;
            }
        }
        return count;
    }

    private static void deleteTree(final Path root) throws java.io.IOException
    {
        try (java.util.stream.Stream<Path> walk = Files.walk(root))
        {
            for (final Path path : walk.sorted(java.util.Comparator.reverseOrder()).toList())
            {
                Files.delete(path);
            }
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
