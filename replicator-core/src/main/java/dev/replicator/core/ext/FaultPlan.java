package dev.replicator.core.ext;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * What a {@link FaultProxy} injects: a seed, random fault rates per direction and kind, the ranges
 * of delay and stall durations, and a schedule of faults at fixed bytes. Immutable; build one with
 * {@link #builder()}.
 *
 * <p><b>Rates are per byte, not per read.</b> A rate is a mean number of faults per MiB of a
 * direction's stream. Each direction of each connection draws the gaps between its faults
 * (exponential, so faults are a Poisson process over the bytes) from its own
 * {@code java.util.Random}, seeded from the plan's seed, the connection number and the direction.
 * How a stream is cut into reads depends on timing; where its bytes are does not, so the same seed
 * puts the same faults at the same byte offsets of the same connections. A run replays as far as
 * its byte streams do.
 *
 * <p>Kinds that end a connection ({@link FaultKind#endsConnection()}) reset the count: the next
 * connection starts at byte 0 with fresh draws. Rates are best kept low enough that a connection
 * usually carries its hello and a few frames before its first fault.
 */
public final class FaultPlan
{
    public static final int DEFAULT_CHUNK_BYTES = 64 * 1024;
    public static final long DEFAULT_DELAY_MIN_MS = 1;
    public static final long DEFAULT_DELAY_MAX_MS = 50;
    public static final long DEFAULT_STALL_MIN_MS = 100;
    public static final long DEFAULT_STALL_MAX_MS = 1000;
    public static final int DEFAULT_CONNECT_TIMEOUT_MS = 2000;

    private static final double BYTES_PER_MIB = 1024.0 * 1024.0;
    private static final FaultKind[] KINDS = FaultKind.values();
    private static final FaultDirection[] DIRECTIONS = FaultDirection.values();

    private final long seed;
    private final double[][] faultsPerMiB;
    private final double[] totalPerByte;
    private final long delayMinMs;
    private final long delayMaxMs;
    private final long stallMinMs;
    private final long stallMaxMs;
    private final int chunkBytes;
    private final int connectTimeoutMs;
    private final List<ScheduledFault> schedule;

    private FaultPlan(final Builder b)
    {
        this.seed = b.seed;
        this.faultsPerMiB = new double[DIRECTIONS.length][];
        this.totalPerByte = new double[DIRECTIONS.length];
        for (int d = 0; d < DIRECTIONS.length; d++)
        {
            faultsPerMiB[d] = b.faultsPerMiB[d].clone();
            double total = 0;
            for (final double rate : faultsPerMiB[d])
            {
                total += rate;
            }
            totalPerByte[d] = total / BYTES_PER_MIB;
        }
        this.delayMinMs = b.delayMinMs;
        this.delayMaxMs = b.delayMaxMs;
        this.stallMinMs = b.stallMinMs;
        this.stallMaxMs = b.stallMaxMs;
        this.chunkBytes = b.chunkBytes;
        this.connectTimeoutMs = b.connectTimeoutMs;
        final List<ScheduledFault> sorted = new ArrayList<>(b.schedule);
        sorted.sort(Comparator.comparingInt(ScheduledFault::connection)
            .thenComparing(ScheduledFault::direction)
            .thenComparingLong(ScheduledFault::atByte));
        this.schedule = List.copyOf(sorted);
    }

    public static Builder builder()
    {
        return new Builder();
    }

    /** A plan that injects nothing: the proxy only forwards (and counts). Random seed. */
    public static FaultPlan none()
    {
        return builder().build();
    }

    public long seed()
    {
        return seed;
    }

    /** Mean faults of {@code kind} per MiB of {@code direction}'s stream. */
    public double faultsPerMiB(final FaultDirection direction, final FaultKind kind)
    {
        return faultsPerMiB[direction.ordinal()][kind.ordinal()];
    }

    public long delayMinMs()
    {
        return delayMinMs;
    }

    public long delayMaxMs()
    {
        return delayMaxMs;
    }

    public long stallMinMs()
    {
        return stallMinMs;
    }

    public long stallMaxMs()
    {
        return stallMaxMs;
    }

    /** Largest read, and so the most bytes the proxy holds per direction at a time. */
    public int chunkBytes()
    {
        return chunkBytes;
    }

    /** How long the proxy waits to connect to the server for each accepted client. */
    public int connectTimeoutMs()
    {
        return connectTimeoutMs;
    }

    /** The scheduled faults, by connection, direction and byte. */
    public List<ScheduledFault> schedule()
    {
        return schedule;
    }

    /** The scheduled faults of one direction of one connection, by byte. */
    List<ScheduledFault> scheduleFor(final int connection, final FaultDirection direction)
    {
        final List<ScheduledFault> result = new ArrayList<>();
        for (final ScheduledFault fault : schedule)
        {
            if (fault.connection() == connection && fault.direction() == direction)
            {
                result.add(fault);
            }
        }
        return result;
    }

    /** Sum of the rates of one direction, in faults per byte. */
    double totalFaultsPerByte(final FaultDirection direction)
    {
        return totalPerByte[direction.ordinal()];
    }

    /** The kind whose share of the direction's total rate contains {@code unit} (in [0, 1)). */
    FaultKind kindAt(final FaultDirection direction, final double unit)
    {
        final double[] rates = faultsPerMiB[direction.ordinal()];
        final double target = unit * totalPerByte[direction.ordinal()] * BYTES_PER_MIB;
        double cumulative = 0;
        FaultKind last = null;
        for (int k = 0; k < KINDS.length; k++)
        {
            if (rates[k] > 0)
            {
                cumulative += rates[k];
                last = KINDS[k];
                if (target < cumulative)
                {
                    return last;
                }
            }
        }
        return last;
    }

    /** The random generator of one direction of one connection: seed, connection and direction mixed. */
    long streamSeed(final int connection, final FaultDirection direction)
    {
        // SplitMix64's finaliser: nearby connection numbers give unrelated streams.
        long z = seed + 0x9E3779B97F4A7C15L * (2L * connection + direction.ordinal() + 1);
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** One line: the seed first, so a log or test output shows how to replay the run. */
    @Override
    public String toString()
    {
        final StringBuilder sb = new StringBuilder("seed=").append(seed);
        for (final FaultDirection direction : DIRECTIONS)
        {
            sb.append(' ').append(direction.name().toLowerCase(java.util.Locale.ROOT)).append("PerMiB[");
            boolean first = true;
            for (final FaultKind kind : KINDS)
            {
                final double rate = faultsPerMiB(direction, kind);
                if (rate > 0)
                {
                    sb.append(first ? "" : " ").append(kind).append('=').append(rate);
                    first = false;
                }
            }
            sb.append(']');
        }
        return sb.append(" delayMs=").append(delayMinMs).append('-').append(delayMaxMs)
            .append(" stallMs=").append(stallMinMs).append('-').append(stallMaxMs)
            .append(" scheduled=").append(schedule.size())
            .toString();
    }

    /** Collects a plan's settings; {@link #build()} validates them. Not thread-safe. */
    public static final class Builder
    {
        private long seed = ThreadLocalRandom.current().nextLong();
        private final double[][] faultsPerMiB = new double[DIRECTIONS.length][KINDS.length];
        private long delayMinMs = DEFAULT_DELAY_MIN_MS;
        private long delayMaxMs = DEFAULT_DELAY_MAX_MS;
        private long stallMinMs = DEFAULT_STALL_MIN_MS;
        private long stallMaxMs = DEFAULT_STALL_MAX_MS;
        private int chunkBytes = DEFAULT_CHUNK_BYTES;
        private int connectTimeoutMs = DEFAULT_CONNECT_TIMEOUT_MS;
        private final List<ScheduledFault> schedule = new ArrayList<>();

        private Builder()
        {
        }

        /** The seed of every random draw; default: a random one (print {@link FaultPlan#seed()}). */
        public Builder seed(final long seed)
        {
            this.seed = seed;
            return this;
        }

        /** Mean faults of {@code kind} per MiB of {@code direction}'s stream; 0 (the default) for none. */
        public Builder faultsPerMiB(final FaultDirection direction, final FaultKind kind, final double rate)
        {
            if (!(rate >= 0) || Double.isInfinite(rate))
            {
                throw new IllegalArgumentException("a fault rate must be a finite number >= 0, got " + rate);
            }
            faultsPerMiB[direction.ordinal()][kind.ordinal()] = rate;
            return this;
        }

        /** The same rate in both directions. */
        public Builder faultsPerMiB(final FaultKind kind, final double rate)
        {
            for (final FaultDirection direction : DIRECTIONS)
            {
                faultsPerMiB(direction, kind, rate);
            }
            return this;
        }

        /** A {@link FaultKind#DELAY} lasts a uniformly drawn number of ms in [min, max]. */
        public Builder delayMs(final long minMs, final long maxMs)
        {
            this.delayMinMs = minMs;
            this.delayMaxMs = maxMs;
            return this;
        }

        /** A {@link FaultKind#STALL} lasts a uniformly drawn number of ms in [min, max]. */
        public Builder stallMs(final long minMs, final long maxMs)
        {
            this.stallMinMs = minMs;
            this.stallMaxMs = maxMs;
            return this;
        }

        public Builder chunkBytes(final int chunkBytes)
        {
            this.chunkBytes = chunkBytes;
            return this;
        }

        public Builder connectTimeoutMs(final int connectTimeoutMs)
        {
            this.connectTimeoutMs = connectTimeoutMs;
            return this;
        }

        /**
         * Adds a fault at a fixed byte: {@link ScheduledFault#of}, or for DELAY and STALL
         * {@link ScheduledFault#lasting} the range's minimum as set so far.
         */
        public Builder at(final int connection, final FaultDirection direction, final long atByte, final FaultKind kind)
        {
            if (kind == FaultKind.DELAY || kind == FaultKind.STALL)
            {
                return at(ScheduledFault.lasting(connection, direction, atByte, kind,
                    kind == FaultKind.STALL ? stallMinMs : delayMinMs));
            }
            return at(ScheduledFault.of(connection, direction, atByte, kind));
        }

        public Builder at(final ScheduledFault fault)
        {
            schedule.add(fault);
            return this;
        }

        /** @throws IllegalArgumentException if a range or size is out of bounds. */
        public FaultPlan build()
        {
            if (delayMinMs < 0 || delayMaxMs < delayMinMs || stallMinMs < 0 || stallMaxMs < stallMinMs)
            {
                throw new IllegalArgumentException("delay and stall ranges need 0 <= min <= max, got delay " +
                    delayMinMs + "-" + delayMaxMs + " ms, stall " + stallMinMs + "-" + stallMaxMs + " ms");
            }
            if (chunkBytes < 1 || chunkBytes > 16 << 20)
            {
                throw new IllegalArgumentException("chunkBytes must be in [1, 16 MiB], got " + chunkBytes);
            }
            if (connectTimeoutMs < 1)
            {
                throw new IllegalArgumentException("connectTimeoutMs must be positive, got " + connectTimeoutMs);
            }
            return new FaultPlan(this);
        }
    }
}
