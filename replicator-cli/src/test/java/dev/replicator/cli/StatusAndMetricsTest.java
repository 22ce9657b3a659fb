package dev.replicator.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.replicator.agent.Agent;
import dev.replicator.core.config.HostPort;
import dev.replicator.core.wire.Json;
import dev.replicator.target.Target;
import dev.replicator.target.TargetConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

import static dev.replicator.cli.LoopbackCluster.BLOCK;
import static dev.replicator.cli.LoopbackCluster.await;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code replicator status} and the Prometheus endpoints of an in-process target and agent: the
 * metrics are scraped over HTTP, parsed from the text format, and must agree with status; the
 * RPO lag is 0 once everything is durable and grows while the target is gone.
 */
class StatusAndMetricsTest
{
    private static final String GROUP = "m";
    private static final int WRITES = 20;
    private static final int BLOCKS_PER_WRITE = 4;
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @TempDir(cleanup = org.junit.jupiter.api.io.CleanupMode.ON_SUCCESS)
    Path dir;

    @Test
    void metricsScrapedOverHttpAgreeWithStatusAndLagGrowsWhileTheTargetIsGone() throws Exception
    {
        final long volumeBytes = 4L << 20;
        final Path volume = LoopbackCluster.sparseVolume(dir.resolve("v.img"), volumeBytes);
        final Target target = new Target(new TargetConfig(new HostPort("127.0.0.1", 0), dir.resolve("target"), 16,
            200, 200, new HostPort("127.0.0.1", 0), java.util.Map.of(),
            dev.replicator.core.security.TlsSettings.insecure())).start();
        try (Agent agent = new Agent(LoopbackCluster.apiAgent(GROUP, target.port(), dir.resolve("agent"), volume,
            volumeBytes).metricsListen(new HostPort("127.0.0.1", 0)).build()).start())
        {
            final String address = "127.0.0.1:" + target.port();
            final Random random = new Random(7);
            for (int i = 0; i < WRITES; i++)
            {
                final byte[] bytes = new byte[BLOCKS_PER_WRITE * BLOCK];
                random.nextBytes(bytes);
                agent.writer().write("v", (long)i * 8 * BLOCK, ByteBuffer.wrap(bytes));
            }
            final long checkpointSeq = agent.checkpoint("metrics");
            await(() -> agent.status().ackedSeq() >= checkpointSeq, "the checkpoint to be durable at the target");
            // The agent reports every heartbeat interval (200 ms): wait for a report made after the ack.
            final JsonNode[] group = new JsonNode[1];
            await(() -> (group[0] = groupStatus(address)).path("rpoLagMs").asLong(-1) == 0 &&
                group[0].path("agentLastJournaledSeq").asLong() == checkpointSeq, "a report with everything durable");

            final JsonNode g = group[0];
            assertThat(g.path("role").asText()).isEqualTo("REPLICATING");
            assertThat(g.path("connection").asText()).isEqualTo("connected");
            assertThat(g.path("durableSeq").asLong()).isEqualTo(checkpointSeq);
            assertThat(g.path("latestImage").asText()).isEqualTo(GROUP + "@" + checkpointSeq);
            assertThat(g.path("bitmapMode").asBoolean()).isFalse();
            assertThat(g.path("backlogBytes").asLong()).isZero();
            assertThat(g.path("journalLimitBytes").asLong()).isPositive();
            final long written = (long)WRITES * BLOCKS_PER_WRITE * BLOCK;
            assertThat(g.path("appliedBytes").asLong()).isGreaterThanOrEqualTo(written);
            assertThat(g.path("volumes").get(0).path("appliedBytes").asLong()).isEqualTo(g.path("appliedBytes").asLong());

            final Map<String, Double> targetMetrics = scrape(target.metricsPort());
            final String label = "{group=\"" + GROUP + "\"}";
            assertThat(targetMetrics.get("replicator_group_durable_seq" + label)).isEqualTo((double)checkpointSeq);
            assertThat(targetMetrics.get("replicator_group_rpo_lag_seconds" + label)).isEqualTo(0.0);
            assertThat(targetMetrics.get("replicator_group_primary_connected" + label)).isEqualTo(1.0);
            assertThat(targetMetrics.get("replicator_group_applied_bytes_total" + label))
                .isEqualTo((double)g.path("appliedBytes").asLong());
            assertThat(targetMetrics.get("replicator_group_epoch" + label)).isEqualTo((double)g.path("epoch").asLong());
            assertThat(targetMetrics.get("replicator_group_checkpoints" + label)).isEqualTo(1.0);
            assertThat(targetMetrics.get("replicator_group_apply_seconds_count" + label))
                .isEqualTo((double)g.path("appliedFrames").asLong()).isPositive();
            assertThat(targetMetrics.get("replicator_target_corrupt_frames_total")).isEqualTo(0.0);
            assertThat(targetMetrics.get("replicator_auto_failover_enabled" + label)).isEqualTo(0.0);
            assertThat(targetMetrics.get("replicator_auto_transitions_total{group=\"" + GROUP + "\",kind=\"FAILOVER\"}"))
                .isEqualTo(0.0);

            final Map<String, Double> agentMetrics = scrape(agent.metricsPort());
            assertThat(agentMetrics.get("replicator_agent_acked_seq" + label)).isEqualTo((double)checkpointSeq);
            assertThat(agentMetrics.get("replicator_agent_rpo_lag_seconds" + label)).isEqualTo(0.0);
            assertThat(agentMetrics.get("replicator_agent_connected" + label)).isEqualTo(1.0);
            assertThat(agentMetrics.get("replicator_agent_journal_append_seconds_count" + label))
                .isEqualTo((double)WRITES);
            assertThat(agentMetrics.get("replicator_agent_ship_round_trip_seconds_count" + label)).isPositive();
            assertThat(agentMetrics.get("replicator_agent_sent_bytes_total" + label)).isPositive();

            // The shipped alert rules and dashboard name only metrics that exist (those of automatic
            // failover exist only for a group with a policy: AutoFailoverTest checks them).
            final java.util.Set<String> exported = new java.util.TreeSet<>();
            exported.addAll(targetMetrics.keySet());
            exported.addAll(agentMetrics.keySet());
            assertMonitoringNamesExported(exported, name -> !name.startsWith("replicator_auto_"));

            final Cli.Result watch = Cli.run("status", "--watch", "--count", "2", "--interval", "0.1",
                "--target", address);
            assertThat(watch.exitCode()).as(watch.err()).isZero();
            assertThat(watch.out().split("replicator status of ", -1)).hasSize(3);
            assertThat(watch.out()).contains("RPO LAG", "REPLICATING", "connected", GROUP + "@" + checkpointSeq);

            // A failover or failback holds the group lock for minutes: status and scrapes must not wait.
            target.groups().get(GROUP).lock().lock();
            try
            {
                assertThat(groupStatus(address).path("durableSeq").asLong()).isEqualTo(checkpointSeq);
                assertThat(scrape(target.metricsPort()).get("replicator_group_durable_seq" + label))
                    .isEqualTo((double)checkpointSeq);
            }
            finally
            {
                target.groups().get(GROUP).lock().unlock();
            }

            // The target goes away: what the agent writes now is not durable anywhere else.
            target.close();
            for (int i = 0; i < 5; i++)
            {
                agent.writer().write("v", (long)i * BLOCK, ByteBuffer.wrap(new byte[BLOCK]).put(0, (byte)(i + 1)));
            }
            final double[] lag = new double[1];
            await(() -> (lag[0] = scrapeUnchecked(agent.metricsPort()).getOrDefault(
                "replicator_agent_rpo_lag_seconds" + label, 0.0)) > 0, "the agent's RPO lag to show the unshipped writes");
            final double firstLag = lag[0];
            await(() -> scrapeUnchecked(agent.metricsPort()).get("replicator_agent_rpo_lag_seconds" + label) > firstLag,
                "the RPO lag to grow while the target is gone");
            final Map<String, Double> outage = scrapeUnchecked(agent.metricsPort());
            assertThat(outage.get("replicator_agent_connected" + label)).isEqualTo(0.0);
            assertThat(outage.get("replicator_agent_unshipped_bytes" + label)).isGreaterThanOrEqualTo(5.0 * BLOCK);
        }
        finally
        {
            target.close();
        }
    }

    @Test
    void statusWithoutTargetExitsOneAndBadIntervalExitsTwo() throws Exception
    {
        final int port;
        try (java.net.ServerSocket socket = new java.net.ServerSocket(0))
        {
            port = socket.getLocalPort();
        }
        assertThat(Cli.run("status", "--target", "127.0.0.1:" + port).exitCode()).isEqualTo(1);
        final Cli.Result bad = Cli.run("status", "--watch", "--interval", "0", "--target", "127.0.0.1:" + port);
        assertThat(bad.exitCode()).isEqualTo(2);
        assertThat(bad.err()).contains("--interval");
    }

    private static JsonNode groupStatus(final String address)
    {
        final Cli.Result result = Cli.run("status", "--json", "--target", address);
        try
        {
            final JsonNode groups = Json.mapper().readTree(result.out()).path("groups");
            return groups.size() == 0 ? Json.mapper().createObjectNode() : groups.get(0);
        }
        catch (final IOException ex)
        {
            throw new AssertionError("status --json is not JSON: " + result.out() + result.err(), ex);
        }
    }

    private static Map<String, Double> scrapeUnchecked(final int port)
    {
        try
        {
            return scrape(port);
        }
        catch (final IOException | InterruptedException ex)
        {
            throw new AssertionError("scrape of port " + port + " failed", ex);
        }
    }

    /**
     * GET /metrics and parse the Prometheus text format: one {@code series value} per line (series
     * as printed, with its labels), comments skipped.
     */
    /**
     * Every metric that docs/monitoring's alert rules and dashboard name, among those {@code which}
     * selects, is in {@code series} (scraped series, labels and all).
     */
    static void assertMonitoringNamesExported(final java.util.Set<String> series,
        final java.util.function.Predicate<String> which) throws IOException
    {
        final java.util.Set<String> exported = new java.util.TreeSet<>();
        for (final String one : series)
        {
            exported.add(one.replaceAll("\\{.*", ""));
        }
        for (final String file : new String[] {"prometheus-alerts.yml", "grafana-dashboard.json"})
        {
            final String text = java.nio.file.Files.readString(Path.of("..", "docs", "monitoring", file));
            final java.util.regex.Matcher names = java.util.regex.Pattern.compile("replicator_[a-z_]+").matcher(text);
            int count = 0;
            while (names.find())
            {
                if (which.test(names.group()))
                {
                    assertThat(exported).as("%s names %s", file, names.group()).contains(names.group());
                    count++;
                }
            }
            assertThat(count).as("metrics named in %s", file).isGreaterThan(1);
        }
    }

    static Map<String, Double> scrape(final int port) throws IOException, InterruptedException
    {
        final HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(
            URI.create("http://127.0.0.1:" + port + "/metrics")).timeout(Duration.ofSeconds(10)).build(),
            HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("Content-Type").orElse("")).startsWith("text/plain");
        final Map<String, Double> series = new LinkedHashMap<>();
        for (final String line : response.body().split("\n"))
        {
            if (line.isBlank() || line.startsWith("#"))
            {
                continue;
            }
            final int space = line.lastIndexOf(' ');
            assertThat(space).as("a sample line: %s", line).isPositive();
            final String value = line.substring(space + 1);
            series.put(line.substring(0, space), switch (value)
            {
                case "+Inf" -> Double.POSITIVE_INFINITY;
                case "-Inf" -> Double.NEGATIVE_INFINITY;
                case "NaN" -> Double.NaN;
                default -> Double.parseDouble(value);
            });
        }
        return series;
    }
}
