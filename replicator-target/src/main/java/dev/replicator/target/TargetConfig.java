package dev.replicator.target;

import dev.replicator.core.config.ConfigFile;
import dev.replicator.core.config.HostPort;
import dev.replicator.target.auto.AutoFailoverPolicy;

import java.nio.file.Path;
import java.util.Map;

/**
 * A target's settings. Immutable once loaded; every setting validated.
 *
 * <pre>
 * listen = 127.0.0.1:7400          # agents and admin commands connect here
 * data.dir = /var/lib/replicator   # replicas, undo logs, checkpoints, group state
 * retain.checkpoints = 64          # images kept per group (the undo log beyond them is deleted)
 * recovery.scan.interval.ms = 2000 # how often a recovery volume is scanned for writes after failover
 * metrics.listen = 127.0.0.1:9400  # Prometheus metrics over HTTP; off unless set
 * group.db.auto.failover = on      # automatic failover: see AutoFailoverPolicy (off by default)
 * </pre>
 *
 * @param autoFailover the groups with an automatic failover policy, by name.
 */
public record TargetConfig(
    HostPort listen,
    Path dataDir,
    int retainCheckpoints,
    long recoveryScanIntervalMs,
    int heartbeatIntervalMs,
    HostPort metricsListen,
    Map<String, AutoFailoverPolicy> autoFailover)
{
    public TargetConfig
    {
        autoFailover = Map.copyOf(autoFailover);
    }

    /** No metrics endpoint and no automatic failover. */
    public TargetConfig(final HostPort listen, final Path dataDir, final int retainCheckpoints,
        final long recoveryScanIntervalMs, final int heartbeatIntervalMs)
    {
        this(listen, dataDir, retainCheckpoints, recoveryScanIntervalMs, heartbeatIntervalMs, null, Map.of());
    }

    public static TargetConfig load(final Path file)
    {
        final ConfigFile config = ConfigFile.load(file);
        final Path base = file.toAbsolutePath().getParent();
        final TargetConfig result = new TargetConfig(
            HostPort.parse(config.string("listen", "127.0.0.1:" + HostPort.DEFAULT_TARGET_PORT),
                config.source() + ": 'listen'"),
            base.resolve(config.requirePath("data.dir")),
            config.intValue("retain.checkpoints", 64, 1, 1_000_000),
            config.longValue("recovery.scan.interval.ms", 2000, 100, 86_400_000L),
            config.intValue("heartbeat.interval.ms", 1000, 50, 60_000),
            metricsListen(config),
            AutoFailoverPolicy.load(config, base));
        config.rejectUnknownKeys();
        return result;
    }

    private static HostPort metricsListen(final ConfigFile config)
    {
        final String value = config.string("metrics.listen", null);
        return value == null ? null : HostPort.parse(value, config.source() + ": 'metrics.listen'");
    }
}
