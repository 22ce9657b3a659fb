package dev.replicator.core.journal;

import net.openhft.chronicle.core.time.SetTimeProvider;
import net.openhft.chronicle.queue.rollcycles.TestRollCycles;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Child-JVM side of the crash test: appends {@code count} entries from {@link JournalTestData}
 * (rolling to a new one-second cycle every {@code entriesPerCycle}), never syncs, prints
 * {@code appended lastSeq=N}, then parks until it is killed.
 *
 * <p>Args: {@code <journal directory> <count> <entriesPerCycle>}.
 */
public final class JournalAppenderMain
{
    static final String APPENDED_LINE_PREFIX = "appended lastSeq=";

    private JournalAppenderMain()
    {
    }

    public static void main(final String[] args)
    {
        final Path directory = Path.of(args[0]);
        final int count = Integer.parseInt(args[1]);
        final int entriesPerCycle = Integer.parseInt(args[2]);
        // Start in the past so the test JVM, reopening on the real clock, is never behind the last cycle.
        final SetTimeProvider clock = new SetTimeProvider(TimeUnit.MILLISECONDS.toNanos(System.currentTimeMillis() - 120_000));
        final Journal journal = Journal.open(JournalConfig.builder(directory)
            .rollCycle(TestRollCycles.TEST_SECONDLY)
            .timeProvider(clock)
            .build());
        for (int i = 1; i <= count; i++)
        {
            JournalTestData.appendNext(journal);
            if (i % entriesPerCycle == 0)
            {
                clock.advanceMillis(1000);
            }
        }
        System.out.println(APPENDED_LINE_PREFIX + journal.lastSeq());
        System.out.flush();
        // No sync, no close: everything must survive SIGKILL through the page cache alone.
        while (true)
        {
            LockSupport.park();
        }
    }
}
