package dev.replicator.agent.quiesce;

import dev.replicator.core.exec.HookScript;
import dev.replicator.core.io.AtomicFiles;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Quiesces the application around a checkpoint: pre hook, then {@code fsfreeze} of the configured
 * mounts; after the checkpoint, thaw, then post hook. The checkpoint is application-consistent only
 * if the pre hook exited 0, every mount froze, and it was {@linkplain Quiesced#seal() sealed} before
 * the freeze watchdog fired.
 *
 * <p>Never left frozen: {@link Quiesced#close()} thaws in a finally; a watchdog thaws when the
 * checkpoint outlives {@code freeze.timeout.ms}; and a marker file ({@code state.dir/freeze.marker},
 * written before the first freeze, deleted once all are thawed) makes {@link #thawLeftovers()} thaw
 * at the next start what a killed agent left frozen.
 *
 * <p>Thread-safe; one checkpoint at a time is the caller's job (the agent serialises them).
 */
public final class Quiescer implements AutoCloseable
{
    private static final Logger LOG = LoggerFactory.getLogger(Quiescer.class);
    public static final String MARKER_FILE = "freeze.marker";

    private final String group;
    private final Path marker;
    private final QuiesceConfig config;
    private final ScheduledExecutorService watchdog;

    public Quiescer(final String group, final Path stateDir, final QuiesceConfig config)
    {
        this.group = group;
        this.marker = stateDir.resolve(MARKER_FILE);
        this.config = config;
        this.watchdog = Executors.newSingleThreadScheduledExecutor(r ->
        {
            final Thread thread = new Thread(r, "freeze-watchdog-" + group);
            thread.setDaemon(true);
            return thread;
        });
    }

    public boolean isConfigured()
    {
        return config.isConfigured();
    }

    /** At start: thaws the mounts a previous run froze and did not live to thaw (the marker says which). */
    public void thawLeftovers() throws IOException
    {
        if (!Files.exists(marker))
        {
            return;
        }
        boolean allThawed = true;
        for (final String line : Files.readAllLines(marker, StandardCharsets.UTF_8))
        {
            if (line.isBlank())
            {
                continue;
            }
            final HookScript.Outcome outcome = FsFreeze.thaw(Path.of(line.strip()));
            // "Invalid argument" means it was not frozen: the previous run thawed it before it died.
            final boolean notFrozen = outcome.output().contains("Invalid argument");
            LOG.warn("group={} a previous run left a freeze marker: thaw {}: {}{}", group, line.strip(),
                outcome.describe(), notFrozen ? " (was not frozen)" : "");
            allThawed &= outcome.succeeded() || notFrozen;
        }
        if (allThawed)
        {
            Files.deleteIfExists(marker);
        }
    }

    /** Runs the pre hook and freezes; never throws. Close the result once the checkpoint is journaled. */
    public Quiesced quiesce(final String label)
    {
        final Quiesced quiesced = new Quiesced(label);
        quiesced.begin();
        return quiesced;
    }

    @Override
    public void close()
    {
        watchdog.shutdownNow();
    }

    /** One quiesced checkpoint. */
    public final class Quiesced implements AutoCloseable
    {
        private final String label;
        private final List<Path> frozen = new ArrayList<>();
        private String notConsistentBecause;
        private boolean sealed;
        private boolean thawed;
        private ScheduledFuture<?> watchdogTask;

        private Quiesced(final String label)
        {
            this.label = label;
        }

        private void begin()
        {
            if (config.preHook() != null)
            {
                final HookScript.Outcome pre = HookScript.run(List.of(config.preHook().toString()),
                    env("pre"), config.hookTimeoutMs());
                if (!pre.succeeded())
                {
                    notConsistent("pre-checkpoint hook " + config.preHook() + " " + pre.describe() +
                        (pre.output().isEmpty() ? "" : ": " + lastLine(pre.output())));
                    return;
                }
            }
            if (config.freezeMounts().isEmpty())
            {
                return;
            }
            try
            {
                final StringBuilder text = new StringBuilder();
                config.freezeMounts().forEach(m -> text.append(m).append('\n'));
                AtomicFiles.writeString(marker, text.toString());
            }
            catch (final IOException ex)
            {
                notConsistent("could not write " + marker + " before freezing: " + ex.getMessage());
                return;
            }
            synchronized (this)
            {
                watchdogTask = watchdog.schedule(this::onWatchdog, config.freezeTimeoutMs(), TimeUnit.MILLISECONDS);
            }
            for (final Path mount : config.freezeMounts())
            {
                synchronized (this)
                {
                    if (thawed)
                    {
                        return;
                    }
                    // Listed before the attempt: a freeze that times out may still take effect in the kernel.
                    frozen.add(mount);
                }
                // The command's own deadline is not the watchdog's: a freeze killed in its ioctl may still
                // take effect, so whatever the outcome, a thaw that happened meanwhile is repeated below.
                final HookScript.Outcome outcome = FsFreeze.freeze(mount,
                    config.freezeTimeoutMs() + FsFreeze.THAW_TIMEOUT_MS);
                synchronized (this)
                {
                    if (thawed)
                    {
                        // The watchdog thawed while this freeze was on its way in: undo whatever it did.
                        FsFreeze.thaw(mount);
                        return;
                    }
                }
                if (!outcome.succeeded())
                {
                    notConsistent("fsfreeze " + mount + " " + outcome.describe() +
                        (outcome.output().isEmpty() ? "" : ": " + lastLine(outcome.output())));
                    thaw("freeze failed");
                    return;
                }
                LOG.info("group={} froze {} for checkpoint '{}'", group, mount, label);
            }
        }

        private synchronized void notConsistent(final String why)
        {
            if (notConsistentBecause == null)
            {
                notConsistentBecause = why;
            }
        }

        private void onWatchdog()
        {
            synchronized (this)
            {
                if (thawed)
                {
                    return;
                }
                if (!sealed && notConsistentBecause == null)
                {
                    notConsistentBecause = "the checkpoint outlived freeze.timeout.ms (" + config.freezeTimeoutMs() +
                        " ms) and the watchdog thawed";
                }
            }
            LOG.error("group={} checkpoint '{}' still frozen after {} ms: the watchdog thaws {}", group, label,
                config.freezeTimeoutMs(), frozen);
            thaw("watchdog");
        }

        /**
         * Called after the checkpoint's data is captured and before its marker is journaled: true if it
         * is application-consistent (then the watchdog can no longer change that).
         */
        public synchronized boolean seal()
        {
            if (notConsistentBecause != null || thawed)
            {
                return false;
            }
            sealed = true;
            return true;
        }

        /** Why this checkpoint is only crash-consistent, or null. */
        public synchronized String notConsistentBecause()
        {
            return notConsistentBecause;
        }

        private synchronized void thaw(final String why)
        {
            if (thawed)
            {
                return;
            }
            thawed = true;
            if (watchdogTask != null)
            {
                watchdogTask.cancel(false);
            }
            boolean allThawed = true;
            for (int i = frozen.size() - 1; i >= 0; i--)
            {
                final Path mount = frozen.get(i);
                HookScript.Outcome outcome = FsFreeze.thaw(mount);
                if (!outcome.succeeded() && !outcome.output().contains("Invalid argument"))
                {
                    // Once more: a mount left frozen stops the application.
                    outcome = FsFreeze.thaw(mount);
                }
                if (outcome.succeeded())
                {
                    LOG.info("group={} thawed {} ({})", group, mount, why);
                }
                else if (!outcome.output().contains("Invalid argument"))
                {
                    allThawed = false;
                    LOG.error("group={} COULD NOT THAW {} ({}): {}; run 'fsfreeze --unfreeze {}'", group, mount, why,
                        outcome.describe() + " " + outcome.output(), mount);
                }
            }
            if (allThawed)
            {
                try
                {
                    Files.deleteIfExists(marker);
                }
                catch (final IOException ex)
                {
                    LOG.warn("group={} could not delete {}: {}", group, marker, ex.getMessage());
                }
            }
        }

        /** Thaws (if frozen), then runs the post hook; never throws. */
        @Override
        public void close()
        {
            thaw("checkpoint done");
            if (config.postHook() != null)
            {
                final HookScript.Outcome post = HookScript.run(List.of(config.postHook().toString()),
                    env("post"), config.hookTimeoutMs());
                if (!post.succeeded())
                {
                    LOG.error("group={} post-checkpoint hook {} {}: {}", group, config.postHook(), post.describe(),
                        lastLine(post.output()));
                }
            }
        }

        private Map<String, String> env(final String phase)
        {
            return Map.of("GROUP", group, "LABEL", label, "PHASE", phase);
        }
    }

    private static String lastLine(final String output)
    {
        final int newline = output.lastIndexOf('\n');
        return newline < 0 ? output : output.substring(newline + 1);
    }
}
