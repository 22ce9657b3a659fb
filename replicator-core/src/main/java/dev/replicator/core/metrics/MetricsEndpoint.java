package dev.replicator.core.metrics;

import dev.replicator.core.config.HostPort;
import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

import java.io.Closeable;
import java.io.IOException;

/**
 * The Prometheus text-format endpoint of one agent or target: {@code GET /metrics} on the
 * configured address, served by the JDK's HTTP server on its own daemon threads. No
 * authentication: bind it to loopback or a management network.
 */
public final class MetricsEndpoint implements Closeable
{
    private final HTTPServer server;

    private MetricsEndpoint(final HTTPServer server)
    {
        this.server = server;
    }

    /** @throws IOException if the address cannot be bound (in use, not local). */
    public static MetricsEndpoint start(final HostPort listen, final PrometheusRegistry registry) throws IOException
    {
        try
        {
            return new MetricsEndpoint(HTTPServer.builder().hostname(listen.host()).port(listen.port())
                .registry(registry).registerHealthHandler(true).buildAndStart());
        }
        catch (final IOException ex)
        {
            throw new IOException("cannot serve metrics on " + listen + ": " + ex.getMessage(), ex);
        }
    }

    public int port()
    {
        return server.getPort();
    }

    @Override
    public void close()
    {
        server.close();
    }
}
