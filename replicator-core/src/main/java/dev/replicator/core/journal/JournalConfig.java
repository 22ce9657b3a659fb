package dev.replicator.core.journal;

import net.openhft.chronicle.core.time.SystemTimeProvider;
import net.openhft.chronicle.core.time.TimeProvider;
import net.openhft.chronicle.queue.RollCycle;
import net.openhft.chronicle.queue.RollCycles;

import java.nio.file.Path;
import java.util.Objects;

/**
 * Immutable settings of one group's {@link Journal}. Made with {@link #builder(Path)}; {@link
 * Builder#build()} validates and fills defaults.
 */
public final class JournalConfig
{
    /** One cycle file an hour: a released (acknowledged) hour is one file delete. */
    public static final RollCycle ROLL_CYCLE_DEFAULT = RollCycles.FAST_HOURLY;
    public static final int MAX_PAYLOAD_BYTES_DEFAULT = 1024 * 1024;
    /** Upper bound for {@code maxPayloadBytes}: one entry must fit Chronicle's mapping overlap. */
    public static final int MAX_PAYLOAD_BYTES_LIMIT = 16 * 1024 * 1024;

    /** Chronicle's own default mapping block on 64-bit JVMs; kept unless entries need more. */
    static final long QUEUE_BLOCK_SIZE_BYTES_DEFAULT = 64L * 1024 * 1024;

    private final Path directory;
    private final RollCycle rollCycle;
    private final TimeProvider timeProvider;
    private final int maxPayloadBytes;

    private JournalConfig(final Builder builder)
    {
        this.directory = builder.directory;
        this.rollCycle = builder.rollCycle;
        this.timeProvider = builder.timeProvider;
        this.maxPayloadBytes = builder.maxPayloadBytes;
    }

    public static Builder builder(final Path directory)
    {
        return new Builder(directory);
    }

    /** The group's journal directory: holds {@code journal.meta} and the queue's files. */
    public Path directory()
    {
        return directory;
    }

    /** How often the queue starts a new cycle file. A queue keeps the roll cycle it was created with. */
    public RollCycle rollCycle()
    {
        return rollCycle;
    }

    /** Clock for entry timestamps and for the queue's cycle roll. */
    public TimeProvider timeProvider()
    {
        return timeProvider;
    }

    /** Largest payload of one entry (block data of a WRITE, UTF-8 label of a CHECKPOINT). */
    public int maxPayloadBytes()
    {
        return maxPayloadBytes;
    }

    /**
     * Chronicle maps a cycle file in blocks and lets one document grow into an overlap of a quarter
     * block past the block's end, so the largest document is about {@code blockSize / 4}. Keep twice
     * the largest entry within the overlap, and never go below Chronicle's default block.
     */
    long queueBlockSizeBytes()
    {
        final long neededBytes = 8L * (JournalEntryDescriptor.HEADER_LENGTH + (long)maxPayloadBytes +
            JournalEntryDescriptor.CRC_LENGTH);
        final long powerOfTwoBytes = Long.highestOneBit(neededBytes - 1) << 1;
        return Math.max(QUEUE_BLOCK_SIZE_BYTES_DEFAULT, powerOfTwoBytes);
    }

    @Override
    public String toString()
    {
        return "JournalConfig{directory=" + directory + ", rollCycle=" + rollCycle +
            ", maxPayloadBytes=" + maxPayloadBytes + '}';
    }

    /** Collects settings; not thread-safe. */
    public static final class Builder
    {
        private final Path directory;
        private RollCycle rollCycle = ROLL_CYCLE_DEFAULT;
        private TimeProvider timeProvider = SystemTimeProvider.INSTANCE;
        private int maxPayloadBytes = MAX_PAYLOAD_BYTES_DEFAULT;

        private Builder(final Path directory)
        {
            this.directory = Objects.requireNonNull(directory, "directory");
        }

        public Builder rollCycle(final RollCycle rollCycle)
        {
            this.rollCycle = Objects.requireNonNull(rollCycle, "rollCycle");
            return this;
        }

        public Builder timeProvider(final TimeProvider timeProvider)
        {
            this.timeProvider = Objects.requireNonNull(timeProvider, "timeProvider");
            return this;
        }

        public Builder maxPayloadBytes(final int maxPayloadBytes)
        {
            this.maxPayloadBytes = maxPayloadBytes;
            return this;
        }

        /** @throws IllegalArgumentException if a setting is out of range. */
        public JournalConfig build()
        {
            if (maxPayloadBytes < 1 || maxPayloadBytes > MAX_PAYLOAD_BYTES_LIMIT)
            {
                throw new IllegalArgumentException("journal maxPayloadBytes must be in 1.." +
                    MAX_PAYLOAD_BYTES_LIMIT + ", was " + maxPayloadBytes);
            }
            return new JournalConfig(this);
        }
    }
}
