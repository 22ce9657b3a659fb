package dev.replicator.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A TCP proxy for tests that flips one bit in the agent-to-target stream of each of the first
 * {@code corruptConnections} connections, {@code corruptAfterBytes} bytes in: transport damage
 * that only the frame checks can catch.
 */
final class BitFlippingProxy implements AutoCloseable
{
    private final ServerSocket server;
    private final InetSocketAddress target;
    private final long corruptAfterBytes;
    private final int corruptConnections;
    private final AtomicInteger connections = new AtomicInteger();
    private final AtomicInteger flipped = new AtomicInteger();

    BitFlippingProxy(final InetSocketAddress target, final long corruptAfterBytes, final int corruptConnections)
        throws IOException
    {
        this.target = target;
        this.corruptAfterBytes = corruptAfterBytes;
        this.corruptConnections = corruptConnections;
        this.server = new ServerSocket(0, 16, java.net.InetAddress.getLoopbackAddress());
        final Thread acceptor = new Thread(this::acceptLoop, "proxy-accept");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    int port()
    {
        return server.getLocalPort();
    }

    int flipped()
    {
        return flipped.get();
    }

    private void acceptLoop()
    {
        while (!server.isClosed())
        {
            try
            {
                final Socket client = server.accept();
                final Socket upstream = new Socket(target.getAddress(), target.getPort());
                final boolean corrupt = connections.incrementAndGet() <= corruptConnections;
                pump(client, upstream, corrupt);
                pump(upstream, client, false);
            }
            catch (final IOException ex)
            {
                return;
            }
        }
    }

    private void pump(final Socket from, final Socket to, final boolean corrupt)
    {
        final Thread thread = new Thread(() ->
        {
            final byte[] buffer = new byte[64 * 1024];
            long total = 0;
            boolean done = !corrupt;
            try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream())
            {
                int n;
                while ((n = in.read(buffer)) > 0)
                {
                    if (!done && total + n > corruptAfterBytes)
                    {
                        final int at = (int)(corruptAfterBytes - total);
                        buffer[at] ^= 0x04;
                        flipped.incrementAndGet();
                        done = true;
                    }
                    total += n;
                    out.write(buffer, 0, n);
                }
            }
            catch (final IOException ignore)
            {
                // Either side closed: close the other.
            }
            finally
            {
                closeQuietly(from);
                closeQuietly(to);
            }
        }, "proxy-pump");
        thread.setDaemon(true);
        thread.start();
    }

    private static void closeQuietly(final Socket socket)
    {
        try
        {
            socket.close();
        }
        catch (final IOException ignore)
        {
            // Already closed.
        }
    }

    @Override
    public void close() throws IOException
    {
        server.close();
    }
}
