package dev.replicator.core.test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A child JVM for crash tests: runs {@code java <replicator.jvm.flags> -cp <java.class.path> main args}
 * with stdout and stderr going to files, so a test can wait for a line, kill the child hard (SIGKILL,
 * as a crash or power cut of the process would), and then check what survived. Failure messages
 * carry the child's output.
 *
 * <p>The JVM flags come from the system property {@code replicator.jvm.flags} (the root pom passes
 * the same list surefire uses; Chronicle Queue needs them on JDK 17), split on whitespace. Not
 * thread-safe: one test thread drives a child.
 */
public final class ChildJvm implements AutoCloseable
{
    public static final String JVM_FLAGS_PROP_NAME = "replicator.jvm.flags";

    private final Process process;
    private final Path stdoutFile;
    private final Path stderrFile;
    private final String description;

    private ChildJvm(final Process process, final Path stdoutFile, final Path stderrFile, final String description)
    {
        this.process = process;
        this.stdoutFile = stdoutFile;
        this.stderrFile = stderrFile;
        this.description = description;
    }

    /**
     * Starts {@code mainClass} in a new JVM with the test's class path.
     *
     * @param outputDirectory where {@code <simpleName>.stdout} and {@code .stderr} go (created if missing).
     */
    public static ChildJvm start(final Class<?> mainClass, final Path outputDirectory, final String... args)
    {
        return start(mainClass, outputDirectory, java.util.Map.of(), args);
    }

    /**
     * As {@link #start(Class, Path, String...)} with changes to the inherited environment: each entry
     * sets a variable, or removes it when its value is the empty string.
     */
    public static ChildJvm start(
        final Class<?> mainClass, final Path outputDirectory, final java.util.Map<String, String> environment,
        final String... args)
    {
        final List<String> command = new ArrayList<>();
        command.add(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
        for (final String flag : System.getProperty(JVM_FLAGS_PROP_NAME, "").trim().split("\\s+"))
        {
            if (!flag.isEmpty())
            {
                command.add(flag);
            }
        }
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(mainClass.getName());
        command.addAll(List.of(args));
        try
        {
            Files.createDirectories(outputDirectory);
            final Path stdoutFile = outputDirectory.resolve(mainClass.getSimpleName() + ".stdout");
            final Path stderrFile = outputDirectory.resolve(mainClass.getSimpleName() + ".stderr");
            final ProcessBuilder builder = new ProcessBuilder(command)
                .redirectOutput(stdoutFile.toFile())
                .redirectError(stderrFile.toFile());
            for (final java.util.Map.Entry<String, String> entry : environment.entrySet())
            {
                if (entry.getValue().isEmpty())
                {
                    builder.environment().remove(entry.getKey());
                }
                else
                {
                    builder.environment().put(entry.getKey(), entry.getValue());
                }
            }
            final Process process = builder.start();
            return new ChildJvm(process, stdoutFile, stderrFile, mainClass.getSimpleName() + " " + List.of(args));
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot start child JVM " + command, ex);
        }
    }

    public long pid()
    {
        return process.pid();
    }

    public boolean isAlive()
    {
        return process.isAlive();
    }

    /** Everything the child wrote to stdout so far. */
    public String stdout()
    {
        return read(stdoutFile);
    }

    /** Everything the child wrote to stderr so far. */
    public String stderr()
    {
        return read(stderrFile);
    }

    /**
     * Waits until the child's stdout contains {@code text}.
     *
     * @throws AssertionError if it does not within {@code timeout}, or the child exits without it.
     */
    public void awaitOutput(final String text, final Duration timeout)
    {
        Await.until(
            () -> stdout().contains(text) || !process.isAlive(),
            timeout,
            () -> "child JVM " + description + " did not print \"" + text + "\"" + report());
        // Read once more: the child may have printed the text just before it exited.
        if (!stdout().contains(text))
        {
            throw new AssertionError("child JVM " + description + " exited with code " + process.exitValue() +
                " without printing \"" + text + "\"" + report());
        }
    }

    /** Waits until the child's stderr (where logs go) contains {@code text}. */
    public void awaitLog(final String text, final Duration timeout)
    {
        Await.until(
            () -> stderr().contains(text),
            timeout,
            () -> "child JVM " + description + " did not log \"" + text + "\"" + report());
    }

    /** SIGTERM (shutdown hooks run), then waits for the process to be gone. */
    public void terminate()
    {
        process.destroy();
        try
        {
            if (!process.waitFor(30, TimeUnit.SECONDS))
            {
                killHard();
            }
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted while stopping child JVM " + description, ex);
        }
    }

    /** SIGKILL (no shutdown hooks, no finalisation), then waits for the process to be gone. */
    public void killHard()
    {
        process.destroyForcibly();
        try
        {
            if (!process.waitFor(30, TimeUnit.SECONDS))
            {
                throw new AssertionError("child JVM " + description + " (pid " + pid() + ") survived SIGKILL for 30 s");
            }
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted while killing child JVM " + description, ex);
        }
    }

    /** Waits for the child to exit by itself and returns its exit code. */
    public int awaitExit(final Duration timeout)
    {
        try
        {
            if (!process.waitFor(timeout.toNanos(), TimeUnit.NANOSECONDS))
            {
                throw new AssertionError("child JVM " + description + " did not exit within " + timeout.toMillis() +
                    " ms" + report());
            }
            return process.exitValue();
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted while waiting for child JVM " + description, ex);
        }
    }

    /** Kills the child if it is still running. */
    @Override
    public void close()
    {
        if (process.isAlive())
        {
            killHard();
        }
    }

    /** The child's output, for failure messages. */
    public String report()
    {
        return "\n--- child stdout (" + stdoutFile + ") ---\n" + stdout() +
            "\n--- child stderr (" + stderrFile + ") ---\n" + stderr();
    }

    private static String read(final Path file)
    {
        try
        {
            return Files.exists(file) ? Files.readString(file, StandardCharsets.UTF_8) : "";
        }
        catch (final IOException ex)
        {
            return "<cannot read " + file + ": " + ex + ">";
        }
    }
}
