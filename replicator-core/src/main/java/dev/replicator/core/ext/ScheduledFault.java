package dev.replicator.core.ext;

/**
 * A fault at a fixed place: byte {@code atByte} (0-based) of one direction's stream of the
 * {@code connection}-th connection the proxy accepts (1-based). Deterministic, unlike the rates of a
 * {@link FaultPlan}: the way to write a test that expects an exact number of faults, or damage to a
 * particular field of a frame.
 *
 * @param durationMs how long a {@link FaultKind#DELAY} or {@link FaultKind#STALL} lasts; 0 for the
 *                   other kinds.
 * @param flipBit    the bit (0-7) a {@link FaultKind#FLIP} inverts, or {@link #RANDOM_BIT} for one
 *                   drawn from the plan's seed; {@link #RANDOM_BIT} for the other kinds.
 */
public record ScheduledFault(
    int connection, FaultDirection direction, long atByte, FaultKind kind, long durationMs, int flipBit)
{
    public static final int RANDOM_BIT = -1;

    public ScheduledFault
    {
        if (connection < 1)
        {
            throw new IllegalArgumentException("connection numbers start at 1, got " + connection);
        }
        if (direction == null || kind == null)
        {
            throw new IllegalArgumentException("a scheduled fault needs a direction and a kind");
        }
        if (atByte < 0 || durationMs < 0)
        {
            throw new IllegalArgumentException("atByte and durationMs must not be negative");
        }
        if (flipBit < RANDOM_BIT || flipBit > 7 || (flipBit != RANDOM_BIT && kind != FaultKind.FLIP))
        {
            throw new IllegalArgumentException("flipBit must be 0-7 for a FLIP, or RANDOM_BIT, got " + flipBit);
        }
    }

    /** A DROP, RESET, TRUNCATE, or a FLIP of a random bit. */
    public static ScheduledFault of(
        final int connection, final FaultDirection direction, final long atByte, final FaultKind kind)
    {
        return new ScheduledFault(connection, direction, atByte, kind, 0, RANDOM_BIT);
    }

    /** A DELAY or STALL of {@code durationMs}. */
    public static ScheduledFault lasting(
        final int connection, final FaultDirection direction, final long atByte, final FaultKind kind,
        final long durationMs)
    {
        if (kind != FaultKind.DELAY && kind != FaultKind.STALL)
        {
            throw new IllegalArgumentException(kind + " has no duration");
        }
        return new ScheduledFault(connection, direction, atByte, kind, durationMs, RANDOM_BIT);
    }

    /** A FLIP of bit {@code bit} (0 = least significant) of the byte. */
    public static ScheduledFault flip(
        final int connection, final FaultDirection direction, final long atByte, final int bit)
    {
        return new ScheduledFault(connection, direction, atByte, FaultKind.FLIP, 0, bit);
    }
}
