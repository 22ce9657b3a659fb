package dev.replicator.target.auto;

import dev.replicator.core.config.ConfigFile;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * A group's automatic failover (and failback) policy, from the target config. Off unless
 * {@code group.NAME.auto.failover = on}. Immutable.
 *
 * <pre>
 * group.db.auto.failover = on                     # off by default
 * group.db.auto.failover.silence.s = 30           # fail over when the primary was silent this long
 * group.db.auto.failover.max.lag.s = 0            # ... or the target stayed behind it this long (0: off)
 * group.db.auto.failover.to = /srv/recovery/db.img  # where the recovery volume goes (a dir for several)
 * group.db.auto.failover.hook = /etc/replicator/start-db.sh  # optional: run after failover (and before failback)
 * group.db.auto.failover.hook.timeout.s = 120
 * group.db.auto.failback = off                    # on: fail back once the old primary is back and healthy
 * group.db.auto.failback.healthy.s = 300          # ... connected and healthy for this long
 * </pre>
 *
 * @param hook null for none.
 */
public record AutoFailoverPolicy(
    String group,
    long silenceMs,
    long maxLagMs,
    Path recoveryTo,
    Path hook,
    long hookTimeoutMs,
    boolean failback,
    long failbackHealthyMs)
{
    public static final long DEFAULT_SILENCE_S = 30;
    public static final long DEFAULT_HOOK_TIMEOUT_S = 120;
    public static final long DEFAULT_FAILBACK_HEALTHY_S = 300;
    private static final String PREFIX = "group.";
    private static final String AUTO = ".auto.";

    /** Policies of the groups that turn automatic failover on, by group name. */
    public static Map<String, AutoFailoverPolicy> load(final ConfigFile config, final Path base)
    {
        final Set<String> groups = new LinkedHashSet<>();
        for (final String key : config.keysStartingWith(PREFIX))
        {
            final int auto = key.indexOf(AUTO, PREFIX.length());
            if (auto <= PREFIX.length())
            {
                throw config.error(key, "expected group.NAME.auto.failover[.SETTING] or group.NAME.auto.failback[.SETTING]");
            }
            groups.add(key.substring(PREFIX.length(), auto));
        }
        final Map<String, AutoFailoverPolicy> policies = new TreeMap<>();
        for (final String group : groups)
        {
            final String p = PREFIX + group + AUTO;
            if (!config.booleanValue(p + "failover", false))
            {
                // Read (and so validate) the rest anyway: a typo must not hide behind "off".
                config.longValue(p + "failover.silence.s", DEFAULT_SILENCE_S, 1, 86_400L * 30);
                config.longValue(p + "failover.max.lag.s", 0, 0, 86_400L * 30);
                config.string(p + "failover.to", "");
                config.string(p + "failover.hook", "");
                config.longValue(p + "failover.hook.timeout.s", DEFAULT_HOOK_TIMEOUT_S, 1, 86_400);
                config.booleanValue(p + "failback", false);
                config.longValue(p + "failback.healthy.s", DEFAULT_FAILBACK_HEALTHY_S, 1, 86_400L * 30);
                continue;
            }
            final Path to = base.resolve(config.requirePath(p + "failover.to"));
            final Path parent = to.toAbsolutePath().getParent();
            if (parent == null || !Files.isDirectory(parent))
            {
                throw config.error(p + "failover.to", "directory " + parent + " does not exist");
            }
            Path hook = null;
            if (config.has(p + "failover.hook"))
            {
                hook = base.resolve(config.requirePath(p + "failover.hook"));
                if (!Files.isRegularFile(hook) || !Files.isExecutable(hook))
                {
                    throw config.error(p + "failover.hook", hook + " is not an executable file");
                }
            }
            policies.put(group, new AutoFailoverPolicy(
                group,
                config.longValue(p + "failover.silence.s", DEFAULT_SILENCE_S, 1, 86_400L * 30) * 1000,
                config.longValue(p + "failover.max.lag.s", 0, 0, 86_400L * 30) * 1000,
                to.toAbsolutePath(),
                hook,
                config.longValue(p + "failover.hook.timeout.s", DEFAULT_HOOK_TIMEOUT_S, 1, 86_400) * 1000,
                config.booleanValue(p + "failback", false),
                config.longValue(p + "failback.healthy.s", DEFAULT_FAILBACK_HEALTHY_S, 1, 86_400L * 30) * 1000));
        }
        return policies;
    }

    /** One line for status: "on: silence 30 s, max lag off, failback off". */
    public String describe()
    {
        return "on: silence " + silenceMs / 1000 + " s, max lag " + (maxLagMs == 0 ? "off" : maxLagMs / 1000 + " s") +
            ", hook " + (hook == null ? "none" : hook.toString()) + ", failback " +
            (failback ? "after " + failbackHealthyMs / 1000 + " s healthy" : "off");
    }
}
