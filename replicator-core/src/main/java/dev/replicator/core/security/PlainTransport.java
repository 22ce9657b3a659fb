package dev.replicator.core.security;

import dev.replicator.core.config.HostPort;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;

/** Plaintext TCP, no identities: what {@code --insecure} runs. Labs and tests only. */
final class PlainTransport implements Transport
{
    static final PlainTransport INSTANCE = new PlainTransport();

    private PlainTransport()
    {
    }

    @Override
    public Socket connect(final HostPort address, final int timeoutMs) throws IOException
    {
        final Socket socket = new Socket();
        try
        {
            // Before any byte: the TLS handshake's small flights would otherwise wait on Nagle and
            // the peer's delayed ACK (about 40 ms each; measured as ~100 ms per handshake).
            socket.setTcpNoDelay(true);
            socket.connect(address.toAddress(), timeoutMs);
            return socket;
        }
        catch (final IOException ex)
        {
            socket.close();
            throw ex;
        }
    }

    @Override
    public ServerSocket listen(final HostPort address, final int backlog) throws IOException
    {
        final ServerSocket socket = new ServerSocket();
        socket.setReuseAddress(true);
        socket.bind(new InetSocketAddress(address.host(), address.port()), backlog);
        return socket;
    }

    @Override
    public PeerIdentity handshake(final Socket accepted, final int timeoutMs)
    {
        return PeerIdentity.UNAUTHENTICATED;
    }

    @Override
    public boolean secure()
    {
        return false;
    }

    @Override
    public PeerIdentity self()
    {
        return PeerIdentity.UNAUTHENTICATED;
    }

    @Override
    public String describe()
    {
        return "PLAINTEXT (--insecure): no encryption, no authentication, no authorization";
    }
}
