package dev.replicator.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.replicator.cli.CrashPlan.Phase;
import dev.replicator.cli.CrashPlan.Side;
import dev.replicator.core.test.ChildJvm;
import dev.replicator.core.wire.Json;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

import static dev.replicator.cli.CheckpointLedger.sha256;
import static dev.replicator.cli.LoopbackCluster.BLOCK;
import static dev.replicator.cli.LoopbackCluster.GROUP;
import static dev.replicator.cli.LoopbackCluster.await;
import static dev.replicator.cli.LoopbackCluster.writeRandomRuns;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The crash matrix: the agent or the target, each a real JVM ({@link LoopbackCluster}), is killed
 * with SIGKILL at a random moment while it ships (the initial sync and later changes), while
 * {@code replicator checkpoint} is in flight, while {@code failover} materialises the recovery
 * volume, and while {@code failback --execute} runs. After each kill the killed side restarts and
 * the test checks what the product promises:
 * <ul>
 *   <li>no acknowledged write is lost: every checkpoint {@code replicator checkpoint} reported is
 *       still listed and exports byte-identical (sha256) to the source as it was then
 *       ({@link CheckpointLedger});</li>
 *   <li>replication resumes: a new checkpoint succeeds and matches;</li>
 *   <li>failover and failback either complete or fail with exit code 1 and one clear sentence; the
 *       group's role and epoch are consistent with that; re-running completes; after failback the
 *       primary is byte-identical to the recovery volume and forward replication resumes.</li>
 * </ul>
 * One seed drives every choice (printed; replay with {@code -Dcrash.seed=N -Dcrash.points=N});
 * {@code -Dcrash.points} sets the number of kill points (default 50, 200 with {@code -Psoak}).
 * Clusters are reused across the kill points of a phase: a JVM start costs about a second.
 * The summary table goes to this class's test output; on failure the temp dir is kept, with each
 * process's log under {@code logs-*}/Replicator.stderr.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class CrashMatrixTest
{
    /** Shipping kill points per cluster: the first kills the initial sync, the rest kill later changes. */
    private static final int SHIPPING_POINTS_PER_CLUSTER = 6;
    private static final int SMALL_VOLUME_MIB = 16;
    /** Large enough that failover spends a while materialising the recovery volume. */
    private static final int LARGE_VOLUME_MIB = 64;
    /**
     * How long an admin command may take to answer once a process it depends on was killed. Generous
     * for 2 cores; a checkpoint whose agent died used to wait out the target's 60 s timeout.
     */
    private static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(30);

    private static CrashPlan plan;

    @TempDir(cleanup = CleanupMode.ON_SUCCESS)
    Path dir;

    @BeforeAll
    static void announce()
    {
        plan = CrashPlan.fromSystemProperties();
        System.out.println("crash matrix: seed=" + plan.seed + ", points=" + plan.totalPoints + " (replay: " +
            plan.replayHint() + ")");
    }

    @AfterAll
    static void summarise()
    {
        System.out.println(plan.summary());
    }

    // ------------------------------------------------------------------ (a) shipping

    @Test
    @Order(1)
    void shippingLosesNoAcknowledgedWriteWhenEitherSideIsKilled() throws Exception
    {
        final PhaseRun run = begin(Phase.SHIPPING);
        final Random random = run.random;
        int point = 0;
        int clusterIndex = 0;
        while (point < run.points)
        {
            try (LoopbackCluster cluster = newCluster("shipping-" + clusterIndex++, SMALL_VOLUME_MIB))
            {
                final CheckpointLedger ledger = new CheckpointLedger(cluster);
                fillVolume(cluster.volume, random);
                cluster.startTarget();
                run.point(point++, cluster, p ->
                {
                    // The first scan journals the whole volume while the shipper sends it.
                    final Side side = run.side(0.5);
                    cluster.startAgent();
                    CrashPlan.pauseBeforeKill(CrashPlan.millisToNanos(random.nextInt(2500)));
                    run.kill(cluster, side);
                    run.restart(cluster, side);
                    resumeAndVerify(cluster, ledger, random, p);
                    return "initial-sync";
                });
                for (int k = 1; k < SHIPPING_POINTS_PER_CLUSTER && point < run.points; k++)
                {
                    run.point(point++, cluster, p ->
                    {
                        if (random.nextInt(3) == 0)
                        {
                            ledger.record(cluster.checkpoint("before-" + p), cluster.volume, "checkpoint before kill " + p);
                        }
                        final long bytes = writeChanges(cluster.volume, cluster.volumeBlocks, random, 4);
                        final Side side = run.side(0.5);
                        CrashPlan.pauseBeforeKill(CrashPlan.millisToNanos(random.nextInt(1200)));
                        run.kill(cluster, side);
                        run.restart(cluster, side);
                        resumeAndVerify(cluster, ledger, random, p);
                        return bytes >= 1 << 20 ? "bulk-changes" : "small-changes";
                    });
                }
                ledger.verifyAll();
            }
        }
        run.finish();
    }

    // ------------------------------------------------------------------ (b) checkpointing

    @Test
    @Order(2)
    void aCheckpointInFlightIsEitherReportedDurableOrFailsCleanly() throws Exception
    {
        final PhaseRun run = begin(Phase.CHECKPOINT);
        final Random random = run.random;
        try (LoopbackCluster cluster = newCluster("checkpoint", SMALL_VOLUME_MIB))
        {
            final CheckpointLedger ledger = new CheckpointLedger(cluster);
            fillVolume(cluster.volume, random);
            cluster.startTarget();
            cluster.startAgent();
            ledger.record(cluster.checkpoint("base"), cluster.volume, "base");
            // How long a checkpoint after typical changes takes: the window the kills aim at.
            final Estimate checkpointMs = new Estimate(100);
            for (int i = 0; i < 2; i++)
            {
                writeChanges(cluster.volume, cluster.volumeBlocks, random, 2);
                final long startNs = System.nanoTime();
                ledger.record(cluster.checkpoint("calibrate-" + i), cluster.volume, "calibration " + i);
                checkpointMs.observe((System.nanoTime() - startNs) / 1_000_000);
            }
            for (int point = 0; point < run.points; point++)
            {
                run.point(point, cluster, p ->
                {
                    writeChanges(cluster.volume, cluster.volumeBlocks, random, 2);
                    final Side side = run.side(0.5);
                    final BackgroundCommand checkpoint = BackgroundCommand.start(cluster,
                        "checkpoint", "--group", GROUP, "--label", "in-flight-" + p);
                    CrashPlan.pauseBeforeKill(checkpointMs.pauseNs(random, 1.3));
                    final long killNs = run.kill(cluster, side);
                    final Cli.Result result = checkpoint.await(COMMAND_TIMEOUT);
                    run.restart(cluster, side);
                    final String outcome;
                    if (result.exitCode() == 0)
                    {
                        // Reported: the target said durable. The volume has not changed since.
                        ledger.record(result.line(), cluster.volume, "in-flight checkpoint of point " + p + " (" +
                            side + " killed)");
                        if (checkpoint.endNs() - killNs < 0)
                        {
                            outcome = "answered-before-kill";
                            checkpointMs.observe(checkpoint.elapsedMs());
                        }
                        else
                        {
                            outcome = "reported";
                        }
                    }
                    else
                    {
                        assertCleanFailure(result, "checkpoint in flight when the " + side + " was killed");
                        System.out.println("  " + side + " killed: " + result.err().strip());
                        outcome = "failed-cleanly";
                    }
                    resumeAndVerify(cluster, ledger, random, p);
                    return outcome;
                });
            }
            ledger.verifyAll();
        }
        run.finish();
    }

    // ------------------------------------------------------------------ (c) failover

    @Test
    @Order(3)
    void failoverKilledWhileMaterialisingLeavesAConsistentGroupAndCompletesWhenRerun() throws Exception
    {
        final PhaseRun run = begin(Phase.FAILOVER);
        final Random random = run.random;
        try (LoopbackCluster cluster = newCluster("failover", LARGE_VOLUME_MIB))
        {
            final CheckpointLedger ledger = new CheckpointLedger(cluster);
            fillVolume(cluster.volume, random);
            cluster.startTarget();
            cluster.startAgent();
            final String base = cluster.checkpoint("base");
            ledger.record(base, cluster.volume, "base");
            // Materialising the recovery volume is what an export does: time one.
            final Estimate materialiseMs = new Estimate(timeExport(cluster, base));
            for (int point = 0; point < run.points; point++)
            {
                run.point(point, cluster, p ->
                {
                    // One time in four: --latest while the agent ships a bulk change, so that the newest
                    // durable data has no checkpoint yet and the failover adds its own.
                    final boolean latest = random.nextInt(4) == 0;
                    final String chosen;
                    if (latest)
                    {
                        writeBulk(cluster.volume, cluster.volumeBlocks, random, 8 + random.nextInt(9));
                        awaitQuietly(() -> shippingBeyondLatestImage(cluster), Duration.ofSeconds(10));
                        chosen = "--latest";
                    }
                    else
                    {
                        writeChanges(cluster.volume, cluster.volumeBlocks, random, 4);
                        ledger.record(cluster.checkpoint("pre-failover-" + p), cluster.volume, "before failover " + p);
                        chosen = pickImage(ledger, random);
                    }
                    final long epoch = groupStatus(cluster).get("epoch").asLong();
                    final Path recovery = cluster.dir.resolve("recovery-" + p + ".img");
                    final Side side = run.side(0.8);
                    final BackgroundCommand failover = BackgroundCommand.start(cluster,
                        failoverArgs(chosen, recovery));
                    final boolean aimAtMaterialisation = random.nextInt(5) != 0;
                    if (aimAtMaterialisation)
                    {
                        // Aim at materialisation: it begins when the recovery file appears.
                        awaitQuietly(() -> Files.exists(recovery) || failover.isDone(), Duration.ofSeconds(60));
                    }
                    final long fromNs = System.nanoTime();
                    CrashPlan.pauseBeforeKill(materialiseMs.pauseNs(random, 1.2));
                    final long killNs = run.kill(cluster, side);
                    final Cli.Result result = failover.await(COMMAND_TIMEOUT);
                    final boolean answeredBeforeKill = result.exitCode() == 0 && failover.endNs() - killNs < 0;
                    if (aimAtMaterialisation && answeredBeforeKill)
                    {
                        // It finished before the kill: how long materialisation really takes.
                        materialiseMs.observe((failover.endNs() - fromNs) / 1_000_000);
                    }
                    run.restart(cluster, side);

                    final JsonNode status = groupStatus(cluster);
                    final String role = status.get("role").asText();
                    final long epochNow = status.get("epoch").asLong();
                    String outcome = latest ? "latest:" : "";
                    if (result.exitCode() == 0)
                    {
                        assertThat(role).as("role after a failover that reported success").isEqualTo("FAILED_OVER");
                        outcome += answeredBeforeKill ? "answered-before-kill" : "completed";
                    }
                    else
                    {
                        assertCleanFailure(result, "failover when the " + side + " was killed");
                        System.out.println("  " + side + " killed: " + result.err().strip());
                        outcome += "failed-cleanly";
                    }
                    Path recoveryInUse = recovery;
                    if (role.equals("FAILED_OVER"))
                    {
                        assertThat(epochNow).as("epoch of the failed-over group").isEqualTo(epoch + 1);
                        final String image = status.get("failover").get("image").asText();
                        if (!latest)
                        {
                            assertThat(image).isEqualTo(chosen);
                        }
                        assertRecoveryIsImage(cluster, ledger, recovery, image, "recovery volume of point " + p +
                            " after the " + side + " was killed during failover (" + result.exitCode() + ": " +
                            result.err().strip() + ")");
                        outcome += result.exitCode() == 0 ? "" : "+stayed-failed-over";
                    }
                    else
                    {
                        assertThat(role).as("role after an interrupted failover").isEqualTo("REPLICATING");
                        assertThat(epochNow).as("epoch after an interrupted failover").isBetween(epoch, epoch + 1);
                        assertThat(recovery).as("the partial recovery volume of an interrupted failover").doesNotExist();
                        // Rolled back: the primary replicates again, and what it ships is exact.
                        ledger.record(cluster.checkpoint("rolled-back-" + p), cluster.volume,
                            "replication resumed after the failover of point " + p + " was rolled back");
                        ledger.verify(random, 0);
                        recoveryInUse = cluster.dir.resolve("recovery-" + p + "-rerun.img");
                        final Cli.Result rerun = cluster.admin(failoverArgs(chosen, recoveryInUse));
                        assertThat(rerun.exitCode()).as("re-run of an interrupted failover: " + rerun.err()).isZero();
                        assertRecoveryIsImage(cluster, ledger, recoveryInUse,
                            groupStatus(cluster).get("failover").get("image").asText(),
                            "recovery volume of the re-run failover " + p);
                        outcome += "+rerun";
                    }
                    failBackCleanly(cluster, ledger, random, recoveryInUse, p);
                    Files.deleteIfExists(recovery);
                    Files.deleteIfExists(recoveryInUse);
                    return outcome;
                });
            }
            ledger.verifyAll();
        }
        run.finish();
    }

    private static String[] failoverArgs(final String image, final Path recovery)
    {
        return image.equals("--latest") ?
            new String[] {"failover", "--group", GROUP, "--latest", "--to", recovery.toString()} :
            new String[] {"failover", "--group", GROUP, "--image", image, "--to", recovery.toString()};
    }

    /** The target has durable data beyond its newest image: an agent is shipping a change. */
    private static boolean shippingBeyondLatestImage(final LoopbackCluster cluster)
    {
        try
        {
            final JsonNode group = groupStatus(cluster);
            final String latest = group.path("latestImage").asText(GROUP + "@0");
            return group.get("durableSeq").asLong() > Long.parseLong(latest.substring(latest.indexOf('@') + 1));
        }
        catch (final IOException | AssertionError ex)
        {
            return false;
        }
    }

    /**
     * A recovery volume is its image: compared with the ledger's hash when the image was promised
     * ({@code --image}), else with an export of it ({@code --latest} picks or adds the image itself).
     */
    private static void assertRecoveryIsImage(
        final LoopbackCluster cluster, final CheckpointLedger ledger, final Path recovery, final String image,
        final String what) throws IOException
    {
        if (ledger.images().contains(image))
        {
            assertSameContent(recovery, ledger, image, what);
            return;
        }
        final Path export = cluster.dir.resolve("ledger-exports").resolve("image-" + image.replace('@', '-') + ".img");
        Files.deleteIfExists(export);
        final Cli.Result result = cluster.admin("images", "export", "--image", image, "--to", export.toString());
        assertThat(result.exitCode()).as("export of " + image + ": " + result.err()).isZero();
        assertThat(recovery).as(what).exists();
        final String actual = sha256(recovery);
        if (!actual.equals(sha256(export)))
        {
            throw new AssertionError(what + " is not byte-identical to an export of image " + image + ": " +
                CheckpointLedger.differingBlocks(recovery, export));
        }
        Files.delete(export);
    }

    // ------------------------------------------------------------------ (d) failback

    @Test
    @Order(4)
    void failbackKilledOnEitherSideCompletesWhenRerunAndLeavesPrimaryIdenticalToRecovery() throws Exception
    {
        final PhaseRun run = begin(Phase.FAILBACK);
        final Random random = run.random;
        try (LoopbackCluster cluster = newCluster("failback", LARGE_VOLUME_MIB))
        {
            final CheckpointLedger ledger = new CheckpointLedger(cluster);
            fillVolume(cluster.volume, random);
            cluster.startTarget();
            cluster.startAgent();
            ledger.record(cluster.checkpoint("base"), cluster.volume, "base");
            final Estimate failbackMs = new Estimate(2000);
            for (int point = 0; point < run.points; point++)
            {
                run.point(point, cluster, p ->
                {
                    writeChanges(cluster.volume, cluster.volumeBlocks, random, 4);
                    ledger.record(cluster.checkpoint("pre-failover-" + p), cluster.volume, "before failover " + p);
                    final String image = pickImage(ledger, random);
                    // One time in three the disaster leaves writes the primary journaled but never shipped.
                    final boolean unshippedTail = random.nextInt(3) == 0;
                    if (unshippedTail)
                    {
                        journalUnshippedWrites(cluster, random);
                    }
                    final Path recovery = cluster.dir.resolve("recovery-" + p + ".img");
                    final Cli.Result failover = cluster.admin("failover", "--group", GROUP, "--image", image, "--to",
                        recovery.toString());
                    assertThat(failover.exitCode()).as("failover: " + failover.err()).isZero();
                    assertSameContent(recovery, ledger, image, "recovery volume of point " + p);
                    if (unshippedTail)
                    {
                        cluster.startAgent();
                    }
                    // The application at the recovery site; enough writes that shipping them back takes a while.
                    writeChanges(recovery, cluster.volumeBlocks, random, 12);
                    awaitFailbackReport(cluster);
                    final long epoch = groupStatus(cluster).get("epoch").asLong();

                    final int repairsBefore = countLogLines(cluster.dir, "failback verification found");
                    final Side side = run.side(0.5);
                    final BackgroundCommand failback = BackgroundCommand.start(cluster,
                        "failback", "--group", GROUP, "--execute", "--json");
                    CrashPlan.pauseBeforeKill(failbackMs.pauseNs(random, 1.2));
                    final long killNs = run.kill(cluster, side);
                    final Cli.Result result = failback.await(COMMAND_TIMEOUT);
                    run.restart(cluster, side);

                    final JsonNode status = groupStatus(cluster);
                    final String role = status.get("role").asText();
                    String outcome;
                    JsonNode done = null;
                    if (result.exitCode() == 0)
                    {
                        done = Json.mapper().readTree(result.out());
                        assertThat(role).as("role after a failback that reported success").isEqualTo("REPLICATING");
                        if (failback.endNs() - killNs < 0)
                        {
                            outcome = "answered-before-kill";
                            failbackMs.observe(failback.elapsedMs());
                        }
                        else
                        {
                            outcome = "completed";
                        }
                    }
                    else
                    {
                        assertCleanFailure(result, "failback --execute when the " + side + " was killed");
                        System.out.println("  " + side + " killed: " + result.err().strip());
                        outcome = "failed-cleanly";
                    }
                    if (role.equals("FAILED_OVER"))
                    {
                        assertThat(status.get("epoch").asLong()).as("epoch while still failed over").isEqualTo(epoch);
                        awaitFailbackReport(cluster);
                        final long startNs = System.nanoTime();
                        final Cli.Result rerun = cluster.admin("failback", "--group", GROUP, "--execute", "--json");
                        assertThat(rerun.exitCode()).as("re-run of an interrupted failback: " + rerun.err()).isZero();
                        failbackMs.observe((System.nanoTime() - startNs) / 1_000_000);
                        done = Json.mapper().readTree(rerun.out());
                        outcome += "+rerun-" + done.get("plan").get("mode").asText();
                    }
                    else
                    {
                        assertThat(role).as("role after an interrupted failback").isEqualTo("REPLICATING");
                        outcome += result.exitCode() == 0 ? "" : "+completed-unreported";
                    }
                    if (unshippedTail)
                    {
                        outcome = "tail:" + outcome;
                    }
                    final int repairs = countLogLines(cluster.dir, "failback verification found");
                    if (repairs > repairsBefore)
                    {
                        // Not wrong (verification ships the recovery side again) but the plan missed blocks.
                        outcome += "+repaired-by-verification";
                    }
                    final JsonNode after = groupStatus(cluster);
                    assertThat(after.get("role").asText()).isEqualTo("REPLICATING");
                    assertThat(after.get("epoch").asLong()).as("epoch after failback").isEqualTo(epoch + 1);
                    afterFailback(cluster, ledger, random, recovery, done, p);
                    Files.deleteIfExists(recovery);
                    return outcome;
                });
            }
            ledger.verifyAll();
        }
        run.finish();
    }

    // ------------------------------------------------------------------ steps

    /** Replication resumes after a kill: a new checkpoint succeeds and every promised image is exact. */
    private static void resumeAndVerify(
        final LoopbackCluster cluster, final CheckpointLedger ledger, final Random random, final int point)
        throws IOException
    {
        ledger.record(cluster.checkpoint("resumed-" + point), cluster.volume, "resumed after kill " + point);
        ledger.verify(random, 2);
    }

    /**
     * Leaves the primary with a journal tail the target never received: the target stops, the
     * application writes, the agent journals the writes, then the agent dies and the target returns.
     * Setup for a failback, not a kill point: the agent is down when this returns.
     */
    private static void journalUnshippedWrites(final LoopbackCluster cluster, final Random random) throws IOException
    {
        cluster.stopTarget();
        final long acked = cluster.agentStatus().path("ackedSeq").asLong();
        final long scans = cluster.agentStatus().path("scans").asLong();
        writeChanges(cluster.volume, cluster.volumeBlocks, random, 2);
        await(() -> agentStatusLong(cluster, "scans") >= scans + 2 && agentStatusLong(cluster, "lastJournaledSeq") > acked,
            "the agent to journal writes it cannot ship");
        cluster.killAgentHard();
        cluster.startTarget();
    }

    private static String agentStatusText(final LoopbackCluster cluster, final String field)
    {
        try
        {
            return cluster.agentStatus().path(field).asText();
        }
        catch (final IOException ex)
        {
            return "";
        }
    }

    private static long agentStatusLong(final LoopbackCluster cluster, final String field)
    {
        try
        {
            return cluster.agentStatus().path(field).asLong();
        }
        catch (final IOException ex)
        {
            // Read while the agent replaced it: try again.
            return -1;
        }
    }

    /** The failback of a failover that was not interrupted, back to forward replication. */
    private static void failBackCleanly(
        final LoopbackCluster cluster, final CheckpointLedger ledger, final Random random, final Path recovery,
        final int point) throws IOException
    {
        writeRandomRuns(recovery, cluster.volumeBlocks, 1 + random.nextInt(40), random);
        awaitFailbackReport(cluster);
        final long epoch = groupStatus(cluster).get("epoch").asLong();
        final Cli.Result failback = cluster.admin("failback", "--group", GROUP, "--execute", "--json");
        assertThat(failback.exitCode()).as("failback: " + failback.err()).isZero();
        assertThat(groupStatus(cluster).get("epoch").asLong()).isEqualTo(epoch + 1);
        afterFailback(cluster, ledger, random, recovery, Json.mapper().readTree(failback.out()), point);
    }

    /**
     * After failback: the primary is byte-identical to the recovery volume, the failback checkpoint
     * (when its answer arrived) is that content, and forward replication resumes.
     */
    private static void afterFailback(
        final LoopbackCluster cluster, final CheckpointLedger ledger, final Random random, final Path recovery,
        final JsonNode result, final int point) throws IOException
    {
        final String recoverySha = sha256(recovery);
        final String primarySha = sha256(cluster.volume);
        if (!primarySha.equals(recoverySha))
        {
            throw new AssertionError("after failback of point " + point + " the primary differs from the recovery " +
                "volume: " + CheckpointLedger.differingBlocks(cluster.volume, recovery));
        }
        if (result != null)
        {
            ledger.recordHash(GROUP + "@" + result.get("baseSeq").asLong(), recoverySha, "failback checkpoint of point " +
                point);
        }
        writeRandomRuns(cluster.volume, cluster.volumeBlocks, 1 + random.nextInt(20), random);
        ledger.record(cluster.checkpoint("forward-" + point), cluster.volume, "forward replication after failback " +
            point);
        ledger.verify(random, 2);
        // Both sides agree on the roles: the agent says it is the primary at the target's epoch.
        final long epoch = groupStatus(cluster).get("epoch").asLong();
        await(() -> "PRIMARY".equals(agentStatusText(cluster, "role")) && agentStatusLong(cluster, "epoch") == epoch,
            "the agent to report itself primary at epoch " + epoch);
    }

    private static void assertSameContent(
        final Path file, final CheckpointLedger ledger, final String image, final String what) throws IOException
    {
        if (!Files.exists(file))
        {
            throw new AssertionError(what + ": " + file + " does not exist");
        }
        final String actual = sha256(file);
        if (!actual.equals(ledger.sha256Of(image)))
        {
            throw new AssertionError(what + " is not byte-identical to image " + image + " (sha256 " + actual +
                ", expected " + ledger.sha256Of(image) + ")");
        }
    }

    /** A failure of a command interrupted by a kill: exit code 1 and one clear sentence, no stack trace. */
    private static void assertCleanFailure(final Cli.Result result, final String what)
    {
        assertThat(result.exitCode()).as(what + " exit code; stderr: " + result.err()).isEqualTo(1);
        final String err = result.err().strip();
        assertThat(err).as(what + ": the message").startsWith("replicator: ").doesNotContain("\tat ");
        assertThat(err.lines().count()).as(what + ": one line of explanation: " + err).isEqualTo(1);
    }

    /** The newest promised image two times in three, else a random older one. */
    private static String pickImage(final CheckpointLedger ledger, final Random random)
    {
        final List<String> images = ledger.images();
        if (random.nextInt(3) != 0)
        {
            return images.get(images.size() - 1);
        }
        return images.get(Math.max(0, images.size() - 1 - 1 - random.nextInt(Math.min(images.size(), 6))));
    }

    private static long timeExport(final LoopbackCluster cluster, final String image) throws IOException
    {
        final Path out = cluster.dir.resolve("calibration-export.img");
        final long startNs = System.nanoTime();
        final Cli.Result export = cluster.admin("images", "export", "--image", image, "--to", out.toString());
        final long elapsedMs = (System.nanoTime() - startNs) / 1_000_000;
        assertThat(export.exitCode()).as(export.err()).isZero();
        Files.delete(out);
        return elapsedMs;
    }

    static JsonNode groupStatus(final LoopbackCluster cluster) throws IOException
    {
        return cluster.json("status", "--json").get("groups").get(0);
    }

    private static void awaitFailbackReport(final LoopbackCluster cluster)
    {
        await(() ->
        {
            try
            {
                return groupStatus(cluster).get("failbackReportReceived").asBoolean();
            }
            catch (final IOException | AssertionError ex)
            {
                return false;
            }
        }, "the demoted primary's failback report");
    }

    /** Waits for a condition, without failing if it does not come (the kill goes ahead anyway). */
    private static void awaitQuietly(final java.util.function.BooleanSupplier condition, final Duration timeout)
    {
        final long deadlineNs = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean() && deadlineNs - System.nanoTime() > 0)
        {
            java.util.concurrent.locks.LockSupport.parkNanos(200_000);
        }
    }

    // ------------------------------------------------------------------ data

    /** Fills a volume: mostly random (incompressible) MiBs, some text, some left as holes. */
    static void fillVolume(final Path file, final Random random) throws IOException
    {
        final byte[] chunk = new byte[1 << 20];
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE))
        {
            final long size = channel.size();
            for (long at = 0; at < size; at += chunk.length)
            {
                final int kind = random.nextInt(10);
                if (kind == 0)
                {
                    continue;
                }
                if (kind < 4)
                {
                    final byte[] line = ("offset " + at + " some compressible text for LZ4\n")
                        .getBytes(StandardCharsets.US_ASCII);
                    for (int i = 0; i < chunk.length; i++)
                    {
                        chunk[i] = line[i % line.length];
                    }
                }
                else
                {
                    random.nextBytes(chunk);
                }
                writeFully(channel, ByteBuffer.wrap(chunk, 0, (int)Math.min(chunk.length, size - at)), at);
            }
        }
    }

    /**
     * Scattered runs of blocks, and one time in three a contiguous region of up to {@code maxBulkMiB}
     * MiB, so that shipping it takes a while; returns the bytes written.
     */
    static long writeChanges(final Path file, final long volumeBlocks, final Random random, final int maxBulkMiB)
        throws IOException
    {
        long bytes = (long)writeRandomRuns(file, volumeBlocks, 1 + random.nextInt(60), random).size() * BLOCK;
        if (random.nextInt(3) == 0)
        {
            bytes += writeBulk(file, volumeBlocks, random, 1 + random.nextInt(maxBulkMiB));
        }
        return bytes;
    }

    /** Random bytes over a contiguous region of {@code mib} MiB at a random place; returns the bytes written. */
    static long writeBulk(final Path file, final long volumeBlocks, final Random random, final int mib)
        throws IOException
    {
        final int blocks = mib * (1 << 20) / BLOCK;
        final long first = (long)(random.nextDouble() * (volumeBlocks - blocks));
        final byte[] data = new byte[blocks * BLOCK];
        random.nextBytes(data);
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE))
        {
            writeFully(channel, ByteBuffer.wrap(data), first * BLOCK);
        }
        return data.length;
    }

    private static void writeFully(final FileChannel channel, final ByteBuffer buffer, final long position)
        throws IOException
    {
        long at = position;
        while (buffer.hasRemaining())
        {
            at += channel.write(buffer, at);
        }
    }

    // ------------------------------------------------------------------ running a phase

    private LoopbackCluster newCluster(final String name, final int volumeMiB) throws IOException
    {
        final LoopbackCluster cluster = new LoopbackCluster(Files.createDirectories(dir.resolve(name)), volumeMiB);
        // Every promised image must stay: retention is not under test here.
        cluster.appendTargetConfig("retain.checkpoints = 1000000");
        return cluster;
    }

    private PhaseRun begin(final Phase phase)
    {
        Assumptions.assumeTrue(plan.runs(phase), "phase " + phase.label() + " not selected by -D" +
            CrashPlan.PHASES_PROP_NAME);
        return new PhaseRun(phase, plan.points(phase), plan.random(phase), plan.row(phase), dir);
    }

    /** One kill point's body: does the kill, the restart and the checks; returns its outcome. */
    @FunctionalInterface
    interface PointBody
    {
        String run(int point) throws Exception;
    }

    /** A phase being run: its random source, its row of the summary, and the kill/restart steps. */
    static final class PhaseRun
    {
        final Phase phase;
        final int points;
        final Random random;
        final CrashPlan.Row row;
        final Path dir;
        final long startNs = System.nanoTime();

        PhaseRun(final Phase phase, final int points, final Random random, final CrashPlan.Row row, final Path dir)
        {
            this.phase = phase;
            this.points = points;
            this.random = random;
            this.row = row;
            this.dir = dir;
        }

        Side side(final double targetProbability)
        {
            return random.nextDouble() < targetProbability ? Side.TARGET : Side.AGENT;
        }

        void point(final int point, final LoopbackCluster cluster, final PointBody body) throws Exception
        {
            final long pointStartNs = System.nanoTime();
            try
            {
                final String outcome = body.run(point);
                row.passed(outcome);
                System.out.printf("%s point %d: %s (%d ms)%n", phase.label(), point, outcome,
                    (System.nanoTime() - pointStartNs) / 1_000_000);
            }
            catch (final Exception | AssertionError ex)
            {
                row.elapsed(System.nanoTime() - startNs);
                final String message = "crash matrix " + phase.label() + " point " + point + " failed (replay: " +
                    plan.replayHint() + " -D" + CrashPlan.PHASES_PROP_NAME + "=" + phase.label() + "; logs kept in " +
                    cluster.dir + "/logs-*): " + ex.getMessage() + exited(cluster) + errorLines(cluster.dir);
                System.out.println(message);
                throw new AssertionError(message, ex);
            }
        }

        /** Kills one side with SIGKILL; returns {@link System#nanoTime()} just before the signal. */
        long kill(final LoopbackCluster cluster, final Side side)
        {
            final ChildJvm process = side == Side.AGENT ? cluster.agent() : cluster.targetProcess();
            if (process == null || !process.isAlive())
            {
                throw new AssertionError("the " + side + " was not running when it was to be killed" +
                    (process == null ? "" : process.report()));
            }
            row.killed(side);
            final long killNs = System.nanoTime();
            if (side == Side.AGENT)
            {
                cluster.killAgentHard();
            }
            else
            {
                cluster.killTargetHard();
            }
            return killNs;
        }

        void restart(final LoopbackCluster cluster, final Side side)
        {
            if (side == Side.AGENT)
            {
                cluster.startAgent();
            }
            else
            {
                cluster.startTarget();
            }
        }

        void finish()
        {
            row.elapsed(System.nanoTime() - startNs);
        }
    }

    /** Which of the cluster's processes exited by themselves, with their last words. */
    static String exited(final LoopbackCluster cluster)
    {
        final StringBuilder out = new StringBuilder();
        final ChildJvm[] processes = {cluster.agent(), cluster.targetProcess()};
        final String[] names = {"agent", "target"};
        for (int i = 0; i < processes.length; i++)
        {
            if (processes[i] != null && !processes[i].isAlive())
            {
                final List<String> lines = processes[i].stderr().lines().toList();
                out.append("\nthe ").append(names[i]).append(" exited by itself with code ")
                    .append(processes[i].awaitExit(Duration.ofSeconds(1))).append("; its last lines:\n")
                    .append(String.join("\n", lines.subList(Math.max(0, lines.size() - 5), lines.size())));
            }
        }
        return out.toString();
    }

    /** Lines containing {@code text} in all the children's logs of a cluster. */
    static int countLogLines(final Path clusterDir, final String text) throws IOException
    {
        int count = 0;
        try (Stream<Path> logs = Files.walk(clusterDir))
        {
            for (final Path log : logs.filter(p -> p.getFileName().toString().endsWith(".stderr")).toList())
            {
                count += (int)Files.readAllLines(log).stream().filter(line -> line.contains(text)).count();
            }
        }
        return count;
    }

    /** The last WARN and ERROR lines of each child's log, for a failure message. */
    static String errorLines(final Path clusterDir)
    {
        final StringBuilder out = new StringBuilder();
        try (Stream<Path> logs = Files.walk(clusterDir))
        {
            for (final Path log : logs.filter(p -> p.getFileName().toString().endsWith(".stderr")).sorted().toList())
            {
                // The last warnings and errors, without the refusals a test's retries cause.
                final List<String> all = Files.readAllLines(log).stream()
                    .filter(line -> line.contains(" ERROR ") || line.contains(" WARN "))
                    .filter(line -> !line.contains("admin checkpoint refused")).toList();
                final List<String> errors = all.subList(Math.max(0, all.size() - 30), all.size());
                if (!errors.isEmpty())
                {
                    out.append("\n--- ").append(clusterDir.relativize(log)).append(" ---\n")
                        .append(String.join("\n", errors));
                }
            }
        }
        catch (final IOException ex)
        {
            out.append("\n(cannot read logs: ").append(ex.getMessage()).append(')');
        }
        return out.toString();
    }

    /**
     * How long an operation takes, to aim kills inside it: a kill point pauses a uniform random time
     * up to a multiple of the estimate. Starts from a calibration and follows uninterrupted runs.
     */
    static final class Estimate
    {
        private long ms;

        Estimate(final long initialMs)
        {
            this.ms = Math.max(50, initialMs);
        }

        void observe(final long observedMs)
        {
            ms = Math.max(50, (ms + observedMs) / 2);
        }

        long pauseNs(final Random random, final double factor)
        {
            return (long)(random.nextDouble() * factor * CrashPlan.millisToNanos(ms));
        }
    }
}
