package dev.replicator.agent.capture;

import dev.replicator.core.nbd.NbdExports;
import dev.replicator.core.nbd.NbdListenAddress;
import dev.replicator.core.nbd.NbdServer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.Closeable;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;

/**
 * The agent's NBD front end: one {@link NbdServer} per listen address, each exporting its volumes
 * by name ({@link NbdVolumeBackend}). The host attaches with {@code nbd-client}, qemu or libnbd and
 * every write it makes is captured exactly, in order. Thread-safe for {@link #close()}.
 */
public final class NbdFrontEnd implements Closeable
{
    private static final Logger LOG = LoggerFactory.getLogger(NbdFrontEnd.class);

    private final List<NbdServer> servers;

    private NbdFrontEnd(final List<NbdServer> servers)
    {
        this.servers = servers;
    }

    /**
     * Starts serving.
     *
     * @param fronts volume name to listen address (volumes sharing an address share a server).
     * @throws IOException if an address cannot be bound; nothing is left listening then.
     */
    public static NbdFrontEnd start(
        final Map<String, NbdListenAddress> fronts,
        final List<CaptureVolume> volumes,
        final VolumeWriter writer,
        final ChangeLog changeLog,
        final BooleanSupplier writable) throws IOException
    {
        final Map<NbdListenAddress, NbdExports> byAddress = new LinkedHashMap<>();
        for (final CaptureVolume volume : volumes)
        {
            final NbdListenAddress address = fronts.get(volume.spec().name());
            if (address != null)
            {
                byAddress.computeIfAbsent(address, a -> new NbdExports())
                    .add(volume.spec().name(), new NbdVolumeBackend(writer, changeLog, volume, writable));
            }
        }
        final List<NbdServer> servers = new ArrayList<>();
        try
        {
            for (final Map.Entry<NbdListenAddress, NbdExports> entry : byAddress.entrySet())
            {
                final NbdServer server = NbdServer.start(entry.getKey(), entry.getValue());
                servers.add(server);
                for (final String name : entry.getValue().names())
                {
                    LOG.info("volume '{}' is served to the host at {}", name, server.address().uri(name));
                }
            }
        }
        catch (final IOException ex)
        {
            servers.forEach(NbdServer::close);
            throw ex;
        }
        return new NbdFrontEnd(servers);
    }

    /** The servers' bound addresses, in configuration order. */
    public List<NbdListenAddress> addresses()
    {
        final List<NbdListenAddress> addresses = new ArrayList<>();
        for (final NbdServer server : servers)
        {
            addresses.add(server.address());
        }
        return addresses;
    }

    /** Disconnects the host and stops listening; requests in flight finish first. */
    @Override
    public void close()
    {
        for (final NbdServer server : servers)
        {
            server.close();
        }
    }
}
