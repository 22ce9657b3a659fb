package dev.replicator.core.ext;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.util.List;
import java.util.Random;

/**
 * Copies one direction of one {@link ProxyConnection} and injects that direction's faults at their
 * bytes. Runs on its own thread; reuses one buffer of {@link FaultPlan#chunkBytes()}.
 *
 * <p>Faults are placed in byte space, not per read: the next random fault is drawn as a gap from
 * the previous one, the scheduled ones are known; a read that spans a fault's byte applies it at
 * that byte. So where faults land does not depend on how TCP cut the stream into reads.
 */
final class FaultPump implements Runnable
{
    private final FaultProxy proxy;
    private final ProxyConnection connection;
    private final FaultDirection direction;
    private final Socket from;
    private final Socket to;
    private final FaultPlan plan;
    private final FaultCounters counters;
    private final Random random;
    private final double faultsPerByte;
    private final List<ScheduledFault> scheduled;
    private int nextScheduled;
    private long nextRandomAtByte;
    private FaultKind nextRandomKind;
    private long position;

    FaultPump(
        final FaultProxy proxy,
        final ProxyConnection connection,
        final FaultDirection direction,
        final Socket from,
        final Socket to)
    {
        this.proxy = proxy;
        this.connection = connection;
        this.direction = direction;
        this.from = from;
        this.to = to;
        this.plan = proxy.plan();
        this.counters = proxy.counters();
        this.random = new Random(plan.streamSeed(connection.number(), direction));
        this.faultsPerByte = plan.totalFaultsPerByte(direction);
        this.scheduled = plan.scheduleFor(connection.number(), direction);
        drawNextRandom(0);
    }

    @Override
    public void run()
    {
        try
        {
            pump(from.getInputStream(), to.getOutputStream(), new byte[plan.chunkBytes()]);
        }
        catch (final IOException ex)
        {
            if (!connection.isClosed())
            {
                // A peer reset or vanished: pass the reset on rather than a clean end of stream.
                connection.reset();
            }
        }
        finally
        {
            connection.onPumpEnd();
        }
    }

    private void pump(final InputStream in, final OutputStream out, final byte[] buffer) throws IOException
    {
        while (true)
        {
            final int n = in.read(buffer, 0, buffer.length);
            if (n < 0)
            {
                connection.onEndOfStream(to);
                return;
            }
            final long chunkEnd = position + n;
            int start = 0;
            while (true)
            {
                final long atByte = nextFaultAtByte();
                if (atByte >= chunkEnd)
                {
                    break;
                }
                final int index = (int)(atByte - position);
                final FaultKind kind;
                final long durationMs;
                int flipBit = ScheduledFault.RANDOM_BIT;
                if (isScheduledNext(atByte))
                {
                    final ScheduledFault fault = scheduled.get(nextScheduled++);
                    kind = fault.kind();
                    durationMs = fault.durationMs();
                    flipBit = fault.flipBit();
                }
                else
                {
                    kind = nextRandomKind;
                    durationMs = kind == FaultKind.DELAY ? uniform(plan.delayMinMs(), plan.delayMaxMs()) :
                        kind == FaultKind.STALL ? uniform(plan.stallMinMs(), plan.stallMaxMs()) : 0;
                    drawNextRandom(atByte + 1);
                }
                if (!proxy.faultsEnabled())
                {
                    continue;
                }
                counters.onFault(direction, kind);
                switch (kind)
                {
                    case FLIP ->
                    {
                        final int bit = flipBit == ScheduledFault.RANDOM_BIT ? random.nextInt(8) : flipBit;
                        buffer[index] ^= (byte)(1 << bit);
                        proxy.logFault(connection, direction, kind, atByte, "bit " + bit);
                    }
                    case DELAY ->
                    {
                        proxy.logFault(connection, direction, kind, atByte, durationMs + " ms");
                        forward(out, buffer, start, index);
                        start = index;
                        connection.pause(durationMs);
                    }
                    case STALL ->
                    {
                        proxy.logFault(connection, direction, kind, atByte, durationMs + " ms");
                        // Freeze first, then pass on the bytes before the fault byte: they were on
                        // the wire already, but nothing sent after this moment (e.g. a reply to
                        // them) may overtake the stall.
                        connection.stall(durationMs);
                        write(out, buffer, start, index);
                        start = index;
                    }
                    case TRUNCATE ->
                    {
                        proxy.logFault(connection, direction, kind, atByte, "");
                        forward(out, buffer, start, index);
                        connection.close();
                        return;
                    }
                    case DROP ->
                    {
                        proxy.logFault(connection, direction, kind, atByte, (n - start) + " bytes held discarded");
                        connection.close();
                        return;
                    }
                    case RESET ->
                    {
                        proxy.logFault(connection, direction, kind, atByte, "");
                        connection.reset();
                        return;
                    }
                    default -> throw new IllegalStateException("unknown fault kind " + kind);
                }
            }
            forward(out, buffer, start, n);
            position = chunkEnd;
        }
    }

    private void forward(final OutputStream out, final byte[] buffer, final int start, final int end)
        throws IOException
    {
        if (end <= start)
        {
            return;
        }
        connection.awaitNotStalled();
        write(out, buffer, start, end);
    }

    private void write(final OutputStream out, final byte[] buffer, final int start, final int end) throws IOException
    {
        if (end > start)
        {
            out.write(buffer, start, end - start);
            counters.onForwarded(direction, end - start);
        }
    }

    private long nextFaultAtByte()
    {
        final long scheduledAt = nextScheduled < scheduled.size() ?
            scheduled.get(nextScheduled).atByte() : Long.MAX_VALUE;
        return Math.min(scheduledAt, nextRandomAtByte);
    }

    private boolean isScheduledNext(final long atByte)
    {
        return nextScheduled < scheduled.size() && scheduled.get(nextScheduled).atByte() == atByte;
    }

    /** Exponential gap: faults form a Poisson process over the bytes at the direction's total rate. */
    private void drawNextRandom(final long fromByte)
    {
        if (faultsPerByte <= 0)
        {
            nextRandomAtByte = Long.MAX_VALUE;
            return;
        }
        final double gap = -Math.log(1.0 - random.nextDouble()) / faultsPerByte;
        nextRandomAtByte = gap >= (double)(Long.MAX_VALUE / 4) ? Long.MAX_VALUE : fromByte + (long)gap;
        nextRandomKind = plan.kindAt(direction, random.nextDouble());
    }

    private long uniform(final long min, final long max)
    {
        return min + (long)(random.nextDouble() * (max - min + 1));
    }
}
