package dev.replicator.cli;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.stream.Stream;

import static dev.replicator.cli.LoopbackCluster.GROUP;
import static org.assertj.core.api.Assertions.assertThat;

/** A mistake gets one clear sentence, exit code 2 (1 for runtime failures), and changes nothing. */
class BadInputTest
{
    @TempDir
    Path dir;

    @Test
    void malformedConfigIsOneSentenceAndExitTwo() throws IOException
    {
        final Path config = dir.resolve("agent.conf");
        Files.writeString(config, "group = g\ntarget 127.0.0.1:1\n");
        final Cli.Result result = Cli.run("agent", "run", "--config", config.toString());
        assertThat(result.exitCode()).isEqualTo(2);
        assertThat(result.err().strip()).isEqualTo("replicator: " + config + " line 2: expected 'key = value', " +
            "found 'target 127.0.0.1:1'");
        assertThat(Files.list(dir).count()).isEqualTo(1);
    }

    @Test
    void unreachableTargetIsOneSentenceAndExitOne() throws IOException
    {
        final int port;
        try (ServerSocket socket = new ServerSocket(0))
        {
            port = socket.getLocalPort();
        }
        final Cli.Result result = Cli.run("status", "--target", "127.0.0.1:" + port);
        assertThat(result.exitCode()).isEqualTo(1);
        assertThat(result.err()).startsWith("replicator: cannot reach the target at 127.0.0.1:" + port);
        assertThat(result.err().strip().lines().count()).isEqualTo(1);
    }

    @Test
    void aTreeVolumeThatIsNotADirectoryOrAnUnknownKindIsRefusedBeforeAnythingStarts() throws IOException
    {
        Files.write(dir.resolve("plain-file"), new byte[10]);
        final Path config = dir.resolve("agent.conf");
        Files.writeString(config, "group = g\ntarget = 127.0.0.1:1\nvolume.share.kind = tree\nvolume.share.path = plain-file\n");
        final Cli.Result notDir = Cli.run("agent", "run", "--config", config.toString());
        assertThat(notDir.exitCode()).isEqualTo(2);
        assertThat(notDir.err()).contains("'volume.share.path'").contains("is not a directory");
        Files.writeString(config, "group = g\ntarget = 127.0.0.1:1\nvolume.share.kind = folder\nvolume.share.path = plain-file\n");
        final Cli.Result badKind = Cli.run("agent", "run", "--config", config.toString());
        assertThat(badKind.exitCode()).isEqualTo(2);
        assertThat(badKind.err()).contains("'volume.share.kind'").contains("must be block or tree");
        assertThat(Files.exists(dir.resolve("state"))).isFalse();
    }

    @Test
    void configuredVolumeSizeMismatchIsRefusedBeforeAnythingStarts() throws IOException
    {
        final Path volume = dir.resolve("v.img");
        Files.write(volume, new byte[8192]);
        final Path config = dir.resolve("agent.conf");
        Files.writeString(config, "group = g\ntarget = 127.0.0.1:1\nvolume.v.path = v.img\nvolume.v.size = 1m\n");
        final Cli.Result result = Cli.run("agent", "run", "--config", config.toString());
        assertThat(result.exitCode()).isEqualTo(2);
        assertThat(result.err()).contains("'volume.v.size': configured as 1048576 bytes but").contains("has 8192");
        assertThat(Files.exists(dir.resolve("state"))).isFalse();
    }

    @Test
    void adminMistakesAgainstALiveTargetChangeNothing() throws Exception
    {
        try (LoopbackCluster cluster = new LoopbackCluster(dir, 4))
        {
            LoopbackCluster.writeRandomRuns(cluster.volume, cluster.volumeBlocks, 20, new Random(7));
            cluster.startTarget();
            cluster.startAgent();
            final String image = cluster.checkpoint("only");
            final JsonNode before = cluster.json("status", "--json").get("groups").get(0);

            final Path out = dir.resolve("out.img");
            final Cli.Result unknown = cluster.admin("images", "export", "--image", GROUP + "@999999", "--to",
                out.toString());
            assertThat(unknown.exitCode()).isEqualTo(2);
            assertThat(unknown.err()).contains("no image " + GROUP + "@999999");
            assertThat(Files.exists(out)).isFalse();

            final Cli.Result malformedId = cluster.admin("failover", "--group", GROUP, "--image", "nonsense",
                "--to", out.toString());
            assertThat(malformedId.exitCode()).isEqualTo(2);
            assertThat(malformedId.err()).contains("is not GROUP@SEQ");

            final Cli.Result tooEarly = cluster.admin("failover", "--group", GROUP, "--at", "2000-01-01T00:00:00Z",
                "--to", out.toString());
            assertThat(tooEarly.exitCode()).isEqualTo(2);
            assertThat(tooEarly.err()).contains("is before the oldest retained image");
            assertThat(Files.exists(out)).isFalse();

            final Cli.Result badTime = cluster.admin("failover", "--group", GROUP, "--at", "yesterday-ish",
                "--to", out.toString());
            assertThat(badTime.exitCode()).isEqualTo(2);

            final Cli.Result unknownGroup = cluster.admin("failback", "--group", "nope", "--plan");
            assertThat(unknownGroup.exitCode()).isEqualTo(2);
            assertThat(unknownGroup.err()).contains("no group 'nope'");

            final Cli.Result notFailedOver = cluster.admin("failback", "--group", GROUP, "--plan");
            assertThat(notFailedOver.exitCode()).isEqualTo(2);
            assertThat(notFailedOver.err()).contains("is not failed over");

            final Path existing = dir.resolve("existing.img");
            Files.writeString(existing, "an admin's precious file");
            final Cli.Result overwrite = cluster.admin("images", "export", "--image", image, "--to", existing.toString());
            assertThat(overwrite.exitCode()).isEqualTo(2);
            assertThat(Files.readString(existing)).isEqualTo("an admin's precious file");

            final JsonNode after = cluster.json("status", "--json").get("groups").get(0);
            assertThat(after.get("epoch")).isEqualTo(before.get("epoch"));
            assertThat(after.get("role")).isEqualTo(before.get("role"));
            assertThat(after.get("images")).isEqualTo(before.get("images"));

            // A second primary whose volume has another size is refused by the target with exit code 2.
            final Path other = dir.resolve("other.img");
            Files.write(other, new byte[8192]);
            final Path otherConfig = dir.resolve("other.conf");
            Files.writeString(otherConfig, cluster.agentConfig(other, "other-state"));
            final Cli.Result mismatch = Cli.run("agent", "run", "--config", otherConfig.toString());
            assertThat(mismatch.exitCode()).isEqualTo(2);
            assertThat(mismatch.err()).contains("volume size mismatch");
            try (Stream<Path> files = Files.list(dir.resolve("target-data").resolve("groups").resolve(GROUP)))
            {
                assertThat(files.map(p -> p.getFileName().toString())).doesNotContain("failover");
            }

            // A DR test copies the image and leaves replication alone.
            final Path drill = dir.resolve("drill.img");
            final Cli.Result test = cluster.admin("failover", "--group", GROUP, "--latest", "--test", "--to",
                drill.toString());
            assertThat(test.exitCode()).as(test.err()).isZero();
            assertThat(test.out()).contains("replication untouched");
            assertThat(LoopbackCluster.sha256(drill)).isEqualTo(LoopbackCluster.sha256(cluster.volume));
            final JsonNode afterTest = cluster.json("status", "--json").get("groups").get(0);
            assertThat(afterTest.get("role").asText()).isEqualTo("REPLICATING");
            assertThat(afterTest.get("epoch")).isEqualTo(before.get("epoch"));

            // And the right input works: --latest fails over to the newest durable data.
            final Cli.Result latest = cluster.admin("failover", "--group", GROUP, "--latest", "--to", out.toString());
            assertThat(latest.exitCode()).as(latest.err()).isZero();
            assertThat(LoopbackCluster.sha256(out)).isEqualTo(LoopbackCluster.sha256(cluster.volume));
            final Cli.Result again = cluster.admin("failover", "--group", GROUP, "--latest", "--to",
                dir.resolve("again.img").toString());
            assertThat(again.exitCode()).isEqualTo(2);
            assertThat(again.err()).contains("already failed over");
        }
    }
}
