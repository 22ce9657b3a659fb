package dev.replicator.target.nbd;

import dev.replicator.core.nbd.NbdBackend;
import dev.replicator.core.nbd.NbdExports;
import dev.replicator.core.nbd.NbdListenAddress;
import dev.replicator.core.nbd.NbdServer;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Starts an NBD server for a set of named exports: how the target's failover and image export reach
 * the NBD server in core through one seam ({@link #server()} is the real one; tests may serve
 * nothing).
 */
@FunctionalInterface
public interface NbdExporter
{
    /**
     * Serves {@code exports} (export name to backend, in listing order) on {@code host:port} ({@code port}
     * 0: any free port) until the returned handle closes. Closing the handle disconnects clients and
     * closes the backends.
     *
     * @throws IOException if the address cannot be bound.
     */
    Served serve(String host, int port, Map<String, NbdBackend> exports) throws IOException;

    /** The NBD server in core ({@link NbdServer}), one per call, on TCP. */
    static NbdExporter server()
    {
        return (host, port, backends) ->
        {
            final NbdExports exports = new NbdExports();
            final List<NbdBackend> owned = new ArrayList<>(backends.values());
            backends.forEach(exports::add);
            final NbdServer server = NbdServer.start(NbdListenAddress.tcp(host, port), exports);
            return new Served()
            {
                @Override
                public int port()
                {
                    return server.address().port();
                }

                @Override
                public void close()
                {
                    // The server does not own its backends: it stops first, then they close.
                    server.close();
                    for (final NbdBackend backend : owned)
                    {
                        try
                        {
                            backend.close();
                        }
                        catch (final IOException ex)
                        {
                            LoggerFactory.getLogger(NbdExporter.class).error("closing an NBD backend: {}",
                                ex.toString());
                        }
                    }
                }
            };
        };
    }

    /** A running NBD server. */
    interface Served extends AutoCloseable
    {
        int port();

        @Override
        void close();
    }
}
