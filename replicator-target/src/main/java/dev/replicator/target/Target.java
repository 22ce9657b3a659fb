package dev.replicator.target;

import dev.replicator.target.admin.AdminHandler;
import dev.replicator.target.failback.FailbackService;
import dev.replicator.target.failover.FailoverService;
import dev.replicator.target.group.Groups;
import dev.replicator.target.nbd.NbdExporter;
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
    private AdminHandler admin;

    public Target(final TargetConfig config)
    {
        this.config = config;
    }

    public synchronized Target start() throws IOException
    {
        Files.createDirectories(config.dataDir());
        groups = Groups.open(config.dataDir());
        try
        {
            failover = new FailoverService(config.recoveryScanIntervalMs());
            // NBD exports (failover --export, images export --nbd) listen on the admin address's host.
            failover.exports(NbdExporter.server(), config.listen().host());
            failover.resume(groups);
            admin = new AdminHandler(groups, failover, new FailbackService(failover));
            admin.nbd(NbdExporter.server(), config.listen().host());
            server = new TargetServer(config.listen(), groups, config.heartbeatIntervalMs(), config.retainCheckpoints(),
                admin::handle);
            admin.server(server);
        }
        catch (final IOException | RuntimeException ex)
        {
            close();
            throw ex;
        }
        LOG.info("target listening on {}:{}, data in {}, {} group(s)", config.listen().host(), server.port(),
            config.dataDir(), groups.all().size());
        return this;
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
        }
    }
}
