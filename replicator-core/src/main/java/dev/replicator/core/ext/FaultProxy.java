package dev.replicator.core.ext;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * A TCP proxy that damages what it forwards, for tests and lab runs: put it between an agent and
 * its target (the agent's {@code target} is the proxy's port) and it injects the faults of a seeded
 * {@link FaultPlan}, in either or both directions: {@link FaultKind#DROP DROP},
 * {@link FaultKind#DELAY DELAY}, {@link FaultKind#RESET RESET}, {@link FaultKind#STALL STALL},
 * {@link FaultKind#TRUNCATE TRUNCATE}, {@link FaultKind#FLIP FLIP}. It knows nothing of frames: it
 * is the network, not a peer. {@link #counters()} says how many connections, bytes and faults of each
 * kind there were, so a test can show that what it meant to exercise happened.
 *
 * <pre>
 *  client (agent) ==TCP==&gt; FaultProxy ==TCP==&gt; server (target)
 *                      UPSTREAM pump ---&gt;
 *                      &lt;--- DOWNSTREAM pump
 * </pre>
 *
 * <p>This is a test and lab tool, shipped as production code (as Aeron ships its loss generators)
 * so system tests and, later, the command line can switch it on. It is not hardened: never put it
 * on a production path.
 *
 * <p>Threads: one acceptor; per connection one pump thread per direction (blocking I/O). The
 * acceptor connects to the server for each client it accepts; if that fails the client is reset.
 * End of stream in one direction is passed on as a half close; the connection closes when both
 * directions have ended, or at once on an error or a fault that ends it.
 *
 * <p>Thread-safe. {@link #close()} closes every socket and joins every thread it started, with a
 * deadline, and fails loudly if one is left. All threads are daemons so a leaked proxy cannot keep a
 * JVM alive.
 */
public final class FaultProxy implements AutoCloseable
{
    /** How long {@link #close()} waits for the proxy's threads to end. */
    public static final long CLOSE_TIMEOUT_MS = 5000;

    private static final Logger LOG = LoggerFactory.getLogger(FaultProxy.class);
    private static final long ACCEPT_RETRY_NS = TimeUnit.MILLISECONDS.toNanos(10);

    private final ServerSocket serverSocket;
    private final InetSocketAddress server;
    private final FaultPlan plan;
    private final FaultCounters counters = new FaultCounters();
    private final Set<ProxyConnection> connections = ConcurrentHashMap.newKeySet();
    private final Set<Thread> threads = ConcurrentHashMap.newKeySet();
    private final String threadNamePrefix;
    private final Thread acceptor;
    private volatile boolean faultsEnabled = true;
    private volatile boolean closed;

    private FaultProxy(final ServerSocket serverSocket, final InetSocketAddress server, final FaultPlan plan)
    {
        this.serverSocket = serverSocket;
        this.server = server;
        this.plan = plan;
        this.threadNamePrefix = "fault-proxy-" + serverSocket.getLocalPort();
        this.acceptor = newThread(this::acceptLoop, threadNamePrefix + "-accept");
    }

    /** Listens on an ephemeral port of 127.0.0.1 and forwards to {@code server}. */
    public static FaultProxy start(final InetSocketAddress server, final FaultPlan plan) throws IOException
    {
        return start(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), server, plan);
    }

    /**
     * Listens on {@code listen} and forwards every connection to {@code server}, injecting {@code plan}.
     *
     * @throws IOException if {@code listen} cannot be bound.
     */
    public static FaultProxy start(final InetSocketAddress listen, final InetSocketAddress server, final FaultPlan plan)
        throws IOException
    {
        final ServerSocket socket = new ServerSocket();
        try
        {
            socket.setReuseAddress(true);
            socket.bind(listen, 64);
        }
        catch (final IOException ex)
        {
            socket.close();
            throw new IOException("fault proxy cannot listen on " + listen + ": " + ex.getMessage(), ex);
        }
        final FaultProxy proxy = new FaultProxy(socket, server, plan);
        LOG.info("fault proxy {} -> {}: {}", proxy.describeListen(), server, plan);
        proxy.acceptor.start();
        return proxy;
    }

    public int port()
    {
        return serverSocket.getLocalPort();
    }

    public InetSocketAddress listenAddress()
    {
        return new InetSocketAddress(serverSocket.getInetAddress(), serverSocket.getLocalPort());
    }

    private String describeListen()
    {
        return serverSocket.getInetAddress().getHostAddress() + ":" + serverSocket.getLocalPort();
    }

    public FaultPlan plan()
    {
        return plan;
    }

    public FaultCounters counters()
    {
        return counters;
    }

    /**
     * Switches injection on (the default) or off; while off the proxy only forwards. Faults whose
     * byte passes while off are skipped, not deferred.
     */
    public void faultsEnabled(final boolean enabled)
    {
        this.faultsEnabled = enabled;
    }

    public boolean faultsEnabled()
    {
        return faultsEnabled;
    }

    /** Connections currently open through the proxy. */
    public int openConnections()
    {
        return connections.size();
    }

    private void acceptLoop()
    {
        while (!closed)
        {
            final Socket client;
            try
            {
                client = serverSocket.accept();
            }
            catch (final IOException ex)
            {
                if (!closed)
                {
                    LOG.warn("fault proxy {} accept failed: {}", port(), ex.getMessage());
                    LockSupport.parkNanos(this, ACCEPT_RETRY_NS);
                }
                continue;
            }
            threads.removeIf(thread -> !thread.isAlive());
            final int number = counters.onConnection();
            final Socket upstream = new Socket();
            try
            {
                client.setTcpNoDelay(true);
                upstream.setTcpNoDelay(true);
                upstream.connect(server, plan.connectTimeoutMs());
            }
            catch (final IOException ex)
            {
                counters.onUpstreamConnectFailure();
                LOG.info("fault proxy {} connection {}: cannot reach {} ({}); client reset", port(), number, server,
                    ex.getMessage());
                try
                {
                    client.setSoLinger(true, 0);
                }
                catch (final IOException ignore)
                {
                    // Closing anyway.
                }
                ProxyConnection.closeQuietly(client);
                ProxyConnection.closeQuietly(upstream);
                continue;
            }
            final ProxyConnection connection = new ProxyConnection(this, number, client, upstream);
            connections.add(connection);
            if (closed)
            {
                connection.close();
                return;
            }
            connection.start();
        }
    }

    Thread newThread(final Runnable task, final String name)
    {
        final Thread thread = new Thread(task, name);
        thread.setDaemon(true);
        threads.add(thread);
        return thread;
    }

    String threadNamePrefix()
    {
        return threadNamePrefix;
    }

    void onClosed(final ProxyConnection connection)
    {
        connections.remove(connection);
    }

    void logFault(
        final ProxyConnection connection, final FaultDirection direction, final FaultKind kind, final long atByte,
        final String detail)
    {
        // Faults are rare events, not the hot path: a line each lets a reader match them to the
        // agent's and target's logs.
        LOG.info("fault proxy {} {} {} {} at byte {}{}{}", port(), connection, direction, kind, atByte,
            detail.isEmpty() ? "" : ": ", detail);
    }

    /**
     * Stops accepting, closes every connection and joins every thread the proxy started.
     *
     * @throws IllegalStateException if a thread is still running after {@link #CLOSE_TIMEOUT_MS}.
     */
    @Override
    public void close()
    {
        synchronized (this)
        {
            if (closed)
            {
                return;
            }
            closed = true;
        }
        try
        {
            serverSocket.close();
        }
        catch (final IOException ex)
        {
            LOG.warn("fault proxy {}: closing the listening socket: {}", port(), ex.getMessage());
        }
        final long deadlineNs = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(CLOSE_TIMEOUT_MS);
        join(acceptor, deadlineNs);
        for (final ProxyConnection connection : new ArrayList<>(connections))
        {
            connection.close();
        }
        final List<String> alive = new ArrayList<>();
        for (final Thread thread : new ArrayList<>(threads))
        {
            LockSupport.unpark(thread);
            join(thread, deadlineNs);
            if (thread.isAlive())
            {
                alive.add(thread.getName());
            }
        }
        LOG.info("fault proxy {} closed: {}", port(), counters);
        if (!alive.isEmpty())
        {
            throw new IllegalStateException("fault proxy " + port() + ": threads still running " +
                CLOSE_TIMEOUT_MS + " ms after close: " + alive);
        }
    }

    private static void join(final Thread thread, final long deadlineNs)
    {
        final long remainingMs = TimeUnit.NANOSECONDS.toMillis(deadlineNs - System.nanoTime());
        if (remainingMs <= 0 || thread == Thread.currentThread())
        {
            return;
        }
        try
        {
            thread.join(remainingMs);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public String toString()
    {
        return "FaultProxy{" + describeListen() + " -> " + server + ", " + counters + "}";
    }
}
