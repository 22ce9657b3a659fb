package dev.replicator.core.ext;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The server behind a proxy in tests: records what each connection sent and how it ended, and
 * echoes it back when asked to. One thread per connection; {@link #close()} joins them all.
 */
final class PeerServer implements AutoCloseable
{
    /** What one accepted connection received. */
    static final class Received
    {
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        private volatile String ending;

        synchronized byte[] bytes()
        {
            return bytes.toByteArray();
        }

        synchronized int size()
        {
            return bytes.size();
        }

        private synchronized void add(final byte[] buffer, final int n)
        {
            bytes.write(buffer, 0, n);
        }

        /** null while open; "EOF" after an end of stream, else the exception's message. */
        String ending()
        {
            return ending;
        }
    }

    private final ServerSocket serverSocket;
    private final boolean echo;
    private final List<Received> received = new CopyOnWriteArrayList<>();
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private final List<Thread> threads = new CopyOnWriteArrayList<>();
    private final Thread acceptor;

    PeerServer(final boolean echo) throws IOException
    {
        this.echo = echo;
        this.serverSocket = new ServerSocket(0, 16, InetAddress.getLoopbackAddress());
        this.acceptor = new Thread(this::acceptLoop, "peer-server-accept");
        acceptor.start();
    }

    InetSocketAddress address()
    {
        return new InetSocketAddress(InetAddress.getLoopbackAddress(), serverSocket.getLocalPort());
    }

    List<Received> received()
    {
        return received;
    }

    private void acceptLoop()
    {
        while (true)
        {
            final Socket socket;
            try
            {
                socket = serverSocket.accept();
            }
            catch (final IOException ex)
            {
                return;
            }
            final Received into = new Received();
            received.add(into);
            sockets.add(socket);
            final Thread thread = new Thread(() -> serve(socket, into), "peer-server-conn");
            threads.add(thread);
            thread.start();
        }
    }

    private void serve(final Socket socket, final Received into)
    {
        final byte[] buffer = new byte[8192];
        try
        {
            final InputStream in = socket.getInputStream();
            final OutputStream out = socket.getOutputStream();
            int n;
            while ((n = in.read(buffer)) > 0)
            {
                into.add(buffer, n);
                if (echo)
                {
                    out.write(buffer, 0, n);
                }
            }
            into.ending = "EOF";
            socket.close();
        }
        catch (final IOException ex)
        {
            into.ending = String.valueOf(ex.getMessage());
        }
    }

    @Override
    public void close() throws IOException
    {
        serverSocket.close();
        join(acceptor);
        for (final Socket socket : sockets)
        {
            socket.close();
        }
        for (final Thread thread : threads)
        {
            join(thread);
        }
    }

    private static void join(final Thread thread) throws IOException
    {
        try
        {
            thread.join(5000);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while closing", ex);
        }
        if (thread.isAlive())
        {
            throw new IOException(thread.getName() + " still running after close");
        }
    }
}
