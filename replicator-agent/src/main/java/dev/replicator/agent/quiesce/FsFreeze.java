package dev.replicator.agent.quiesce;

import dev.replicator.core.exec.HookScript;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * {@code fsfreeze} of a mounted file system (util-linux): freezing flushes it and blocks new writes,
 * so the block device below holds a consistent file system until it is thawed. Stateless.
 */
final class FsFreeze
{
    /** Thawing is quick; a thaw that takes longer than this is reported and retried by the caller. */
    static final long THAW_TIMEOUT_MS = 10_000;

    private FsFreeze()
    {
    }

    static HookScript.Outcome freeze(final Path mount, final long timeoutMs)
    {
        return HookScript.run(List.of("fsfreeze", "--freeze", mount.toString()), Map.of(), timeoutMs);
    }

    static HookScript.Outcome thaw(final Path mount)
    {
        return HookScript.run(List.of("fsfreeze", "--unfreeze", mount.toString()), Map.of(), THAW_TIMEOUT_MS);
    }
}
