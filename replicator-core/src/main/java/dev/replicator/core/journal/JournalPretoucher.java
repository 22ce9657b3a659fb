package dev.replicator.core.journal;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Faults the pages of the current cycle file into the page cache ahead of the appender, from its own
 * thread, so an append writes to a page that already exists instead of allocating and zeroing one
 * (a first touch: on this machine memory not touched recently costs ~8x, and the journal's p99.9
 * came from those faults). It only reads the file, at and beyond the appender's position, so it
 * cannot change what Chronicle writes.
 *
 * <p>The appender publishes its file and position with two volatile stores per append
 * ({@link #onAppended}); this thread polls every {@link #POLL_INTERVAL_NS} rather than being woken,
 * which would cost the appender a system call.
 */
final class JournalPretoucher implements AutoCloseable
{
    /** {@code false} turns pre-touching off (to measure what it buys); read when a journal first appends. */
    static final String ENABLED_PROP_NAME = "replicator.journal.pretouch";
    static final boolean ENABLED_DEFAULT = true;
    /** How far ahead of the appender pages are faulted in: at 200 MB/s, 40 ms of appends. */
    static final long AHEAD_BYTES = 8L << 20;
    static final long POLL_INTERVAL_NS = TimeUnit.MILLISECONDS.toNanos(1);
    private static final Logger LOG = LoggerFactory.getLogger(JournalPretoucher.class);
    private static final int READ_BYTES = 1 << 20;
    private static final long PAGE_MASK = ~4095L;

    private final Thread thread;
    private volatile Path file;
    private volatile long position;
    private volatile boolean running = true;

    static boolean enabled()
    {
        final String value = System.getProperty(ENABLED_PROP_NAME);
        return value == null ? ENABLED_DEFAULT : Boolean.parseBoolean(value);
    }

    JournalPretoucher(final String name)
    {
        thread = new Thread(this::run, "journal-pretouch-" + name);
        thread.setDaemon(true);
        thread.start();
    }

    /** Called by the appender (under the journal's append lock) after each entry. */
    void onAppended(final Path cycleFile, final long writePosition)
    {
        if (file != cycleFile)
        {
            file = cycleFile;
        }
        position = writePosition;
    }

    private void run()
    {
        final ByteBuffer scratch = ByteBuffer.allocateDirect(READ_BYTES);
        Path current = null;
        FileChannel channel = null;
        long touched = 0;
        try
        {
            while (running)
            {
                final Path target = file;
                final long appended = position;
                if (target != null && !target.equals(current))
                {
                    closeQuietly(channel);
                    channel = null;
                    current = target;
                    touched = appended & PAGE_MASK;
                    try
                    {
                        channel = FileChannel.open(target, StandardOpenOption.READ);
                    }
                    catch (final IOException ex)
                    {
                        LOG.debug("cannot pre-touch {}: {}", target, ex.getMessage());
                    }
                }
                if (channel != null)
                {
                    touched = Math.max(touched, appended & PAGE_MASK);
                    final long until = appended + AHEAD_BYTES;
                    while (running && touched < until)
                    {
                        scratch.clear().limit((int)Math.min(READ_BYTES, until - touched));
                        final int n = channel.read(scratch, touched);
                        if (n <= 0)
                        {
                            break;
                        }
                        touched += n;
                    }
                }
                LockSupport.parkNanos(POLL_INTERVAL_NS);
            }
        }
        catch (final IOException ex)
        {
            // A deleted or unreadable cycle file: appends go on, only without pre-touched pages.
            LOG.debug("journal pre-touch stopped: {}", ex.getMessage());
        }
        finally
        {
            closeQuietly(channel);
        }
    }

    private static void closeQuietly(final FileChannel channel)
    {
        if (channel != null)
        {
            try
            {
                channel.close();
            }
            catch (final IOException ignore)
            {
                // Read-only: nothing was written that a failed close could lose.
            }
        }
    }

    @Override
    public void close()
    {
        running = false;
        LockSupport.unpark(thread);
        try
        {
            thread.join(TimeUnit.SECONDS.toMillis(5));
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
        }
    }
}
