package dev.replicator.target;

import dev.replicator.core.config.ConfigException;
import dev.replicator.core.security.Transport;
import dev.replicator.target.admin.AdminHandler;
import dev.replicator.target.failback.FailbackService;
import dev.replicator.target.failover.FailoverService;
import dev.replicator.target.group.Groups;
import dev.replicator.target.receive.TargetServer;
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
            failover.resume(groups);
            final AdminHandler admin = new AdminHandler(groups, failover, new FailbackService(failover));
            server = new TargetServer(config.listen(), groups, config.heartbeatIntervalMs(), config.retainCheckpoints(),
                admin::handle, transport);
            admin.server(server);
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

    @Override
    public synchronized void close()
    {
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
        if (failover != null)
        {
            failover.close();
        }
        if (groups != null)
        {
            groups.close();
        }
    }
}
