package dev.replicator.target;

import dev.replicator.core.config.ConfigFile;
import dev.replicator.core.config.HostPort;
import dev.replicator.target.auto.AutoFailoverPolicy;
import dev.replicator.core.security.TlsSettings;

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
 * tls.dir = /etc/replicator/tls    # node.key, node.crt, ca.crt, crl.pem from 'replicator certs issue --target'
 * </pre>
 *
 * @param autoFailover the groups with an automatic failover policy, by name.
 * @param tls where the TLS material is; {@link TlsSettings.Mode#UNSET} when the file names none (the
 *            command line then decides: {@code --insecure} or refuse to start).
 */
public record TargetConfig(
    HostPort listen,
    Path dataDir,
    int retainCheckpoints,
    long recoveryScanIntervalMs,
    int heartbeatIntervalMs,
    HostPort metricsListen,
    Map<String, AutoFailoverPolicy> autoFailover,
    TlsSettings tls)
{
    public TargetConfig
    {
        autoFailover = Map.copyOf(autoFailover);
    }

    /**
     * Plaintext, no metrics endpoint and no automatic failover: for tests and embedders on a trusted
     * host ({@link #withTls} for mutual TLS).
     */
    public TargetConfig(final HostPort listen, final Path dataDir, final int retainCheckpoints,
        final long recoveryScanIntervalMs, final int heartbeatIntervalMs)
    {
        this(listen, dataDir, retainCheckpoints, recoveryScanIntervalMs, heartbeatIntervalMs, null, Map.of(),
            TlsSettings.insecure());
    }

    public TargetConfig withTls(final TlsSettings settings)
    {
        return new TargetConfig(listen, dataDir, retainCheckpoints, recoveryScanIntervalMs, heartbeatIntervalMs,
            metricsListen, autoFailover, settings);
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
            AutoFailoverPolicy.load(config, base),
            TlsSettings.read(config, base));
        config.rejectUnknownKeys();
        return result;
    }

    private static HostPort metricsListen(final ConfigFile config)
    {
        final String value = config.string("metrics.listen", null);
        return value == null ? null : HostPort.parse(value, config.source() + ": 'metrics.listen'");
    }
}
