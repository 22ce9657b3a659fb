package dev.replicator.core.test;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * Waits for a condition in tests without {@code Thread.sleep}: checks it, parks 1 ms, checks again,
 * until it holds or the deadline passes. Deadline checks are overflow-safe.
 */
public final class Await
{
    private static final long PARK_NS = TimeUnit.MILLISECONDS.toNanos(1);

    private Await()
    {
    }

    /** @throws AssertionError with {@code whatFailed} if the condition does not hold within {@code timeout}. */
    public static void until(final BooleanSupplier condition, final Duration timeout, final String whatFailed)
    {
        until(condition, timeout, () -> whatFailed);
    }

    /** As {@link #until(BooleanSupplier, Duration, String)}; the message is built only on failure. */
    public static void until(final BooleanSupplier condition, final Duration timeout, final Supplier<String> whatFailed)
    {
        final long deadlineNs = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean())
        {
            if (System.nanoTime() - deadlineNs >= 0)
            {
                throw new AssertionError(whatFailed.get() + " (waited " + timeout.toMillis() + " ms)");
            }
            LockSupport.parkNanos(PARK_NS);
        }
    }
}
