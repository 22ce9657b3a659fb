package dev.replicator.target.group;

/**
 * Bytes per second averaged over the last {@link #WINDOW_SECONDS} seconds, from one-second buckets.
 * Thread-safe (synchronized: one call per frame, not per block).
 */
public final class RateMeter
{
    static final int WINDOW_SECONDS = 10;

    private final long[] bytes = new long[WINDOW_SECONDS];
    private final long[] second = new long[WINDOW_SECONDS];

    public synchronized void add(final long nowMs, final long amount)
    {
        final long s = nowMs / 1000;
        final int slot = (int)(s % WINDOW_SECONDS);
        if (second[slot] != s)
        {
            second[slot] = s;
            bytes[slot] = 0;
        }
        bytes[slot] += amount;
    }

    /** Average bytes per second over the window ending now (a new meter ramps up over it). */
    public synchronized double perSecond(final long nowMs)
    {
        final long s = nowMs / 1000;
        long sum = 0;
        for (int i = 0; i < WINDOW_SECONDS; i++)
        {
            if (s - second[i] < WINDOW_SECONDS)
            {
                sum += bytes[i];
            }
        }
        return sum / (double)WINDOW_SECONDS;
    }
}
