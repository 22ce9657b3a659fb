package dev.replicator.target.nbd;

import dev.replicator.core.nbd.NbdBackend;

import java.io.IOException;
import java.util.Map;

/**
 * Starts an NBD server for a set of named exports: how the target's failover and image export reach
 * the NBD server in core without depending on how it is built. The target supplies the real one.
 */
@FunctionalInterface
public interface NbdExports
{
    /**
     * Serves {@code exports} (export name to backend, in listing order) on {@code host:port} ({@code port}
     * 0: any free port) until the returned handle closes. Closing the handle disconnects clients and
     * closes the backends.
     *
     * @throws IOException if the address cannot be bound.
     */
    Served serve(String host, int port, Map<String, NbdBackend> exports) throws IOException;

    /** A running NBD server. */
    interface Served extends AutoCloseable
    {
        int port();

        @Override
        void close();
    }
}
