package dev.replicator.target.auto;

import dev.replicator.core.exec.HookScript;
import dev.replicator.core.volume.VolumeSpec;
import dev.replicator.target.admin.AdminException;
import dev.replicator.target.admin.ImageId;
import dev.replicator.target.failback.FailbackService;
import dev.replicator.target.failback.TreeFailback;
import dev.replicator.target.failover.FailoverService;
import dev.replicator.target.failover.TreeRecovery;
import dev.replicator.target.group.AgentLink;
import dev.replicator.target.group.Group;
import dev.replicator.target.group.GroupRole;
import dev.replicator.target.group.GroupState;
import dev.replicator.target.group.Groups;
import dev.replicator.target.image.Checkpoint;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Applies the groups' {@link AutoFailoverPolicy}: fails a group over on its own when its primary has
 * been silent (or the target behind it) for longer than the policy allows, and fails back when
 * explicitly enabled and the old primary has been connected and healthy long enough.
 *
 * <p>Silence is measured on this process's monotonic clock from the later of the primary's last frame
 * and the moment this target started listening: a target that was down (or restarted) does not count
 * its own downtime as the primary's silence, and a healthy agent reconnects well within the window.
 *
 * <p>The image is the newest application-consistent checkpoint, else the newest checkpoint: never a
 * new checkpoint at the target's durable seq + 1 ({@code --latest}), a seq the primary may still send.
 * Fencing is {@link FailoverService#failover}'s epoch bump. Each transition is logged as one line and
 * persisted as the group's {@link Transition}.
 *
 * <p>Each group with a policy has its own thread ({@code auto-failover-GROUP}) that evaluates it every
 * {@value #TICK_MS} ms: a failover that copies a large volume, or a hook that runs to its timeout,
 * delays only its own group's next check.
 */
public final class AutoFailover implements AutoCloseable
{
    private static final Logger LOG = LoggerFactory.getLogger(AutoFailover.class);
    static final long TICK_MS = 250;

    private final Groups groups;
    private final Map<String, AutoFailoverPolicy> policies;
    private final FailoverService failover;
    private final FailbackService failback;
    private final Map<String, Transition> lastTransitions = new ConcurrentHashMap<>();
    /** group -> kind -> transitions recorded since the target started (metrics). */
    private final Map<String, Map<String, AtomicLong>> transitionCounts = new ConcurrentHashMap<>();
    // Keyed by group; each key is touched only by its group's thread.
    private final Map<String, Long> behindSinceNs = new ConcurrentHashMap<>();
    private final Map<String, Long> nextFailbackAttemptNs = new ConcurrentHashMap<>();
    private final Map<String, Long> nextFailoverAttemptNs = new ConcurrentHashMap<>();
    private final Map<String, String> lastBlocked = new ConcurrentHashMap<>();
    private final List<Thread> threads = new ArrayList<>();
    private volatile long listeningSinceNs;
    private volatile boolean running = true;

    public AutoFailover(final Groups groups, final Map<String, AutoFailoverPolicy> policies,
        final FailoverService failover, final FailbackService failback)
    {
        this.groups = groups;
        this.policies = Map.copyOf(policies);
        this.failover = failover;
        this.failback = failback;
        for (final AutoFailoverPolicy policy : this.policies.values())
        {
            final Thread thread = new Thread(() -> run(policy), "auto-failover-" + policy.group());
            thread.setDaemon(true);
            threads.add(thread);
        }
    }

    /** Call once the target listens: silence counts from now. Loads the persisted transitions. */
    public void start()
    {
        listeningSinceNs = System.nanoTime();
        for (final Group group : groups.all())
        {
            try
            {
                final Transition last = Transition.read(group.dir());
                if (last != null)
                {
                    lastTransitions.put(group.name(), last);
                }
            }
            catch (final IOException ex)
            {
                LOG.warn("group={} {}", group.name(), ex.getMessage());
            }
        }
        for (final AutoFailoverPolicy policy : policies.values())
        {
            LOG.info("group={} automatic failover {}", policy.group(), policy.describe());
        }
        threads.forEach(Thread::start);
    }

    /** The group's policy, or null when automatic failover is off for it. */
    public AutoFailoverPolicy policy(final String group)
    {
        return policies.get(group);
    }

    /** The last transition the policy made for the group (persisted), or null. */
    /** Transitions of each kind (FAILOVER, FAILBACK, *_BLOCKED) recorded for {@code group} since the target started. */
    public Map<String, Long> transitionCounts(final String group)
    {
        final Map<String, Long> counts = new TreeMap<>();
        transitionCounts.getOrDefault(group, Map.of()).forEach((kind, count) -> counts.put(kind, count.get()));
        return counts;
    }

    public Transition lastTransition(final String group)
    {
        return lastTransitions.get(group);
    }

    /** How long the group's primary has been silent as this target counts it (ms). */
    public long silentMs(final Group group)
    {
        final long primaryNs = group.primaryHeardNs();
        final long heardNs = primaryNs - listeningSinceNs > 0 ? primaryNs : listeningSinceNs;
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - heardNs);
    }

    private void run(final AutoFailoverPolicy policy)
    {
        while (running)
        {
            final Group group = groups.get(policy.group());
            if (group != null)
            {
                try
                {
                    if (group.state().role() == GroupRole.REPLICATING)
                    {
                        evaluateFailover(group, policy);
                    }
                    else if (policy.failback())
                    {
                        evaluateFailback(group, policy);
                    }
                }
                catch (final IOException | RuntimeException ex)
                {
                    LOG.error("group={} automatic failover policy failed: {}", policy.group(), ex.toString());
                }
            }
            try
            {
                Thread.sleep(TICK_MS);
            }
            catch (final InterruptedException ex)
            {
                return;
            }
        }
    }

    private void evaluateFailover(final Group group, final AutoFailoverPolicy policy) throws IOException
    {
        final String name = group.name();
        final long nowNs = System.nanoTime();
        final long silentMs = silentMs(group);
        final AgentLink primary = group.primary();
        final long durable = group.store().lastSeq();
        final long newest = group.primaryNewestSeq();
        long lagMs = 0;
        if (primary != null && !primary.isClosed() && newest > durable)
        {
            final long since = behindSinceNs.computeIfAbsent(name, k -> nowNs);
            lagMs = TimeUnit.NANOSECONDS.toMillis(nowNs - since);
        }
        else
        {
            behindSinceNs.remove(name);
        }
        final String reason;
        if (silentMs >= policy.silenceMs())
        {
            reason = "primary silent for " + silentMs / 1000 + " s (policy: " + policy.silenceMs() / 1000 + " s)";
        }
        else if (policy.maxLagMs() > 0 && lagMs >= policy.maxLagMs())
        {
            reason = "target behind the primary for " + lagMs / 1000 + " s (durable seq " + durable + ", primary at " +
                newest + "; policy: " + policy.maxLagMs() / 1000 + " s)";
        }
        else
        {
            lastBlocked.remove(name);
            return;
        }
        if (nowNs - nextFailoverAttemptNs.getOrDefault(name, nowNs) < 0)
        {
            return;
        }
        final boolean trees = !group.trees().isEmpty();
        if (trees && !group.volumeSpecs().isEmpty())
        {
            blocked(group, "FAILOVER_BLOCKED", reason + "; but the group holds both tree and block volumes, which " +
                "this version fails over only as a drill (failover --test --to DIR)");
            return;
        }
        final Checkpoint image = chooseImage(group);
        final GroupState before = group.state();
        if (image == null)
        {
            blocked(group, "FAILOVER_BLOCKED", reason + "; but the group has no checkpoint to fail over to");
            return;
        }
        final long epoch = before.epoch() + 1;
        final List<Path> paths;
        try
        {
            paths = trees ? recoveryTrees(group, policy.recoveryTo(), epoch) :
                recoveryPaths(group.volumeSpecs(), policy.recoveryTo(), epoch);
        }
        catch (final IOException ex)
        {
            blocked(group, "FAILOVER_BLOCKED", reason + "; but the recovery volume cannot go to " +
                policy.recoveryTo() + ": " + ex.getMessage());
            return;
        }
        final String why = "automatic: " + reason + "; image " + new ImageId(name, image.seq()) + " is the newest " +
            image.consistency() + "-consistent checkpoint";
        final FailoverService.Result result;
        try
        {
            result = failover.failover(group, image.seq(), paths, null, why);
        }
        catch (final IllegalStateException ex)
        {
            return; // An admin failed it over meanwhile.
        }
        catch (final IOException ex)
        {
            // Rolled back: try again after another silence window, not every tick (each try bumps the epoch).
            nextFailoverAttemptNs.put(name, nowNs + TimeUnit.MILLISECONDS.toNanos(policy.silenceMs()));
            blocked(group, "FAILOVER_BLOCKED", reason + "; but the failover failed: " + ex.getMessage());
            return;
        }
        behindSinceNs.remove(name);
        lastBlocked.remove(name);
        Transition transition = new Transition("FAILOVER", System.currentTimeMillis(), result.epoch(), image.seq(),
            why, paths.stream().map(Path::toString).toList(), null, null);
        record(group, transition);
        LOG.warn("group={} epoch={} seq={} AUTOMATIC FAILOVER: {}; recovery volumes {}", name, result.epoch(),
            image.seq(), why, transition.recoveryPaths());
        if (policy.hook() != null)
        {
            final HookScript.Outcome outcome = runHook(policy, "failover", name, image.seq(), result.epoch(),
                transition.recoveryPaths(), why);
            transition = transition.withHook(outcome.timedOut() ? -1 : outcome.exitCode(), outcome.describe());
            record(group, transition);
            final String line = "group=" + name + " epoch=" + result.epoch() + " seq=" + image.seq() +
                " failover hook " + policy.hook() + " " + outcome.describe() +
                (outcome.output().isEmpty() ? "" : ": " + outcome.output().lines().reduce((a, b) -> b).orElse(""));
            if (outcome.succeeded())
            {
                LOG.info(line);
            }
            else
            {
                LOG.error(line);
            }
        }
    }

    /** The newest application-consistent checkpoint, else the newest checkpoint, else null. */
    static Checkpoint chooseImage(final Group group)
    {
        final List<Checkpoint> checkpoints = group.store().checkpoints();
        for (int i = checkpoints.size() - 1; i >= 0; i--)
        {
            if (checkpoints.get(i).applicationConsistent())
            {
                return checkpoints.get(i);
            }
        }
        return checkpoints.isEmpty() ? null : checkpoints.get(checkpoints.size() - 1);
    }

    /**
     * The policy's path, or (when a previous failover left a volume there) a name with the new epoch in
     * it: an automatic failover at 3 a.m. must not stop on a file an earlier one left behind.
     */
    static List<Path> recoveryPaths(final List<VolumeSpec> specs, final Path to, final long epoch) throws IOException
    {
        final List<Path> paths = new ArrayList<>();
        if (specs.size() == 1)
        {
            final Path path = Files.exists(to) ? to.resolveSibling(to.getFileName() + ".epoch-" + epoch) : to;
            if (Files.exists(path))
            {
                throw new IOException("recovery volume " + path + " already exists");
            }
            paths.add(path);
            return paths;
        }
        Path dir = to;
        for (final VolumeSpec spec : specs)
        {
            if (Files.exists(to.resolve(spec.name() + ".img")))
            {
                dir = to.resolve("epoch-" + epoch);
                break;
            }
        }
        Files.createDirectories(dir);
        for (final VolumeSpec spec : specs)
        {
            paths.add(dir.resolve(spec.name() + ".img"));
        }
        return paths;
    }

    /**
     * The recovery directories of a tree group: the policy's directory while it is new or empty,
     * else one with the new epoch in its name (an earlier failover's tree stays where it was).
     */
    static List<Path> recoveryTrees(final Group group, final Path to, final long epoch) throws IOException
    {
        final Path dir = Files.exists(to) && !isEmptyDirectory(to) ? to.resolveSibling(to.getFileName() + ".epoch-" + epoch) : to;
        if (Files.exists(dir) && !isEmptyDirectory(dir))
        {
            throw new IOException("recovery directory " + dir + " already exists and is not empty");
        }
        for (final String tree : group.trees().names())
        {
            if (!group.trees().store(tree).checkpoints().contains(chooseImage(group).seq()))
            {
                throw new IOException("tree volume '" + tree + "' no longer holds the image (retention)");
            }
        }
        return TreeRecovery.paths(group, dir);
    }

    private static boolean isEmptyDirectory(final Path dir) throws IOException
    {
        if (!Files.isDirectory(dir))
        {
            return false;
        }
        try (java.util.stream.Stream<Path> entries = Files.list(dir))
        {
            return entries.findAny().isEmpty();
        }
    }

    private void evaluateFailback(final Group group, final AutoFailoverPolicy policy) throws IOException
    {
        final String name = group.name();
        final AgentLink demoted = group.demoted();
        final long sinceNs = group.demotedSinceNs();
        final long nowNs = System.nanoTime();
        final boolean trees = !group.trees().isEmpty();
        // A tree failback asks the old primary for its tree's manifest: it needs no block failback report.
        if (demoted == null || demoted.isClosed() || sinceNs == 0 || (!trees && group.failbackReport() == null) ||
            TimeUnit.NANOSECONDS.toMillis(nowNs - sinceNs) < policy.failbackHealthyMs() ||
            nowNs - nextFailbackAttemptNs.getOrDefault(name, nowNs) < 0)
        {
            return;
        }
        nextFailbackAttemptNs.put(name, nowNs + TimeUnit.MILLISECONDS.toNanos(policy.failbackHealthyMs()));
        final String reason = "old primary " + demoted.agentName() + " connected and healthy for " +
            TimeUnit.NANOSECONDS.toSeconds(nowNs - sinceNs) + " s (policy: " + policy.failbackHealthyMs() / 1000 + " s)";
        final GroupState state = group.state();
        try
        {
            // Validates the primary (connected, sizes, epoch, its report) before anything moves.
            if (trees)
            {
                failback.trees().plan(group);
            }
            else
            {
                failback.plan(group);
            }
        }
        catch (final AdminException ex)
        {
            blocked(group, "FAILBACK_BLOCKED", reason + "; but validation failed: " + ex.getMessage());
            return;
        }
        Integer hookExit = null;
        String hookOutcome = null;
        if (policy.hook() != null)
        {
            // Before the cutover: the hook stops the application on the recovery volume.
            final HookScript.Outcome outcome = runHook(policy, "failback", name, state.failover().imageSeq(),
                state.epoch(), state.failover().recoveryPaths(), reason);
            hookExit = outcome.timedOut() ? -1 : outcome.exitCode();
            hookOutcome = outcome.describe();
            if (!outcome.succeeded())
            {
                blocked(group, "FAILBACK_BLOCKED", reason + "; but the hook " + outcome.describe());
                return;
            }
        }
        final String shipped;
        try
        {
            if (trees)
            {
                final TreeFailback.Result result = failback.trees().execute(group);
                shipped = "shipped " + result.opsShipped() + " tree ops (" + result.dataBytesShipped() + " data bytes) in " +
                    result.passes() + " pass(es), verified " + result.verifiedEntries() + " entries";
            }
            else
            {
                final FailbackService.Result result = failback.execute(group, null);
                shipped = "shipped " + result.blocksShipped() + " blocks in " + result.passes() + " pass(es), verified " +
                    result.verifiedBlocks();
            }
        }
        catch (final AdminException ex)
        {
            blocked(group, "FAILBACK_BLOCKED", reason + "; failback failed: " + ex.getMessage());
            return;
        }
        final Transition transition = new Transition("FAILBACK", System.currentTimeMillis(), group.state().epoch(),
            group.store().lastSeq(), reason + "; " + shipped, state.failover().recoveryPaths(), hookExit, hookOutcome);
        record(group, transition);
        LOG.warn("group={} epoch={} seq={} AUTOMATIC FAILBACK: {}", name, transition.epoch(), transition.imageSeq(),
            transition.reason());
    }

    private void blocked(final Group group, final String kind, final String why) throws IOException
    {
        if (why.equals(lastBlocked.get(group.name())))
        {
            return;
        }
        lastBlocked.put(group.name(), why);
        final GroupState state = group.state();
        record(group, new Transition(kind, System.currentTimeMillis(), state.epoch(), 0, why, List.of(), null, null));
        LOG.error("group={} epoch={} seq={} automatic {} blocked: {}", group.name(), state.epoch(),
            group.store().lastSeq(), kind.startsWith("FAILOVER") ? "failover" : "failback", why);
    }

    private void record(final Group group, final Transition transition) throws IOException
    {
        final Transition previous = lastTransitions.put(group.name(), transition);
        // A hook's outcome re-records the same transition: counted once.
        if (previous == null || previous.atMs() != transition.atMs() || !previous.kind().equals(transition.kind()))
        {
            transitionCounts.computeIfAbsent(group.name(), g -> new ConcurrentHashMap<>())
                .computeIfAbsent(transition.kind(), k -> new AtomicLong()).incrementAndGet();
        }
        transition.write(group.dir());
    }

    private static HookScript.Outcome runHook(final AutoFailoverPolicy policy, final String kind, final String group,
        final long imageSeq, final long epoch, final List<String> recoveryPaths, final String reason)
    {
        return HookScript.run(List.of(policy.hook().toString()), Map.of(
            "TRANSITION", kind,
            "GROUP", group,
            "IMAGE", new ImageId(group, imageSeq).toString(),
            "EPOCH", Long.toString(epoch),
            "RECOVERY_PATH", String.join(":", recoveryPaths),
            "REASON", reason), policy.hookTimeoutMs());
    }

    @Override
    public void close()
    {
        running = false;
        threads.forEach(Thread::interrupt);
        final long deadlineNs = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        for (final Thread thread : threads)
        {
            try
            {
                thread.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadlineNs - System.nanoTime())));
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
