package dev.replicator.core.exec;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs an admin's script (a checkpoint hook, a failover hook, {@code fsfreeze}) as a child process
 * with a deadline: on timeout the process and everything it started are killed. Its output (stdout
 * and stderr together) goes to a temporary file whose tail is kept for the log. Never throws for a
 * script that fails: the {@link Outcome} says what happened. Thread-safe (no shared state).
 */
public final class HookScript
{
    /** Characters of the script's output kept in an {@link Outcome}. */
    private static final int OUTPUT_TAIL_CHARS = 2000;
    /** How long a killed process may take to go away before we stop waiting. */
    private static final long KILL_WAIT_MS = 5000;

    private HookScript()
    {
    }

    /**
     * What a run came to.
     *
     * @param exitCode   the process's exit code; -1 when it timed out or could not start.
     * @param timedOut   it outlived its timeout and was killed.
     * @param output     the tail of what it printed.
     * @param elapsedMs  how long it ran.
     * @param startError why it could not start, or null.
     */
    public record Outcome(int exitCode, boolean timedOut, String output, long elapsedMs, String startError)
    {
        public boolean succeeded()
        {
            return exitCode == 0 && !timedOut && startError == null;
        }

        /** One phrase for a log line: "exit 0", "exit 3", "timed out after 2000 ms", "could not start: ...". */
        public String describe()
        {
            if (startError != null)
            {
                return "could not start: " + startError;
            }
            return timedOut ? "timed out after " + elapsedMs + " ms (killed)" : "exit " + exitCode;
        }
    }

    /**
     * Runs {@code command} with {@code env} added to this process's environment.
     *
     * @param timeoutMs how long it may run before it and its descendants are killed.
     */
    public static Outcome run(final List<String> command, final Map<String, String> env, final long timeoutMs)
    {
        final long startNs = System.nanoTime();
        Path output = null;
        try
        {
            output = Files.createTempFile("replicator-hook", ".out");
            final ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(output.toFile()).redirectInput(ProcessBuilder.Redirect.from(nullDevice()));
            builder.environment().putAll(env);
            final Process process;
            try
            {
                process = builder.start();
            }
            catch (final IOException ex)
            {
                return new Outcome(-1, false, "", elapsedMs(startNs), ex.getMessage());
            }
            boolean finished;
            try
            {
                finished = process.waitFor(timeoutMs, TimeUnit.MILLISECONDS);
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
                finished = false;
            }
            if (!finished)
            {
                kill(process);
                return new Outcome(-1, true, tail(output), elapsedMs(startNs), null);
            }
            return new Outcome(process.exitValue(), false, tail(output), elapsedMs(startNs), null);
        }
        catch (final IOException ex)
        {
            return new Outcome(-1, false, "", elapsedMs(startNs), ex.getMessage());
        }
        finally
        {
            if (output != null)
            {
                try
                {
                    Files.deleteIfExists(output);
                }
                catch (final IOException ignore)
                {
                    // A temp file left behind is harmless.
                }
            }
        }
    }

    private static void kill(final Process process)
    {
        // Descendants first: a shell script's children would otherwise live on, holding the output open.
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
        try
        {
            process.waitFor(KILL_WAIT_MS, TimeUnit.MILLISECONDS);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
        }
    }

    private static java.io.File nullDevice()
    {
        return new java.io.File("/dev/null");
    }

    private static long elapsedMs(final long startNs)
    {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs);
    }

    private static String tail(final Path output)
    {
        try
        {
            final String text = Files.readString(output, StandardCharsets.UTF_8).strip();
            return text.length() <= OUTPUT_TAIL_CHARS ? text : text.substring(text.length() - OUTPUT_TAIL_CHARS);
        }
        catch (final IOException | java.io.UncheckedIOException ex)
        {
            return "";
        }
    }
}
