package dev.replicator.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.replicator.core.security.CertificateAuthority;
import dev.replicator.core.security.PemFiles;
import dev.replicator.core.security.Role;
import dev.replicator.core.test.ChildJvm;
import dev.replicator.core.wire.Frame;
import dev.replicator.core.wire.FrameChannel;
import dev.replicator.core.wire.MessageType;
import dev.replicator.core.wire.Messages;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A target with mutual TLS (a child JVM) replicates from a TLS agent (a child JVM) and refuses every
 * peer it must: no client certificate, another CA, expired, deny-listed, an agent for another group,
 * an agent certificate used for an admin command. Each refusal is one clear line in the target's log
 * and leaves the group's durable seq, images, epoch and replica bytes as they were.
 */
class MutualTlsTest
{
    private static final Duration LOG_WAIT = Duration.ofSeconds(30);

    @TempDir
    static Path dir;
    static Path tls;
    static LoopbackCluster cluster;
    static String image;

    @BeforeAll
    static void replicateOverMutualTls() throws IOException
    {
        tls = dir.resolve("tls");
        final CertificateAuthority ca = CertificateAuthority.init(tls.resolve("ca"), "test-ca", days(30));
        final CertificateAuthority otherCa = CertificateAuthority.init(tls.resolve("other-ca"), "test-ca", days(30));
        node(ca, "target", Role.TARGET, "dr", Set.of(), Instant.now(), days(1));
        node(ca, "agent", Role.AGENT, "test-primary", Set.of(LoopbackCluster.GROUP), Instant.now(), days(1));
        node(ca, "admin", Role.ADMIN, "ops", Set.of(), Instant.now(), days(1));
        node(ca, "intruder", Role.AGENT, "intruder", Set.of("other"), Instant.now(), days(1));
        node(ca, "expired", Role.AGENT, "test-primary", Set.of(LoopbackCluster.GROUP), days(-2), days(-1));
        final X509Certificate revoked = node(ca, "revoked", Role.AGENT, "test-primary",
            Set.of(LoopbackCluster.GROUP), Instant.now(), days(1));
        node(otherCa, "stranger", Role.AGENT, "test-primary", Set.of(LoopbackCluster.GROUP), Instant.now(), days(1));
        ca.revoke(revoked.getSerialNumber());
        Files.copy(tls.resolve("ca/crl.pem"), tls.resolve("target/crl.pem"), StandardCopyOption.REPLACE_EXISTING);

        cluster = new LoopbackCluster(Files.createDirectories(dir.resolve("cluster")), 16);
        cluster.appendTargetConfig("tls.dir = " + tls.resolve("target"));
        cluster.appendAgentConfig("tls.dir = " + tls.resolve("agent"));
        cluster.adminTlsDir(tls.resolve("admin"));
        LoopbackCluster.writeRandomRuns(cluster.volume, cluster.volumeBlocks, 40, new Random(6));
        cluster.startTarget();
        cluster.startAgent();
        image = cluster.checkpoint("over-tls");
        cluster.agent().terminate();
    }

    @AfterAll
    static void stop()
    {
        if (cluster != null)
        {
            cluster.close();
        }
    }

    @Test
    void shouldReplicateAndServeAdminCommandsOverMutualTls() throws IOException
    {
        final Path exported = dir.resolve("exported.img");
        final Cli.Result export = cluster.admin("images", "export", "--image", image, "--to", exported.toString());

        assertThat(export.exitCode()).as(export.err()).isZero();
        assertThat(LoopbackCluster.sha256(exported)).isEqualTo(LoopbackCluster.sha256(cluster.volume));
        assertThat(cluster.targetProcess().stderr()).contains("mutual TLS 1.3 (jdk) as target 'dr'");
        cluster.agent().awaitExit(Duration.ofSeconds(30));
        assertThat(cluster.agent().stderr()).contains("with mutual TLS 1.3 (jdk) as agent 'test-primary'");
    }

    @Test
    void shouldRefuseAClientWithoutCertificate() throws Exception
    {
        final String before = groupState();
        assertThat(hello(null)).doesNotStartWith("WELCOME");
        cluster.targetProcess().awaitLog("the client sent no certificate", LOG_WAIT);
        assertThat(groupState()).isEqualTo(before);
    }

    @Test
    void shouldRefuseACertificateFromAnotherCa() throws Exception
    {
        final String before = groupState();
        assertThat(hello(tls.resolve("stranger"))).doesNotStartWith("WELCOME");
        cluster.targetProcess().awaitLog("CN=test-primary", LOG_WAIT);
        cluster.targetProcess().awaitLog("was not issued by a trusted CA", LOG_WAIT);
        assertThat(groupState()).isEqualTo(before);
    }

    @Test
    void shouldRefuseAnExpiredCertificate() throws Exception
    {
        final String before = groupState();
        assertThat(hello(tls.resolve("expired"))).doesNotStartWith("WELCOME");
        cluster.targetProcess().awaitLog(") expired on ", LOG_WAIT);
        assertThat(groupState()).isEqualTo(before);
    }

    @Test
    void shouldRefuseADenyListedCertificate() throws Exception
    {
        final String before = groupState();
        assertThat(hello(tls.resolve("revoked"))).doesNotStartWith("WELCOME");
        cluster.targetProcess().awaitLog("is on the deny list", LOG_WAIT);
        assertThat(groupState()).isEqualTo(before);
    }

    @Test
    void shouldRefuseAnAgentWhoseCertificateNamesOtherGroups() throws Exception
    {
        final String before = groupState();
        final Path config = dir.resolve("intruder.conf");
        Files.writeString(config, cluster.agentConfig(cluster.volume, dir.resolve("intruder-state").toString())
            .replace("agent.name = test-primary", "agent.name = intruder") +
            "tls.dir = " + tls.resolve("intruder") + "\n");
        try (ChildJvm intruder = ChildJvm.start(Replicator.class, dir.resolve("logs-intruder"),
            "agent", "run", "--config", config.toString()))
        {
            assertThat(intruder.awaitExit(Duration.ofSeconds(60))).as(intruder.report()).isEqualTo(2);
            assertThat(intruder.stderr()).contains("may not replicate group 'g'");
        }
        cluster.targetProcess().awaitLog("group=g refused agent 'intruder'", LOG_WAIT);
        assertThat(groupState()).isEqualTo(before);
    }

    @Test
    void shouldRefuseAdminCommandsWithAnAgentCertificate() throws Exception
    {
        final String before = groupState();
        final Path recovery = dir.resolve("recovery.img");
        final Cli.Result result = Cli.run("failover", "--group", LoopbackCluster.GROUP, "--latest",
            "--to", recovery.toString(), "--target", cluster.target, "--tls-dir", tls.resolve("agent").toString());

        assertThat(result.exitCode()).isEqualTo(2);
        assertThat(result.err()).contains("admin commands need an admin certificate");
        cluster.targetProcess().awaitLog("refused admin command 'failover'", LOG_WAIT);
        assertThat(recovery).doesNotExist();
        assertThat(groupState()).isEqualTo(before);
    }

    @Test
    void shouldRefuseToStartWithoutCertificateOrInsecure() throws Exception
    {
        final Path config = dir.resolve("plain-target.conf");
        Files.writeString(config, "listen = 127.0.0.1:0\ndata.dir = plain-data\n");
        final Map<String, String> noInsecureEnv = Map.of("REPLICATOR_INSECURE", "");
        try (ChildJvm target = ChildJvm.start(Replicator.class, dir.resolve("logs-plain"), noInsecureEnv,
            "target", "run", "--config", config.toString()))
        {
            assertThat(target.awaitExit(Duration.ofSeconds(60))).isEqualTo(2);
            assertThat(target.stderr().strip()).startsWith("replicator: no TLS certificate configured")
                .doesNotContain("\n");
        }
        assertThat(dir.resolve("plain-data")).doesNotExist();
        try (ChildJvm target = ChildJvm.start(Replicator.class, dir.resolve("logs-insecure"), noInsecureEnv,
            "target", "run", "--insecure", "--config", config.toString()))
        {
            target.awaitLog("INSECURE: the target runs without TLS", LOG_WAIT);
        }
    }

    /** What must not change when a peer is refused: every group's seq, images, epoch, role, and replica bytes. */
    private static String groupState() throws IOException
    {
        final StringBuilder state = new StringBuilder();
        for (final JsonNode group : cluster.json("status", "--json").get("groups"))
        {
            state.append(group.get("group").asText()).append(" seq=").append(group.get("durableSeq").asLong())
                .append(" images=").append(group.get("images").asInt()).append(" epoch=")
                .append(group.get("epoch").asLong()).append(" role=").append(group.get("role").asText()).append('\n');
        }
        try (var replicas = Files.walk(cluster.dir.resolve("target-data")))
        {
            for (final Path replica : replicas.filter(p -> p.toString().endsWith(".replica")).sorted().toList())
            {
                state.append(replica.getFileName()).append(' ').append(LoopbackCluster.sha256(replica)).append('\n');
            }
        }
        assertThat(state).contains("g seq=");
        return state.toString();
    }

    /**
     * A hand-made TLS client (the real agent refuses to start with such certificates) that says
     * hello for group g as the test's primary. {@code nodeDir} null: no client certificate.
     *
     * @return the reply's type, or how the connection ended.
     */
    private static String hello(final Path nodeDir) throws Exception
    {
        KeyManager[] keyManagers = null;
        if (nodeDir != null)
        {
            final KeyStore keys = KeyStore.getInstance("PKCS12");
            keys.load(null, null);
            keys.setKeyEntry("node", PemFiles.readPrivateKey(nodeDir.resolve("node.key")), new char[0],
                PemFiles.readCertificates(nodeDir.resolve("node.crt")).toArray(new X509Certificate[0]));
            final KeyManagerFactory factory = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            factory.init(keys, new char[0]);
            keyManagers = factory.getKeyManagers();
        }
        final SSLContext context = SSLContext.getInstance("TLSv1.3");
        context.init(keyManagers, new TrustManager[] {new TrustAnyServer()}, null);
        try (SSLSocket socket = (SSLSocket)context.getSocketFactory().createSocket("127.0.0.1", cluster.port);
             FrameChannel channel = new FrameChannel(socket))
        {
            channel.readTimeoutMs(10_000);
            channel.send(MessageType.HELLO, 0, 0, new Messages.Hello(Messages.PROTOCOL_VERSION, LoopbackCluster.GROUP,
                "test-primary", "journal-of-an-impostor", 0, 1000, List.of(new Messages.VolumeInfo("disk0",
                    cluster.volumeBlocks * LoopbackCluster.BLOCK, LoopbackCluster.BLOCK))));
            final Frame reply = channel.read();
            return reply.type().name();
        }
        catch (final IOException ex)
        {
            return "closed: " + ex.getMessage();
        }
    }

    /** The client's trust does not matter here: these tests are about the target's. */
    private static final class TrustAnyServer implements X509TrustManager
    {
        @Override
        public void checkClientTrusted(final X509Certificate[] chain, final String authType)
        {
        }

        @Override
        public void checkServerTrusted(final X509Certificate[] chain, final String authType)
        {
        }

        @Override
        public X509Certificate[] getAcceptedIssuers()
        {
            return new X509Certificate[0];
        }
    }

    private static X509Certificate node(
        final CertificateAuthority ca, final String name, final Role role, final String cn, final Set<String> groups,
        final Instant notBefore, final Instant notAfter) throws IOException
    {
        final CertificateAuthority.Issued issued = ca.issue(role, cn, groups, notBefore, notAfter);
        ca.writeNode(tls.resolve(name), issued);
        return issued.certificate();
    }

    private static Instant days(final int days)
    {
        return Instant.now().plus(Duration.ofDays(days));
    }
}
