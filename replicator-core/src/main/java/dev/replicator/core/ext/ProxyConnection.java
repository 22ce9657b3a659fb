package dev.replicator.core.ext;

import java.io.IOException;
import java.net.Socket;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * One proxied connection: the accepted client socket, the socket to the server, and a pump thread
 * per direction. Closed once, by whichever comes first: both pumps ending, a fault that ends it,
 * an error, or the proxy closing. Thread-safe.
 */
final class ProxyConnection
{
    private final FaultProxy proxy;
    private final int number;
    private final Socket client;
    private final Socket server;
    private final AtomicBoolean closed = new AtomicBoolean();
    private final AtomicInteger pumpsRunning = new AtomicInteger(2);
    private final Object stallLock = new Object();
    private volatile long stallDeadlineNs = System.nanoTime();
    private volatile Thread upstream;
    private volatile Thread downstream;

    ProxyConnection(final FaultProxy proxy, final int number, final Socket client, final Socket server)
    {
        this.proxy = proxy;
        this.number = number;
        this.client = client;
        this.server = server;
    }

    int number()
    {
        return number;
    }

    /** Creates, registers and starts both pumps. Called once, by the acceptor. */
    void start()
    {
        final String name = proxy.threadNamePrefix() + "-c" + number;
        upstream = proxy.newThread(new FaultPump(proxy, this, FaultDirection.UPSTREAM, client, server), name + "-up");
        downstream = proxy.newThread(
            new FaultPump(proxy, this, FaultDirection.DOWNSTREAM, server, client), name + "-down");
        upstream.start();
        downstream.start();
    }

    boolean isClosed()
    {
        return closed.get();
    }

    /** A {@link FaultKind#STALL}: no pump forwards anything until {@code durationMs} from now. */
    void stall(final long durationMs)
    {
        synchronized (stallLock)
        {
            final long untilNs = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(durationMs);
            if (untilNs - stallDeadlineNs > 0)
            {
                stallDeadlineNs = untilNs;
            }
        }
    }

    /** Parks the calling pump while the connection is stalled; returns at once once it is closed. */
    void awaitNotStalled()
    {
        long remainingNs;
        while (!closed.get() && (remainingNs = stallDeadlineNs - System.nanoTime()) > 0)
        {
            LockSupport.parkNanos(this, remainingNs);
        }
    }

    /** Parks the calling pump for {@code durationMs} (a {@link FaultKind#DELAY}), or until closed. */
    void pause(final long durationMs)
    {
        final long deadlineNs = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(durationMs);
        long remainingNs;
        while (!closed.get() && (remainingNs = deadlineNs - System.nanoTime()) > 0)
        {
            LockSupport.parkNanos(this, remainingNs);
        }
    }

    /** A pump saw the end of its stream: pass the end on, close when both directions have ended. */
    void onEndOfStream(final Socket to)
    {
        try
        {
            to.shutdownOutput();
        }
        catch (final IOException ignore)
        {
            // The other side is gone already; onPumpEnd closes everything.
        }
    }

    void onPumpEnd()
    {
        if (pumpsRunning.decrementAndGet() == 0)
        {
            close();
        }
    }

    /** Closes both sockets (FIN after what they have buffered) and wakes parked pumps. Idempotent. */
    void close()
    {
        if (!closed.compareAndSet(false, true))
        {
            return;
        }
        closeQuietly(client);
        closeQuietly(server);
        wakePumps();
        proxy.onClosed(this);
    }

    /** Closes both sockets with an RST ({@code SO_LINGER} 0): each peer sees "connection reset". */
    void reset()
    {
        lingerZero(client);
        lingerZero(server);
        close();
    }

    private void wakePumps()
    {
        if (upstream != null)
        {
            LockSupport.unpark(upstream);
        }
        if (downstream != null)
        {
            LockSupport.unpark(downstream);
        }
    }

    private static void lingerZero(final Socket socket)
    {
        try
        {
            socket.setSoLinger(true, 0);
        }
        catch (final IOException ignore)
        {
            // Already closed: nothing to reset.
        }
    }

    static void closeQuietly(final Socket socket)
    {
        try
        {
            socket.close();
        }
        catch (final IOException ignore)
        {
            // Closing to end the connection: nothing more to do.
        }
    }

    @Override
    public String toString()
    {
        return "connection " + number;
    }
}
