package dev.replicator.target;

import dev.replicator.core.metrics.MetricsEndpoint;
import dev.replicator.core.config.ConfigException;
import dev.replicator.core.security.Transport;
import dev.replicator.target.admin.AdminHandler;
import dev.replicator.target.auto.AutoFailover;
import dev.replicator.target.failback.FailbackService;
import dev.replicator.target.failover.FailoverService;
import dev.replicator.target.group.Groups;
import dev.replicator.target.nbd.NbdExporter;
import dev.replicator.target.receive.TargetServer;
import dev.replicator.target.status.TargetMetrics;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;

/**
 * The target: listens for agents and admin commands, keeps every group's replica, undo history and
 * checkpoints, and runs failover and failback. {@link #start()} then {@link #close()}.
 *
 * <pre>
 *  agent ==TCP==&gt; TargetServer --HELLO--&gt; AgentSession --&gt; ImageStore (replica + undo + checkpoints)
 *  admin ==TCP==&gt; TargetServer --ADMIN--&gt; AdminHandler --&gt; FailoverService / FailbackService
 * </pre>
 */
public final class Target implements AutoCloseable
{
    private static final Logger LOG = LoggerFactory.getLogger(Target.class);

    private final TargetConfig config;
    private Groups groups;
    private FailoverService failover;
    private TargetServer server;
    private MetricsEndpoint metrics;
    private AutoFailover autoFailover;
    private AdminHandler admin;

    public Target(final TargetConfig config)
    {
        this.config = config;
    }

    public synchronized Target start() throws IOException
    {
        final Transport transport = transport();
        Files.createDirectories(config.dataDir());
        groups = Groups.open(config.dataDir());
        try
        {
            failover = new FailoverService(config.recoveryScanIntervalMs());
            // NBD exports (failover --export, images export --nbd) listen on the admin address's host.
            failover.exports(NbdExporter.server(), config.listen().host());
            failover.resume(groups);
            final FailbackService failback = new FailbackService(failover);
            admin = new AdminHandler(groups, failover, failback);
            admin.nbd(NbdExporter.server(), config.listen().host());
            autoFailover = new AutoFailover(groups, config.autoFailover(), failover, failback);
            admin.autoFailover(autoFailover);
            server = new TargetServer(config.listen(), groups, config.heartbeatIntervalMs(), config.retainCheckpoints(),
                admin::handle, transport);
            admin.server(server);
            if (config.metricsListen() != null)
            {
                metrics = TargetMetrics.serve(admin.statusReporter(), groups, config.metricsListen());
                LOG.info("metrics on http://{}:{}/metrics", config.metricsListen().host(), metrics.port());
            }
            // Silence counts from now, when agents can reach us: never the target's own downtime.
            autoFailover.start();
        }
        catch (final IOException | RuntimeException ex)
        {
            close();
            throw ex;
        }
        LOG.info("target listening on {}:{} ({}), data in {}, {} group(s)", config.listen().host(), server.port(),
            transport.describe(), config.dataDir(), groups.all().size());
        return this;
    }

    /** Settled before anything is opened: a target with unusable TLS material must not start at all. */
    private Transport transport()
    {
        final Transport transport;
        try
        {
            transport = Transport.of(config.tls().resolve(false, false, "tls.dir in the target config"));
        }
        catch (final IOException | IllegalStateException ex)
        {
            throw new ConfigException("target TLS: " + ex.getMessage());
        }
        if (!transport.secure())
        {
            LOG.warn("INSECURE: the target runs without TLS (--insecure or REPLICATOR_INSECURE=1): anyone who can " +
                "reach {} can replicate into, fail over and export every group; use a lab network only",
                config.listen());
        }
        return transport;
    }

    public int port()
    {
        return server.port();
    }

    /** Frames that failed a check and were refused (and resent by their agent) since start. */
    public long corruptFramesRejected()
    {
        return server.corruptFrames();
    }

    /** Data frames applied durably and acknowledged since start (resent frames count again). */
    public long framesApplied()
    {
        return server.framesApplied();
    }

    public Groups groups()
    {
        return groups;
    }

    /** The port the metrics endpoint listens on, or -1 if it is off. */
    public int metricsPort()
    {
        final MetricsEndpoint endpoint = metrics;
        return endpoint == null ? -1 : endpoint.port();
    }

    @Override
    public synchronized void close()
    {
        if (autoFailover != null)
        {
            autoFailover.close();
        }
        if (metrics != null)
        {
            metrics.close();
        }
        if (server != null)
        {
            try
            {
                server.close();
            }
            catch (final IOException ex)
            {
                LOG.warn("closing server: {}", ex.getMessage());
            }
        }
        if (admin != null)
        {
            admin.closeExports();
        }
        if (failover != null)
        {
            failover.close();
        }
        if (groups != null)
        {
            groups.close();
            LOG.info("target stopped");
        }
    }
}
