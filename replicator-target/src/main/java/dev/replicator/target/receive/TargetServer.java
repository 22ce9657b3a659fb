package dev.replicator.target.receive;

import dev.replicator.core.config.HostPort;
import dev.replicator.core.security.AccessPolicy;
import dev.replicator.core.security.PeerIdentity;
import dev.replicator.core.security.PeerRefusedException;
import dev.replicator.core.security.Transport;
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
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiConsumer;

/**
 * The target's listening socket: one thread accepts, one thread per connection serves it. The
 * first frame says who connected: an agent's HELLO or an admin command. With mutual TLS the
 * handshake runs on the connection's thread first, and the certificate decides what the peer may
 * do ({@link AccessPolicy}): a refused peer is logged and closed before anything is read or changed.
 */
public final class TargetServer implements Closeable
{
    private static final Logger LOG = LoggerFactory.getLogger(TargetServer.class);
    private static final int FIRST_FRAME_TIMEOUT_MS = 10_000;
    /** An admin command refused for its certificate changes nothing: exit code 2, as for bad input. */
    private static final int UNAUTHORIZED_EXIT_CODE = 2;

    private final ServerSocket serverSocket;
    private final Transport transport;
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
        final BiConsumer<FrameChannel, Messages.AdminRequest> adminHandler,
        final Transport transport) throws IOException
    {
        this.transport = transport;
        this.groups = groups;
        this.heartbeatIntervalMs = heartbeatIntervalMs;
        this.retainCheckpoints = retainCheckpoints;
        this.adminHandler = adminHandler;
        this.serverSocket = transport.listen(listen, 64);
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
        final PeerIdentity peer;
        try
        {
            peer = transport.handshake(socket, FIRST_FRAME_TIMEOUT_MS);
            channel = new FrameChannel(socket);
            channel.readTimeoutMs(FIRST_FRAME_TIMEOUT_MS);
        }
        catch (final PeerRefusedException ex)
        {
            LOG.warn("refused connection from {}: {}", socket.getRemoteSocketAddress(), ex.getMessage());
            closeQuietly(socket);
            return;
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
                final String refusal = AccessPolicy.refuseHello(peer, hello.group(), hello.agentName());
                if (refusal != null)
                {
                    refuseHello(channel, hello, refusal);
                    return;
                }
                new AgentSession(channel, hello, groups, heartbeatIntervalMs, retainCheckpoints, corruptFrames,
                    framesApplied).run();
            }
            else if (first.type() == MessageType.ADMIN_REQUEST)
            {
                final Messages.AdminRequest request = first.bodyAs(Messages.AdminRequest.class);
                try (channel)
                {
                    final String refusal = AccessPolicy.refuseAdmin(peer, request.command());
                    if (refusal != null)
                    {
                        LOG.warn("refused admin command '{}' from {}: {}; nothing done", request.command(),
                            channel.peer(), refusal);
                        channel.send(MessageType.ADMIN_RESPONSE, 0, 0, new Messages.AdminResponse(
                            UNAUTHORIZED_EXIT_CODE, "the target refused: " + refusal, null));
                        return;
                    }
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

    /** Nothing of the group is looked at or created: the refusal comes before the session. */
    private static void refuseHello(final FrameChannel channel, final Messages.Hello hello, final String refusal)
        throws IOException
    {
        try (channel)
        {
            LOG.warn("group={} refused agent '{}' from {}: {}; nothing done", hello.group(), hello.agentName(),
                channel.peer(), refusal);
            channel.send(MessageType.REFUSED, 0, 0, new Messages.Refused(Messages.RefusalCode.UNAUTHORIZED,
                "the target refused: " + refusal, 0, 0));
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
