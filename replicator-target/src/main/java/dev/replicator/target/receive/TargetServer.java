package dev.replicator.target.receive;

import dev.replicator.core.config.HostPort;
import dev.replicator.core.wire.CorruptFrameException;
import dev.replicator.core.wire.Frame;
import dev.replicator.core.wire.FrameChannel;
import dev.replicator.core.wire.MessageType;
import dev.replicator.core.wire.Messages;
import dev.replicator.target.group.Groups;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.Closeable;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiConsumer;

/**
 * The target's listening socket: one thread accepts, one thread per connection serves it. The
 * first frame says who connected: an agent's HELLO or an admin command.
 */
public final class TargetServer implements Closeable
{
    private static final Logger LOG = LoggerFactory.getLogger(TargetServer.class);
    private static final int FIRST_FRAME_TIMEOUT_MS = 10_000;

    private final ServerSocket serverSocket;
    private final Groups groups;
    private final int heartbeatIntervalMs;
    private final int retainCheckpoints;
    private final BiConsumer<FrameChannel, Messages.AdminRequest> adminHandler;
    private final AtomicLong corruptFrames = new AtomicLong();
    private final AtomicLong framesApplied = new AtomicLong();
    private final Thread acceptor;
    private volatile boolean running = true;

    public TargetServer(
        final HostPort listen,
        final Groups groups,
        final int heartbeatIntervalMs,
        final int retainCheckpoints,
        final BiConsumer<FrameChannel, Messages.AdminRequest> adminHandler) throws IOException
    {
        this.groups = groups;
        this.heartbeatIntervalMs = heartbeatIntervalMs;
        this.retainCheckpoints = retainCheckpoints;
        this.adminHandler = adminHandler;
        this.serverSocket = new ServerSocket();
        serverSocket.setReuseAddress(true);
        serverSocket.bind(new InetSocketAddress(listen.host(), listen.port()), 64);
        this.acceptor = new Thread(this::acceptLoop, "target-acceptor");
        acceptor.start();
    }

    public int port()
    {
        return serverSocket.getLocalPort();
    }

    public long corruptFrames()
    {
        return corruptFrames.get();
    }

    /** Data frames applied durably and acknowledged, over all agent sessions, since start. */
    public long framesApplied()
    {
        return framesApplied.get();
    }

    private void acceptLoop()
    {
        while (running)
        {
            final Socket socket;
            try
            {
                socket = serverSocket.accept();
            }
            catch (final IOException ex)
            {
                if (running)
                {
                    LOG.error("accept failed: {}", ex.getMessage());
                }
                continue;
            }
            final Thread thread = new Thread(() -> serve(socket), "conn-" + socket.getRemoteSocketAddress());
            thread.setDaemon(true);
            thread.start();
        }
    }

    private void serve(final Socket socket)
    {
        final FrameChannel channel;
        try
        {
            channel = new FrameChannel(socket);
            channel.readTimeoutMs(FIRST_FRAME_TIMEOUT_MS);
        }
        catch (final IOException ex)
        {
            closeQuietly(socket);
            return;
        }
        try
        {
            final Frame first = channel.read();
            if (first.type() == MessageType.HELLO)
            {
                final Messages.Hello hello = first.bodyAs(Messages.Hello.class);
                new AgentSession(channel, hello, groups, heartbeatIntervalMs, retainCheckpoints, corruptFrames,
                    framesApplied).run();
            }
            else if (first.type() == MessageType.ADMIN_REQUEST)
            {
                final Messages.AdminRequest request = first.bodyAs(Messages.AdminRequest.class);
                try (channel)
                {
                    channel.readTimeoutMs(0);
                    adminHandler.accept(channel, request);
                }
            }
            else
            {
                LOG.warn("connection from {} opened with {}: closed", channel.peer(), first.type());
                channel.close();
            }
        }
        catch (final CorruptFrameException ex)
        {
            LOG.warn("connection from {} sent a corrupt first frame: {}", channel.peer(), ex.getMessage());
            closeQuietly(socket);
        }
        catch (final IOException ex)
        {
            LOG.info("connection from {} ended: {}", channel.peer(), ex.getMessage());
            closeQuietly(socket);
        }
    }

    private static void closeQuietly(final Socket socket)
    {
        try
        {
            socket.close();
        }
        catch (final IOException ignore)
        {
            // Nothing to do.
        }
    }

    @Override
    public void close() throws IOException
    {
        running = false;
        serverSocket.close();
        try
        {
            acceptor.join(5000);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
        }
    }
}
