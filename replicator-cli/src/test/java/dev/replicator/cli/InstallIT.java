package dev.replicator.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.replicator.core.test.Await;
import dev.replicator.core.wire.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Runs after {@code package} (failsafe): installs the distribution archive with scripts/install.sh
 * into a temporary prefix (no user created, units into a temporary directory, nothing enabled),
 * checks the rendered units with {@code systemd-analyze verify}, and runs the installed launcher: its
 * version, then a target started from the installed tree and queried with {@code status}.
 */
class InstallIT
{
    private static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(60);

    @TempDir(cleanup = org.junit.jupiter.api.io.CleanupMode.ON_SUCCESS)
    Path dir;

    record Run(int exitCode, String out, String err)
    {
    }

    @Test
    void installedLauncherRunsATargetThatAnswersStatus() throws Exception
    {
        final Path archive = Path.of(System.getProperty("replicator.dist"));
        final Path repo = Path.of(System.getProperty("replicator.repo"));
        final String version = System.getProperty("replicator.version");
        assertThat(archive).as("the archive 'mvn package' builds").isRegularFile();

        final Path prefix = dir.resolve("opt");
        final Path etc = dir.resolve("etc");
        final Path data = dir.resolve("data");
        final Path units = dir.resolve("units");
        final Run install = run(dir, repo.resolve("scripts/install.sh").toString(), "--archive", archive.toString(),
            "--prefix", prefix.toString(), "--etc", etc.toString(), "--data", data.toString(), "--no-user",
            "--systemd-dir", units.toString(), "--bin-link", "none");
        assertThat(install.exitCode()).as(install.err()).isZero();
        assertThat(install.out()).contains("installed replicator " + version);
        assertThat(prefix.resolve("bin/replicator")).isExecutable();
        assertThat(prefix.resolve("lib/jvm.flags")).isRegularFile();
        assertThat(etc.resolve("agent.conf")).content().contains("state.dir = " + data + "/db");
        assertThat(etc.resolve("target.conf")).content().contains("data.dir = " + data);

        final Path systemdAnalyze = Path.of("/usr/bin/systemd-analyze");
        assertThat(systemdAnalyze).as("systemd-analyze is needed (apt-get install systemd)").isExecutable();
        for (final String unit : List.of("replicator-agent.service", "replicator-target.service"))
        {
            final Path file = units.resolve(unit);
            assertThat(file).content().contains("ExecStart=" + prefix + "/bin/replicator", "ProtectSystem=strict",
                "ReadWritePaths=" + data, "NoNewPrivileges=yes", "PrivateTmp=yes", "Restart=on-failure");
            final Run verify = run(dir, systemdAnalyze.toString(), "verify", file.toString());
            assertThat(verify.exitCode()).as(verify.err()).isZero();
            assertThat(verify.err()).as("systemd-analyze warnings for " + unit).isBlank();
        }

        final String launcher = prefix.resolve("bin/replicator").toString();
        final Run versionRun = run(dir, launcher, "--version");
        assertThat(versionRun.exitCode()).as(versionRun.err()).isZero();
        assertThat(versionRun.out().strip()).isEqualTo("replicator " + version);

        final int port;
        try (ServerSocket socket = new ServerSocket(0))
        {
            port = socket.getLocalPort();
        }
        final Path targetConf = etc.resolve("target.conf");
        Files.writeString(targetConf, Files.readString(targetConf).replace("listen = 0.0.0.0:7400",
            "listen = 127.0.0.1:" + port));
        final Path targetLog = dir.resolve("target.log");
        final Process target = new ProcessBuilder(launcher, "target", "run", "--config", targetConf.toString())
            .redirectErrorStream(true).redirectOutput(targetLog.toFile()).start();
        try
        {
            final String address = "127.0.0.1:" + port;
            final Run[] status = new Run[1];
            Await.until(() -> (status[0] = runUnchecked(dir, launcher, "status", "--json", "--target", address))
                .exitCode() == 0 || !target.isAlive(), COMMAND_TIMEOUT, "the installed target to answer status");
            assertThat(target.isAlive()).as("target log: %s", readQuietly(targetLog)).isTrue();
            final JsonNode json = Json.mapper().readTree(status[0].out());
            assertThat(json.get("groups").size()).isZero();
            assertThat(Files.isDirectory(data)).isTrue();
        }
        finally
        {
            target.destroy();
            if (!target.waitFor(30, TimeUnit.SECONDS))
            {
                target.destroyForcibly();
            }
        }
        assertThat(target.exitValue()).as("a target stopped by SIGTERM exits cleanly (JVM: 143)").isIn(0, 143);
    }

    private static Run runUnchecked(final Path dir, final String... command)
    {
        try
        {
            return run(dir, command);
        }
        catch (final IOException ex)
        {
            throw new java.io.UncheckedIOException(ex);
        }
    }

    private static Run run(final Path dir, final String... command) throws IOException
    {
        final File out = Files.createTempFile(dir, "out", ".txt").toFile();
        final File err = Files.createTempFile(dir, "err", ".txt").toFile();
        final Process process = new ProcessBuilder(new ArrayList<>(List.of(command))).directory(dir.toFile())
            .redirectOutput(out).redirectError(err).start();
        try
        {
            if (!process.waitFor(COMMAND_TIMEOUT.toSeconds(), TimeUnit.SECONDS))
            {
                process.destroyForcibly();
                throw new AssertionError(String.join(" ", command) + " did not finish in " + COMMAND_TIMEOUT);
            }
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", ex);
        }
        return new Run(process.exitValue(), Files.readString(out.toPath(), StandardCharsets.UTF_8),
            Files.readString(err.toPath(), StandardCharsets.UTF_8));
    }

    private static String readQuietly(final Path file)
    {
        try
        {
            return Files.readString(file);
        }
        catch (final IOException ex)
        {
            return "(no log: " + ex.getMessage() + ")";
        }
    }
}
