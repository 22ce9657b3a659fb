package dev.replicator.core.nbd;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Path;

/**
 * Where an NBD server listens: {@code HOST:PORT}, {@code :PORT} / {@code PORT} (127.0.0.1), or
 * {@code unix:/path/to/socket}. Port 0 picks a free port.
 */
public record NbdListenAddress(String host, int port, Path unixPath)
{
    public static final String LOOPBACK = "127.0.0.1";

    /** @throws IllegalArgumentException with one sentence if the text is not an address. */
    public static NbdListenAddress parse(final String text)
    {
        final String value = text.trim();
        if (value.startsWith("unix:"))
        {
            final String path = value.substring("unix:".length());
            if (path.isEmpty())
            {
                throw new IllegalArgumentException("'" + text + "' names no socket path (unix:/path/to/socket)");
            }
            return unix(Path.of(path));
        }
        final int colon = value.lastIndexOf(':');
        final String host = colon < 0 ? LOOPBACK : value.substring(0, colon);
        final String portText = colon < 0 ? value : value.substring(colon + 1);
        final int port;
        try
        {
            port = Integer.parseInt(portText);
        }
        catch (final NumberFormatException ex)
        {
            throw new IllegalArgumentException("'" + text + "' is not HOST:PORT or unix:/path");
        }
        if (port < 0 || port > 65535)
        {
            throw new IllegalArgumentException("port " + port + " in '" + text + "' is outside 0-65535");
        }
        return tcp(host.isEmpty() ? LOOPBACK : host, port);
    }

    public static NbdListenAddress tcp(final String host, final int port)
    {
        return new NbdListenAddress(host, port, null);
    }

    public static NbdListenAddress unix(final Path path)
    {
        return new NbdListenAddress(null, 0, path.toAbsolutePath());
    }

    public boolean isUnix()
    {
        return unixPath != null;
    }

    public SocketAddress toSocketAddress()
    {
        return isUnix() ? UnixDomainSocketAddress.of(unixPath) : new InetSocketAddress(host, port);
    }

    /** The address as a client names it: {@code nbd://host:port} or {@code nbd+unix:///?socket=path}. */
    public String uri(final String exportName)
    {
        return isUnix() ? "nbd+unix:///" + exportName + "?socket=" + unixPath : "nbd://" + host + ":" + port + "/" + exportName;
    }

    @Override
    public String toString()
    {
        return isUnix() ? "unix:" + unixPath : host + ":" + port;
    }
}
