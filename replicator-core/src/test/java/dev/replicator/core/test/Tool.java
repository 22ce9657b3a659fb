package dev.replicator.core.test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs a Debian tool a test needs (qemu-io, nbdinfo, nbdcopy, ...) and captures its output. A
 * missing tool fails the test loudly: scripts/install-test-tools.sh installs them.
 */
public final class Tool
{
    /** What a tool printed (stdout and stderr merged) and its exit code. */
    public record Result(int exitCode, String output)
    {
        public Result requireSuccess(final String what)
        {
            if (exitCode != 0)
            {
                throw new AssertionError(what + " exited " + exitCode + ":\n" + output);
            }
            return this;
        }
    }

    private Tool()
    {
    }

    public static Result run(final long timeoutSeconds, final String... command) throws IOException, InterruptedException
    {
        requireInstalled(command[0]);
        final Path out = Files.createTempFile("tool-", ".out");
        try
        {
            final Process process = new ProcessBuilder(List.of(command)).redirectErrorStream(true)
                .redirectOutput(out.toFile()).start();
            if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS))
            {
                process.destroyForcibly().waitFor();
                throw new AssertionError(String.join(" ", command) + " did not finish in " + timeoutSeconds + " s:\n" +
                    Files.readString(out, StandardCharsets.UTF_8));
            }
            return new Result(process.exitValue(), Files.readString(out, StandardCharsets.UTF_8));
        }
        finally
        {
            Files.deleteIfExists(out);
        }
    }

    public static void requireInstalled(final String name)
    {
        final List<String> dirs = new ArrayList<>(List.of(System.getenv().getOrDefault("PATH", "/usr/bin").split(":")));
        for (final String dir : dirs)
        {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, name)))
            {
                return;
            }
        }
        throw new AssertionError(name + " is not installed: run scripts/install-test-tools.sh (Debian packages " +
            "qemu-utils, libnbd-bin, nbdkit, fio)");
    }
}
