package dev.replicator.agent.quiesce;

import java.nio.file.Path;
import java.util.List;

/**
 * How the agent quiesces the application around a requested or periodic checkpoint.
 *
 * <pre>
 * checkpoint.pre.hook = /etc/replicator/db-flush.sh   # run before; exit 0 = the application is quiesced
 * checkpoint.post.hook = /etc/replicator/db-resume.sh # run after, always (also when pre failed)
 * checkpoint.hook.timeout.ms = 30000                  # a hook running longer is killed (and failed)
 * volume.data.freeze.mount = /srv/db                  # fsfreeze this mount (on volume data) around it
 * freeze.timeout.ms = 30000                           # watchdog: thaw even if the checkpoint hangs
 * </pre>
 *
 * @param preHook       null for none.
 * @param postHook      null for none.
 * @param freezeMounts  mount points to freeze, in order (thawed in reverse).
 */
public record QuiesceConfig(Path preHook, Path postHook, long hookTimeoutMs, List<Path> freezeMounts,
    long freezeTimeoutMs)
{
    public static final long DEFAULT_HOOK_TIMEOUT_MS = 30_000;
    public static final long DEFAULT_FREEZE_TIMEOUT_MS = 30_000;

    public static QuiesceConfig none()
    {
        return new QuiesceConfig(null, null, DEFAULT_HOOK_TIMEOUT_MS, List.of(), DEFAULT_FREEZE_TIMEOUT_MS);
    }

    public QuiesceConfig
    {
        freezeMounts = List.copyOf(freezeMounts);
    }

    /** Anything to do? Otherwise every checkpoint is crash-consistent. */
    public boolean isConfigured()
    {
        return preHook != null || postHook != null || !freezeMounts.isEmpty();
    }
}
