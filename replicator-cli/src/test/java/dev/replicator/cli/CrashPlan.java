package dev.replicator.cli;

import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * The crash matrix's settings and score card: one seed for the whole run (printed, and replayed with
 * {@code -Dcrash.seed=N}), the number of kill points ({@code -Dcrash.points=N}, default 50; the
 * {@code soak} profile asks for 200) shared out over the phases, an optional phase filter
 * ({@code -Dcrash.phases=failover,failback}), and the summary table printed after the run.
 *
 * <p>Each phase draws from its own {@link Random} derived from the seed, so replaying one phase
 * alone gives the same kill points as in the full run. Thread-safe (the summary is synchronised).
 */
final class CrashPlan
{
    static final String SEED_PROP_NAME = "crash.seed";
    static final String POINTS_PROP_NAME = "crash.points";
    static final String PHASES_PROP_NAME = "crash.phases";
    static final int POINTS_DEFAULT = 50;

    /** The phases of the matrix, with the share of the kill points each gets. */
    enum Phase
    {
        SHIPPING(0.36),
        CHECKPOINT(0.28),
        FAILOVER(0.18),
        FAILBACK(0.18);

        final double share;

        Phase(final double share)
        {
            this.share = share;
        }

        String label()
        {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** Which process a kill point kills. */
    enum Side
    {
        AGENT,
        TARGET
    }

    final long seed;
    final int totalPoints;
    private final Set<String> phases;
    private final Map<Phase, Row> rows = new EnumMap<>(Phase.class);

    private CrashPlan(final long seed, final int totalPoints, final Set<String> phases)
    {
        this.seed = seed;
        this.totalPoints = totalPoints;
        this.phases = phases;
    }

    static CrashPlan fromSystemProperties()
    {
        final String seedText = System.getProperty(SEED_PROP_NAME, "").trim();
        final long seed = seedText.isEmpty() ? System.nanoTime() ^ System.currentTimeMillis() : Long.parseLong(seedText);
        final int points = Integer.getInteger(POINTS_PROP_NAME, POINTS_DEFAULT);
        final String phaseText = System.getProperty(PHASES_PROP_NAME, "").trim().toLowerCase(Locale.ROOT);
        final Set<String> phases = phaseText.isEmpty() ? Set.of() : Set.of(phaseText.split("\\s*,\\s*"));
        return new CrashPlan(seed, Math.max(points, Phase.values().length), phases);
    }

    boolean runs(final Phase phase)
    {
        return phases.isEmpty() || phases.contains(phase.label());
    }

    /** This phase's kill points: its share of the total, at least one, the shares summing to the total. */
    int points(final Phase phase)
    {
        int assigned = 0;
        for (final Phase p : Phase.values())
        {
            if (p != Phase.SHIPPING)
            {
                assigned += share(p);
            }
        }
        return phase == Phase.SHIPPING ? totalPoints - assigned : share(phase);
    }

    private int share(final Phase phase)
    {
        return Math.max(1, (int)Math.round(totalPoints * phase.share));
    }

    Random random(final Phase phase)
    {
        // SplittableRandom-style mixing so that phases draw unrelated sequences from one seed.
        long z = seed + 0x9E3779B97F4A7C15L * (phase.ordinal() + 1);
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return new Random(z ^ (z >>> 31));
    }

    String replayHint()
    {
        return "-D" + SEED_PROP_NAME + "=" + seed + " -D" + POINTS_PROP_NAME + "=" + totalPoints;
    }

    /** Parks for {@code pauseNs}: the random delay before a kill (the experiment, not synchronisation). */
    static void pauseBeforeKill(final long pauseNs)
    {
        final long deadlineNs = System.nanoTime() + pauseNs;
        long remainingNs;
        while ((remainingNs = deadlineNs - System.nanoTime()) > 0)
        {
            LockSupport.parkNanos(remainingNs);
        }
    }

    static long millisToNanos(final long ms)
    {
        return TimeUnit.MILLISECONDS.toNanos(ms);
    }

    // ------------------------------------------------------------------ score card

    synchronized Row row(final Phase phase)
    {
        return rows.computeIfAbsent(phase, p -> new Row());
    }

    synchronized String summary()
    {
        final StringBuilder out = new StringBuilder();
        out.append(String.format("crash matrix summary (seed %d, %d points requested; replay: %s)%n", seed,
            totalPoints, replayHint()));
        out.append(String.format("%-11s %6s %12s %13s %7s %8s  %s%n", "PHASE", "POINTS", "AGENT KILLS",
            "TARGET KILLS", "PASSED", "SECONDS", "OUTCOMES"));
        int points = 0;
        int agent = 0;
        int target = 0;
        int passed = 0;
        double seconds = 0;
        for (final Map.Entry<Phase, Row> entry : rows.entrySet())
        {
            final Row row = entry.getValue();
            synchronized (row)
            {
                out.append(String.format("%-11s %6d %12d %13d %7d %8.1f  %s%n", entry.getKey().label(), row.points,
                    row.agentKills, row.targetKills, row.passed, row.nanos / 1e9, row.outcomes));
                points += row.points;
                agent += row.agentKills;
                target += row.targetKills;
                passed += row.passed;
                seconds += row.nanos / 1e9;
            }
        }
        out.append(String.format("%-11s %6d %12d %13d %7d %8.1f%n", "total", points, agent, target, passed, seconds));
        return out.toString();
    }

    /** One phase's line of the summary. Thread-safe. */
    static final class Row
    {
        private int points;
        private int agentKills;
        private int targetKills;
        private int passed;
        private long nanos;
        private final Map<String, Integer> outcomes = new TreeMap<>();

        synchronized void killed(final Side side)
        {
            points++;
            if (side == Side.AGENT)
            {
                agentKills++;
            }
            else
            {
                targetKills++;
            }
        }

        synchronized void passed(final String outcome)
        {
            passed++;
            outcomes.merge(outcome, 1, Integer::sum);
        }

        synchronized void elapsed(final long ns)
        {
            nanos += ns;
        }
    }
}
