package dev.replicator.core.nbd;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An NBD server (NetworkBlockDevice/nbd doc/proto.md, fixed newstyle) on TCP or a Unix socket.
 * Each connection has a reader thread; requests are served by a pool of worker threads shared by
 * the server's connections. The server does not own its exports' backends: whoever added a backend
 * closes it, after {@link #close()}.
 *
 * <pre>
 * NbdExports exports = new NbdExports();
 * exports.add("disk0", backend);
 * try (NbdServer server = NbdServer.start(NbdListenAddress.parse("127.0.0.1:10809"), exports))
 * </pre>
 * Thread-safe.
 */
public final class NbdServer implements AutoCloseable
{
    private static final Logger LOG = LoggerFactory.getLogger(NbdServer.class);
    public static final int DEFAULT_WORKER_THREADS = 4;
    /** Requests in flight per connection; qemu sends up to 16, nbdcopy up to 64 (it then waits). */
    public static final int DEFAULT_MAX_IN_FLIGHT = 16;
    /** READ/WRITE payload bytes in flight across all connections: 128 MiB (four 32 MiB requests). */
    public static final int PAYLOAD_BUDGET_KIB = 128 << 10;

    private final NbdListenAddress address;
    private final NbdExports exports;
    private final ServerSocketChannel server;
    private final ExecutorService workers;
    private final int maxInFlight;
    private final Semaphore payloadBudget = new Semaphore(PAYLOAD_BUDGET_KIB);
    private final Set<NbdConnection> connections = ConcurrentHashMap.newKeySet();
    private final AtomicInteger connectionIds = new AtomicInteger();
    private final Thread acceptor;
    private volatile boolean closed;

    private NbdServer(
        final NbdListenAddress address,
        final NbdExports exports,
        final ServerSocketChannel server,
        final int workerThreads,
        final int maxInFlight)
    {
        this.address = address;
        this.exports = exports;
        this.server = server;
        this.maxInFlight = maxInFlight;
        final AtomicInteger workerIds = new AtomicInteger();
        this.workers = new ThreadPoolExecutor(workerThreads, workerThreads, 0, TimeUnit.MILLISECONDS,
            new LinkedBlockingQueue<>(), r ->
            {
                final Thread t = new Thread(r, "nbd-worker-" + workerIds.incrementAndGet());
                t.setDaemon(true);
                return t;
            });
        this.acceptor = new Thread(this::acceptLoop, "nbd-accept-" + address);
        this.acceptor.setDaemon(true);
    }

    public static NbdServer start(final NbdListenAddress address, final NbdExports exports) throws IOException
    {
        return start(address, exports, DEFAULT_WORKER_THREADS, DEFAULT_MAX_IN_FLIGHT);
    }

    /** Binds and starts accepting. A stale Unix socket file at the path is replaced. */
    public static NbdServer start(
        final NbdListenAddress address,
        final NbdExports exports,
        final int workerThreads,
        final int maxInFlight) throws IOException
    {
        final ServerSocketChannel channel;
        NbdListenAddress bound = address;
        if (address.isUnix())
        {
            Files.deleteIfExists(address.unixPath());
            if (address.unixPath().getParent() != null)
            {
                Files.createDirectories(address.unixPath().getParent());
            }
            channel = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
            bindOrClose(channel, address);
        }
        else
        {
            channel = ServerSocketChannel.open();
            channel.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            bindOrClose(channel, address);
            bound = NbdListenAddress.tcp(address.host(), ((InetSocketAddress)channel.getLocalAddress()).getPort());
        }
        final NbdServer server = new NbdServer(bound, exports, channel, workerThreads, maxInFlight);
        server.acceptor.start();
        LOG.info("nbd server listening on {} with exports {}", bound, exports.names());
        return server;
    }

    private static void bindOrClose(final ServerSocketChannel channel, final NbdListenAddress address)
        throws IOException
    {
        try
        {
            channel.bind(address.toSocketAddress());
        }
        catch (final IOException ex)
        {
            channel.close();
            throw new IOException("cannot listen for NBD on " + address + ": " + ex.getMessage(), ex);
        }
    }

    /** The address bound (with the real port if 0 was asked for). */
    public NbdListenAddress address()
    {
        return address;
    }

    public NbdExports exports()
    {
        return exports;
    }

    /** Connections open now (negotiating or transmitting). */
    public int connectionCount()
    {
        return connections.size();
    }

    private void acceptLoop()
    {
        while (!closed)
        {
            final SocketChannel channel;
            try
            {
                channel = server.accept();
            }
            catch (final AsynchronousCloseException ex)
            {
                return;
            }
            catch (final IOException ex)
            {
                if (!closed)
                {
                    LOG.error("nbd server on {}: accept failed, no longer accepting: {}", address, ex.getMessage());
                }
                return;
            }
            final String peer = address + "#" + connectionIds.incrementAndGet();
            try
            {
                if (!address.isUnix())
                {
                    channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
                }
            }
            catch (final IOException ex)
            {
                LOG.debug("nbd {}: TCP_NODELAY: {}", peer, ex.getMessage());
            }
            final NbdConnection[] self = new NbdConnection[1];
            self[0] = new NbdConnection(channel, exports, workers, maxInFlight, payloadBudget, peer,
                () -> connections.remove(self[0]));
            connections.add(self[0]);
            final Thread thread = new Thread(self[0], "nbd-conn-" + peer);
            thread.setDaemon(true);
            thread.start();
        }
    }

    /** Stops accepting, closes every connection and stops the workers. Backends stay open. */
    @Override
    public void close()
    {
        if (closed)
        {
            return;
        }
        closed = true;
        try
        {
            server.close();
        }
        catch (final IOException ex)
        {
            LOG.debug("nbd server close: {}", ex.getMessage());
        }
        for (final NbdConnection connection : connections)
        {
            connection.close();
        }
        workers.shutdown();
        try
        {
            if (!workers.awaitTermination(10, TimeUnit.SECONDS))
            {
                LOG.warn("nbd server on {}: requests still running after 10 s", address);
            }
            acceptor.join(10_000);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
        }
        if (address.isUnix())
        {
            try
            {
                Files.deleteIfExists(address.unixPath());
            }
            catch (final IOException ex)
            {
                LOG.debug("nbd server: removing {}: {}", address.unixPath(), ex.getMessage());
            }
        }
    }
}
