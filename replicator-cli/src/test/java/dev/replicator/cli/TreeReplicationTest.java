package dev.replicator.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.replicator.core.tree.TreeDigest;
import dev.replicator.core.tree.TreeWorkload;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

import static dev.replicator.cli.LoopbackCluster.GROUP;
import static org.assertj.core.api.Assertions.assertThat;

/** A tree volume end to end: agent and target in their own JVMs, images exported through the CLI. */
class TreeReplicationTest
{
    @TempDir(cleanup = org.junit.jupiter.api.io.CleanupMode.ON_SUCCESS)
    Path dir;

    @Test
    void everyTreeCheckpointExportsAsTheSourceWasThen() throws Exception
    {
        final long seed = Long.getLong("fuzz.seed", System.nanoTime());
        System.out.println("TreeReplicationTest seed=" + seed + " (replay: -Dfuzz.seed=" + seed + ")");
        final Random random = new Random(seed);
        try (LoopbackCluster cluster = new LoopbackCluster(dir, 1))
        {
            final Path share = Files.createDirectories(dir.resolve("share"));
            cluster.useTreeVolume(share, "volume.share.block.size = 4096");
            final TreeWorkload workload = new TreeWorkload(share, random);
            workload.run(40);
            cluster.startTarget();
            cluster.startAgent();
            final Map<String, TreeMap<String, String>> expected = new LinkedHashMap<>();
            for (int round = 0; round < 5; round++)
            {
                final String image = cluster.checkpoint("round-" + round);
                expected.put(image, TreeDigest.of(share));
                workload.run(15);
                if (round == 1)
                {
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
            assertThat(images.size()).isGreaterThanOrEqualTo(5);
            for (final Map.Entry<String, TreeMap<String, String>> entry : expected.entrySet())
            {
                final Path out = dir.resolve("export-" + entry.getKey().replace('@', '-'));
                final Cli.Result export = cluster.admin("images", "export", "--image", entry.getKey(), "--to", out.toString());
                assertThat(export.exitCode()).as(export.err()).isZero();
                assertThat(TreeDigest.of(out)).as("image %s (seed %d)", entry.getKey(), seed).isEqualTo(entry.getValue());
            }
            final String first = expected.keySet().iterator().next();
            final Path drill = dir.resolve("drill");
            final Cli.Result test = cluster.admin("failover", "--group", GROUP, "--image", first, "--test", "--to", drill.toString());
            assertThat(test.exitCode()).as(test.err()).isZero();
            assertThat(TreeDigest.of(drill)).isEqualTo(expected.get(first));
        }
    }

    @Test
    void aGroupOfADiskAndATreeKeepsOneImageOfBoth() throws Exception
    {
        final Random random = new Random(Long.getLong("fuzz.seed", System.nanoTime()));
        try (LoopbackCluster cluster = new LoopbackCluster(dir, 4))
        {
            final Path share = Files.createDirectories(dir.resolve("share"));
            Files.writeString(dir.resolve("agent.conf"), cluster.agentConfig(cluster.volume, "agent-state") +
                "volume.share.kind = tree\nvolume.share.path = " + share + "\n");
            final TreeWorkload workload = new TreeWorkload(share, random);
            workload.run(20);
            LoopbackCluster.writeRandomRuns(cluster.volume, cluster.volumeBlocks, 20, random);
            cluster.startTarget();
            cluster.startAgent();
            final String image = cluster.checkpoint("both");
            final TreeMap<String, String> tree = TreeDigest.of(share);
            final String disk = LoopbackCluster.sha256(cluster.volume);
            workload.run(10);
            LoopbackCluster.writeRandomRuns(cluster.volume, cluster.volumeBlocks, 10, random);
            cluster.checkpoint("later");
            final Path out = dir.resolve("export");
            final Cli.Result export = cluster.admin("images", "export", "--image", image, "--to", out.toString());
            assertThat(export.exitCode()).as(export.err()).isZero();
            assertThat(TreeDigest.of(out.resolve("share"))).isEqualTo(tree);
            assertThat(LoopbackCluster.sha256(out.resolve("disk0.img"))).isEqualTo(disk);
            final Cli.Result real = cluster.admin("failover", "--group", GROUP, "--image", image, "--to",
                dir.resolve("real").toString());
            assertThat(real.exitCode()).as("a group of trees and disks has no combined failback: refused").isEqualTo(2);
            assertThat(real.err()).contains("--test");
            assertThat(dir.resolve("real")).doesNotExist();
        }
    }
}
