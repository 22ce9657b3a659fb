package dev.replicator.cli;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * An admin command ({@link Cli}, in this JVM) running on its own thread, so that the test can kill a
 * process while the command is in flight. {@link Cli#run} holds the CLI's lock and this JVM's
 * stdout/stderr while it runs: the test thread must not run another command or print until
 * {@link #await} returns.
 */
final class BackgroundCommand
{
    private final CompletableFuture<Cli.Result> result = new CompletableFuture<>();
    private final String description;
    private final long startNs = System.nanoTime();
    private volatile long endNs;

    private BackgroundCommand(final String description)
    {
        this.description = description;
    }

    static BackgroundCommand start(final LoopbackCluster cluster, final String... args)
    {
        final BackgroundCommand command = new BackgroundCommand("replicator " + String.join(" ", args));
        final Thread thread = new Thread(() ->
        {
            try
            {
                final Cli.Result done = cluster.admin(args);
                command.endNs = System.nanoTime();
                command.result.complete(done);
            }
            catch (final Throwable ex)
            {
                command.endNs = System.nanoTime();
                command.result.completeExceptionally(ex);
            }
        }, "admin-" + args[0]);
        thread.setDaemon(true);
        thread.start();
        return command;
    }

    boolean isDone()
    {
        return result.isDone();
    }

    /** {@link System#nanoTime()} when the answer came (valid once done). */
    long endNs()
    {
        return endNs;
    }

    /** Wall time from start to the answer (valid once done). */
    long elapsedMs()
    {
        return TimeUnit.NANOSECONDS.toMillis(endNs - startNs);
    }

    Cli.Result await(final Duration timeout)
    {
        try
        {
            return result.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
        }
        catch (final TimeoutException ex)
        {
            throw new AssertionError("'" + description + "' did not answer within " + timeout.toSeconds() + " s");
        }
        catch (final ExecutionException ex)
        {
            throw new AssertionError("'" + description + "' threw " + ex.getCause(), ex.getCause());
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted while waiting for '" + description + "'", ex);
        }
    }

    @Override
    public String toString()
    {
        return description;
    }
}
