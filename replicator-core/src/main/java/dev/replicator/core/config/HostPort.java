package dev.replicator.core.config;

import java.net.InetSocketAddress;

/** {@code host:port}, as written in configs and on the command line. */
public record HostPort(String host, int port)
{
    public static final int DEFAULT_TARGET_PORT = 7400;

    public static HostPort parse(final String text, final String what)
    {
        final int colon = text == null ? -1 : text.lastIndexOf(':');
        if (colon <= 0 || colon == text.length() - 1)
        {
            throw new ConfigException(what + " '" + text + "' is not host:port");
        }
        final int port;
        try
        {
            port = Integer.parseInt(text.substring(colon + 1));
        }
        catch (final NumberFormatException ex)
        {
            throw new ConfigException(what + " '" + text + "' has no valid port number");
        }
        if (port < 0 || port > 65535)
        {
            throw new ConfigException(what + " '" + text + "' has port " + port + " outside 0-65535");
        }
        return new HostPort(text.substring(0, colon), port);
    }

    public InetSocketAddress toAddress()
    {
        return new InetSocketAddress(host, port);
    }

    @Override
    public String toString()
    {
        return host + ":" + port;
    }
}
