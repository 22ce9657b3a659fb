package dev.replicator.target.nbd;

import dev.replicator.core.nbd.NbdBackend;
import dev.replicator.target.image.ImageStore;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Images served read-only over NBD ({@code replicator images export --nbd}): one NBD server per image,
 * one export per volume named by the volume, until stopped or the target closes.
 *
 * <p>Thread-safe.
 */
public final class ImageExports implements AutoCloseable
{
    private final Map<String, NbdExporter.Served> served = new ConcurrentHashMap<>();

    /**
     * Serves image {@code imageSeq} of {@code store} under {@code id} on {@code host:port} (0: any free port).
     *
     * @return the port it listens on.
     * @throws IllegalStateException if {@code id} is already served.
     */
    public synchronized int start(final String id, final ImageStore store, final long imageSeq,
        final NbdExporter exports, final String host, final int port) throws IOException
    {
        if (served.containsKey(id))
        {
            throw new IllegalStateException("image " + id + " is already served over NBD on port " +
                served.get(id).port());
        }
        final Map<String, NbdBackend> backends = new LinkedHashMap<>();
        for (int v = 0; v < store.volumes().size(); v++)
        {
            // A view per volume: each backend serialises its own reads.
            backends.put(store.volumes().get(v).name(), new ImageExportBackend(store.openImage(imageSeq), v));
        }
        final NbdExporter.Served server = exports.serve(host, port, backends);
        served.put(id, server);
        return server.port();
    }

    /** Stops serving image {@code id}; false if it was not served. */
    public synchronized boolean stop(final String id)
    {
        final NbdExporter.Served server = served.remove(id);
        if (server == null)
        {
            return false;
        }
        server.close();
        return true;
    }

    /** The port image {@code id} is served on, or -1. */
    public int port(final String id)
    {
        final NbdExporter.Served server = served.get(id);
        return server == null ? -1 : server.port();
    }

    @Override
    public synchronized void close()
    {
        for (final NbdExporter.Served server : served.values())
        {
            server.close();
        }
        served.clear();
    }
}
