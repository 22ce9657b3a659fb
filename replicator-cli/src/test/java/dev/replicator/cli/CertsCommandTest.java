package dev.replicator.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code replicator certs}: what an admin types to set up a deployment, and its mistakes. */
class CertsCommandTest
{
    @TempDir
    Path dir;

    @Test
    void shouldMakeACaAndIssueAgentTargetAndAdminCertificates() throws IOException
    {
        final String ca = dir.resolve("ca").toString();
        assertThat(Cli.run("certs", "init", "--dir", ca, "--days", "30").exitCode()).isZero();
        final Cli.Result agent = Cli.run("certs", "issue", "--dir", ca, "--agent", "db-host1", "--groups", "db,logs",
            "--days", "7", "--out", dir.resolve("db-host1").toString());
        assertThat(agent.exitCode()).as(agent.err()).isZero();
        assertThat(agent.out()).contains("agent certificate for 'db-host1' (groups db,logs)");
        assertThat(Cli.run("certs", "issue", "--dir", ca, "--target", "dr").exitCode()).isZero();
        assertThat(Cli.run("certs", "issue", "--dir", ca, "--admin", "alice").exitCode()).isZero();

        for (final Path key : new Path[] {dir.resolve("ca/ca.key"), dir.resolve("db-host1/node.key"),
            dir.resolve("ca/nodes/dr/node.key"), dir.resolve("ca/nodes/alice/node.key")})
        {
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(key))).as(key.toString())
                .isEqualTo("rw-------");
        }
        final Cli.Result show = Cli.run("certs", "show", dir.resolve("db-host1/node.crt").toString());
        assertThat(show.out()).startsWith("agent 'db-host1' groups [db, logs] serial ");
        assertThat(Files.readString(dir.resolve("db-host1/ca.crt"))).isEqualTo(Files.readString(dir.resolve("ca/ca.crt")));
    }

    @Test
    void shouldRevokeIntoASignedDenyListThatLaterIssuesCarry() throws IOException
    {
        final String ca = dir.resolve("ca").toString();
        Cli.run("certs", "init", "--dir", ca);
        Cli.run("certs", "issue", "--dir", ca, "--admin", "mallory");
        final Cli.Result revoke = Cli.run("certs", "revoke", "--dir", ca, "--cert",
            dir.resolve("ca/nodes/mallory/node.crt").toString());

        assertThat(revoke.exitCode()).as(revoke.err()).isZero();
        assertThat(revoke.out()).contains("(1 on the list)");
        Cli.run("certs", "issue", "--dir", ca, "--target", "dr");
        assertThat(dir.resolve("ca/nodes/dr/crl.pem")).hasSameTextualContentAs(dir.resolve("ca/crl.pem"));
    }

    @Test
    void shouldRefuseMistakesWithOneSentenceAndExitTwo()
    {
        final String ca = dir.resolve("ca").toString();
        assertThat(Cli.run("certs", "issue", "--dir", ca, "--admin", "a").err())
            .startsWith("replicator: no CA in " + ca);
        Cli.run("certs", "init", "--dir", ca);
        expectBadInput(Cli.run("certs", "init", "--dir", ca), "already holds a CA");
        expectBadInput(Cli.run("certs", "issue", "--dir", ca, "--agent", "a"), "needs --groups");
        expectBadInput(Cli.run("certs", "issue", "--dir", ca, "--admin", "a", "--groups", "g"), "agent certificates only");
        expectBadInput(Cli.run("certs", "issue", "--dir", ca, "--agent", "a b", "--groups", "g"), "name 'a b'");
        expectBadInput(Cli.run("certs", "issue", "--dir", ca, "--admin", "a", "--days", "0"), "--days");
        Cli.run("certs", "issue", "--dir", ca, "--admin", "a");
        expectBadInput(Cli.run("certs", "issue", "--dir", ca, "--admin", "a"), "already holds a key");
        expectBadInput(Cli.run("certs", "revoke", "--dir", ca, "--serial", "xyz"), "not a hex number");
    }

    private static void expectBadInput(final Cli.Result result, final String text)
    {
        assertThat(result.exitCode()).as(result.err()).isEqualTo(2);
        assertThat(result.err()).contains(text);
        assertThat(result.err().strip().lines().count()).isEqualTo(1);
    }
}
