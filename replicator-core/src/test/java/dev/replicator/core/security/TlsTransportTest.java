package dev.replicator.core.security;

import dev.replicator.core.config.HostPort;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TlsTransportTest
{
    @TempDir
    Path dir;

    @Test
    void shouldWritePrivateKeysOwnerOnly() throws IOException
    {
        final CertificateAuthority ca = CertificateAuthority.init(dir.resolve("ca"), "test-ca", in(Duration.ofDays(1)));
        ca.writeNode(dir.resolve("agent"), ca.issue(Role.AGENT, "a1", Set.of("g"), Instant.now(), in(Duration.ofDays(1))));

        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("ca/ca.key"))))
            .isEqualTo("rw-------");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("agent/node.key"))))
            .isEqualTo("rw-------");
        assertThatThrownBy(() -> ca.writeNode(dir.resolve("agent"), ca.issue(Role.AGENT, "a1", Set.of("g"),
            Instant.now(), in(Duration.ofDays(1))))).isInstanceOf(java.nio.file.FileAlreadyExistsException.class);
    }

    @ParameterizedTest
    @EnumSource(TlsProvider.class)
    void shouldIdentifyAnAgentByItsCertificate(final TlsProvider provider) throws Exception
    {
        final CertificateAuthority ca = CertificateAuthority.init(dir.resolve("ca"), "test-ca", in(Duration.ofDays(1)));
        final Transport target = node(ca, "target", Role.TARGET, "t1", Set.of(), provider);
        final Transport agent = node(ca, "agent", Role.AGENT, "a1", Set.of("db", "logs"), provider);

        final PeerIdentity peer = exchange(target, agent);

        assertThat(peer.name()).isEqualTo("a1");
        assertThat(peer.role()).isEqualTo(Role.AGENT);
        assertThat(peer.groups()).containsExactlyInAnyOrder("db", "logs");
        assertThat(AccessPolicy.refuseHello(peer, "db", "a1")).isNull();
        assertThat(AccessPolicy.refuseHello(peer, "other", "a1")).contains("may not replicate group 'other'");
        assertThat(AccessPolicy.refuseHello(peer, "db", "a2")).contains("claims agent.name 'a2'");
        assertThat(AccessPolicy.refuseAdmin(peer, "failover")).contains("need an admin certificate");
    }

    @Test
    void shouldRefuseADeniedCertificateOnceTheDenyListChanges() throws Exception
    {
        final CertificateAuthority ca = CertificateAuthority.init(dir.resolve("ca"), "test-ca", in(Duration.ofDays(1)));
        ca.revoke(java.math.BigInteger.TWO);
        final Transport target = node(ca, "target", Role.TARGET, "t1", Set.of(), TlsProvider.JDK);
        final CertificateAuthority.Issued issued = ca.issue(Role.ADMIN, "ops", Set.of(), Instant.now(),
            in(Duration.ofDays(1)));
        ca.writeNode(dir.resolve("admin"), issued);
        final Transport admin = Transport.of(TlsSettings.fromDir(dir.resolve("admin"), TlsProvider.JDK));
        assertThat(exchange(target, admin).role()).isEqualTo(Role.ADMIN);

        ca.revoke(issued.certificate().getSerialNumber());
        Files.copy(dir.resolve("ca/crl.pem"), dir.resolve("target/crl.pem"),
            java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Files.setLastModifiedTime(dir.resolve("target/crl.pem"),
            java.nio.file.attribute.FileTime.from(Instant.now().plusSeconds(5)));

        assertThatThrownBy(() -> exchange(target, admin)).isInstanceOf(PeerRefusedException.class)
            .hasMessageContaining("is on the deny list");
    }

    private Transport node(
        final CertificateAuthority ca, final String name, final Role role, final String cn, final Set<String> groups,
        final TlsProvider provider) throws IOException
    {
        ca.writeNode(dir.resolve(name), ca.issue(role, cn, groups, Instant.now(), in(Duration.ofDays(1))));
        if (role == Role.TARGET && Files.exists(ca.dir().resolve("crl.pem")))
        {
            Files.copy(ca.dir().resolve("crl.pem"), dir.resolve(name).resolve("crl.pem"),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
        return Transport.of(TlsSettings.fromDir(dir.resolve(name), provider));
    }

    /** One connection: the client sends a byte, the server echoes it; returns who the server saw. */
    private static PeerIdentity exchange(final Transport server, final Transport client) throws Exception
    {
        try (ServerSocket listening = server.listen(new HostPort("127.0.0.1", 0), 4))
        {
            final CompletableFuture<PeerIdentity> seen = CompletableFuture.supplyAsync(() ->
            {
                try (Socket accepted = listening.accept())
                {
                    final PeerIdentity peer = server.handshake(accepted, 5000);
                    final int b = accepted.getInputStream().read();
                    accepted.getOutputStream().write(b);
                    accepted.getOutputStream().flush();
                    return peer;
                }
                catch (final IOException ex)
                {
                    throw new java.io.UncheckedIOException(ex);
                }
            });
            try (Socket socket = client.connect(new HostPort("127.0.0.1", listening.getLocalPort()), 5000))
            {
                final OutputStream out = socket.getOutputStream();
                out.write(42);
                out.flush();
                final InputStream in = socket.getInputStream();
                in.read();
            }
            catch (final IOException ignore)
            {
                // The server's refusal is what the caller looks at.
            }
            try
            {
                return seen.get(10, TimeUnit.SECONDS);
            }
            catch (final java.util.concurrent.ExecutionException ex)
            {
                throw (Exception)ex.getCause().getCause();
            }
        }
    }

    private static Instant in(final Duration duration)
    {
        return Instant.now().plus(duration);
    }
}
