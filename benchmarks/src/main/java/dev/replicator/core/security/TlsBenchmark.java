package dev.replicator.core.security;

import dev.replicator.agent.Agent;
import dev.replicator.agent.AgentConfig;
import dev.replicator.core.config.HostPort;
import dev.replicator.core.volume.VolumeSpec;
import dev.replicator.target.Target;
import dev.replicator.target.TargetConfig;
import dev.replicator.target.group.Group;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.Locale;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import javax.net.ssl.SSLSocket;

/**
 * One run that compares the two TLS providers and prices TLS on the whole pipeline, on loopback:
 *
 * <ol>
 *   <li>full mutual TLS 1.3 handshakes through {@link Transport} (sessions invalidated, so none is
 *       resumed: each admin command is a new process, and agents reconnect rarely), JDK vs BC;</li>
 *   <li>bulk throughput of one connection written in 1 MiB writes (the shipper's frame size),
 *       plaintext vs JDK vs BC;</li>
 *   <li>the pipeline: an in-process agent writing through its API to a journal, shipping to an
 *       in-process target that fsyncs, until the target's durable seq reaches the last write;
 *       plaintext vs JDK vs BC.</li>
 * </ol>
 *
 * Cases alternate inside each round so that drift on a shared machine hits all of them; the first
 * round warms the JIT and is not counted. Prints a table, then one {@code key=value} line.
 * Run with {@code scripts/bench-tls.sh}, not through JMH: the pipeline part needs whole processes'
 * worth of threads and files, and a JMH fork per case would not share one run's conditions.
 */
public final class TlsBenchmark
{
    private static final int MIB = 1 << 20;

    private final Path work;
    private final int handshakes;
    private final int bulkMiB;
    private final int pipelineMiB;
    private final int rounds;

    private TlsBenchmark(final Path work, final int handshakes, final int bulkMiB, final int pipelineMiB,
        final int rounds)
    {
        this.work = work;
        this.handshakes = handshakes;
        this.bulkMiB = bulkMiB;
        this.pipelineMiB = pipelineMiB;
        this.rounds = rounds;
    }

    public static void main(final String[] args) throws Exception
    {
        // -Dbench.dir=/dev/shm takes the disk out of the pipeline: on a machine whose disk others share,
        // fsync times swamp the cost being measured.
        final String base = System.getProperty("bench.dir");
        final Path work = base == null ? Files.createTempDirectory("replicator-bench-tls") :
            Files.createTempDirectory(Path.of(base), "replicator-bench-tls");
        System.out.println("working directory: " + work);
        try
        {
            new TlsBenchmark(work, intProp("bench.handshakes", 200), intProp("bench.bulk.mib", 512),
                intProp("bench.pipeline.mib", 256), intProp("bench.rounds", 5)).run();
        }
        finally
        {
                deleteTree(work);
        }
    }

    private static void deleteTree(final Path dir) throws IOException
    {
        try (var paths = Files.walk(dir))
        {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    private void run() throws Exception
    {
        final CertificateAuthority ca = CertificateAuthority.init(work.resolve("ca"), "bench-ca",
            Instant.now().plus(Duration.ofDays(1)));
        final Instant from = Instant.now().minusSeconds(60);
        final Instant to = Instant.now().plus(Duration.ofDays(1));
        ca.writeNode(work.resolve("target-tls"), ca.issue(Role.TARGET, "bench-target", Set.of(), from, to));
        ca.writeNode(work.resolve("agent-tls"), ca.issue(Role.AGENT, "bench-agent", Set.of("bench"), from, to));
        final TlsProvider[] providers = TlsProvider.values();
        final int counted = rounds == 1 ? 1 : rounds - 1;
        // [case][counted round]; case 0 is plaintext (not measured for handshakes), 1.. the providers.
        final double[][] handshakeUs = new double[providers.length + 1][counted];
        final double[][] bulk = new double[providers.length + 1][counted];
        final double[][] pipeline = new double[providers.length + 1][counted];
        final byte[][] data = pipelineData(pipelineMiB);
        for (int round = 0; round < rounds; round++)
        {
            final int slot = rounds == 1 ? 0 : round - 1;
            for (int p = 0; p < providers.length; p++)
            {
                final double us = handshakeMicros(providers[p]);
                final double mibps = bulkMiBps(transport("target-tls", providers[p]), transport("agent-tls", providers[p]));
                record(handshakeUs[p + 1], slot, us);
                record(bulk[p + 1], slot, mibps);
                System.out.printf(Locale.ROOT, "round %d %-4s handshake %8.0f us   bulk %7.0f MiB/s%n", round,
                    providers[p], us, mibps);
            }
            final double plainBulk = bulkMiBps(Transport.of(TlsSettings.insecure()), Transport.of(TlsSettings.insecure()));
            record(bulk[0], slot, plainBulk);
            System.out.printf(Locale.ROOT, "round %d %-4s                       bulk %7.0f MiB/s%n", round, "none",
                plainBulk);
            // The pipeline cases take turns going first: an earlier run showed the first case of a round
            // paying for something the others did not (plaintext first, and slower than TLS, every round).
            for (int k = 0; k <= providers.length; k++)
            {
                final int c = (k + round) % (providers.length + 1);
                final TlsSettings targetTls = c == 0 ? TlsSettings.insecure() :
                    TlsSettings.fromDir(work.resolve("target-tls"), providers[c - 1]);
                final TlsSettings agentTls = c == 0 ? TlsSettings.insecure() :
                    TlsSettings.fromDir(work.resolve("agent-tls"), providers[c - 1]);
                final String name = c == 0 ? "none" : providers[c - 1].name();
                final double mibps = pipelineMiBps(targetTls, agentTls, data, round, name);
                record(pipeline[c], slot, mibps);
                System.out.printf(Locale.ROOT, "round %d %-4s pipeline %7.1f MiB/s%n", round, name, mibps);
            }
        }
        report(handshakeUs, bulk, pipeline);
    }

    private static void record(final double[] into, final int slot, final double value)
    {
        if (slot >= 0)
        {
            into[slot] = value;
        }
    }

    /** Medians over the counted rounds: a shared machine's bursts move a best or a mean too much. */
    private void report(final double[][] handshakeRounds, final double[][] bulkRounds, final double[][] pipelineRounds)
    {
        final double[] handshakeUs = medians(handshakeRounds);
        final double[] bulk = medians(bulkRounds);
        final double[] pipeline = medians(pipelineRounds);
        final int jdk = TlsProvider.JDK.ordinal();
        final int bc = TlsProvider.BC.ordinal();
        // Bulk decides: the shipper streams over one long-lived connection; a handshake happens once per
        // agent connection or admin command.
        final String faster = bulk[jdk + 1] >= bulk[bc + 1] ? "jdk" : "bc";
        final int chosen = TlsProvider.DEFAULT.ordinal();
        final int rounds = this.rounds;
        final double cost = 100.0 * (pipeline[0] - pipeline[chosen + 1]) / pipeline[0];
        System.out.printf(Locale.ROOT, "%nmedian of rounds 1..%d (round 0 warms up; handshake: mean per round)%n",
            rounds - 1);
        System.out.printf(Locale.ROOT, "handshake   jdk %6.0f us   bc %6.0f us%n", handshakeUs[jdk + 1],
            handshakeUs[bc + 1]);
        System.out.printf(Locale.ROOT, "bulk        plain %6.0f   jdk %6.0f   bc %6.0f MiB/s%n", bulk[0],
            bulk[jdk + 1], bulk[bc + 1]);
        System.out.printf(Locale.ROOT, "pipeline    plain %6.1f   jdk %6.1f   bc %6.1f MiB/s (TLS with %s costs %.1f%%)%n",
            pipeline[0], pipeline[jdk + 1], pipeline[bc + 1], TlsProvider.DEFAULT, cost);
        System.out.printf(Locale.ROOT, "faster_provider=%s default_provider=%s handshake_us_jdk=%.0f handshake_us_bc=%.0f " +
            "bulk_mibps_plain=%.0f bulk_mibps_jdk=%.0f bulk_mibps_bc=%.0f pipeline_mibps_plain=%.1f " +
            "pipeline_mibps_jdk=%.1f pipeline_mibps_bc=%.1f tls_pipeline_cost_pct=%.1f%n", faster,
            TlsProvider.DEFAULT.name().toLowerCase(Locale.ROOT), handshakeUs[jdk + 1], handshakeUs[bc + 1], bulk[0],
            bulk[jdk + 1], bulk[bc + 1], pipeline[0], pipeline[jdk + 1], pipeline[bc + 1], cost);
    }

    private static double[] medians(final double[][] rounds)
    {
        final double[] medians = new double[rounds.length];
        for (int c = 0; c < rounds.length; c++)
        {
            final double[] sorted = rounds[c].clone();
            java.util.Arrays.sort(sorted);
            final int n = sorted.length;
            medians[c] = n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
        }
        return medians;
    }

    private Transport transport(final String dir, final TlsProvider provider) throws IOException
    {
        return Transport.of(TlsSettings.fromDir(work.resolve(dir), provider));
    }

    private double handshakeMicros(final TlsProvider provider) throws Exception
    {
        final Transport server = transport("target-tls", provider);
        final Transport client = transport("agent-tls", provider);
        try (ServerSocket listening = server.listen(new HostPort("127.0.0.1", 0), 64))
        {
            final HostPort address = new HostPort("127.0.0.1", listening.getLocalPort());
            final CompletableFuture<Void> accepting = CompletableFuture.runAsync(() ->
            {
                for (int i = 0; i < handshakes; i++)
                {
                    try (Socket accepted = listening.accept())
                    {
                        server.handshake(accepted, 10_000);
                        ((SSLSocket)accepted).getSession().invalidate();
                        accepted.getOutputStream().write(1);
                        accepted.getOutputStream().flush();
                    }
                    catch (final IOException ex)
                    {
                        throw new UncheckedIOException(ex);
                    }
                }
            });
            final long startNs = System.nanoTime();
            for (int i = 0; i < handshakes; i++)
            {
                try (Socket socket = client.connect(address, 10_000))
                {
                    // The server's byte comes after its handshake ends: the client's certificate is checked.
                    socket.getInputStream().read();
                    ((SSLSocket)socket).getSession().invalidate();
                }
            }
            final long elapsedNs = System.nanoTime() - startNs;
            accepting.get(60, TimeUnit.SECONDS);
            return elapsedNs / 1000.0 / handshakes;
        }
    }

    private double bulkMiBps(final Transport server, final Transport client) throws Exception
    {
        final byte[] block = new byte[MIB];
        new Random(42).nextBytes(block);
        try (ServerSocket listening = server.listen(new HostPort("127.0.0.1", 0), 4))
        {
            final CompletableFuture<Void> reading = CompletableFuture.runAsync(() ->
            {
                try (Socket accepted = listening.accept())
                {
                    server.handshake(accepted, 10_000);
                    final InputStream in = accepted.getInputStream();
                    final byte[] buffer = new byte[256 * 1024];
                    long left = (long)bulkMiB * MIB;
                    while (left > 0)
                    {
                        final int n = in.read(buffer, 0, (int)Math.min(buffer.length, left));
                        if (n < 0)
                        {
                            throw new IOException("ended early");
                        }
                        left -= n;
                    }
                    accepted.getOutputStream().write(1);
                    accepted.getOutputStream().flush();
                }
                catch (final IOException ex)
                {
                    throw new UncheckedIOException(ex);
                }
            });
            try (Socket socket = client.connect(new HostPort("127.0.0.1", listening.getLocalPort()), 10_000))
            {
                final OutputStream out = socket.getOutputStream();
                final long startNs = System.nanoTime();
                for (int i = 0; i < bulkMiB; i++)
                {
                    out.write(block);
                }
                out.flush();
                socket.getInputStream().read();
                final long elapsedNs = System.nanoTime() - startNs;
                reading.get(60, TimeUnit.SECONDS);
                return bulkMiB / (elapsedNs / 1e9);
            }
        }
    }

    /** Half random, half text per block: LZ4 keeps about half, as with a database's pages. */
    private static byte[][] pipelineData(final int mib)
    {
        final Random random = new Random(7);
        final byte[] text = "replicator pipeline benchmark: the quick brown fox jumps over the lazy dog\n".getBytes();
        final byte[][] chunks = new byte[mib][MIB];
        for (final byte[] chunk : chunks)
        {
            random.nextBytes(chunk);
            for (int block = 0; block < MIB; block += 4096)
            {
                for (int i = 0; i < 2048; i++)
                {
                    chunk[block + i] = text[i % text.length];
                }
            }
        }
        return chunks;
    }

    private double pipelineMiBps(
        final TlsSettings targetTls, final TlsSettings agentTls, final byte[][] data, final int round,
        final String name) throws Exception
    {
        final Path dir = Files.createDirectories(work.resolve("pipeline-" + round + "-" + name));
        final long volumeBytes = (long)data.length * MIB;
        final Path volume = dir.resolve("volume.img");
        try (RandomAccessFile file = new RandomAccessFile(volume.toFile(), "rw"))
        {
            file.setLength(volumeBytes);
        }
        try (Target target = new Target(new TargetConfig(new HostPort("127.0.0.1", 0), dir.resolve("target"), 16, 2000,
            1000).withTls(targetTls)).start();
             Agent agent = new Agent(AgentConfig.builder().group("bench").agentName("bench-agent")
                 .target(new HostPort("127.0.0.1", target.port())).stateDir(dir.resolve("agent"))
                 .volume(new VolumeSpec("v", volume, volumeBytes, 4096)).capture(AgentConfig.Capture.API)
                 .scanIntervalMs(100_000).tls(agentTls).build()).start())
        {
            final long startNs = System.nanoTime();
            long lastSeq = 0;
            for (int i = 0; i < data.length; i++)
            {
                lastSeq = agent.writer().write("v", (long)i * MIB, ByteBuffer.wrap(data[i]));
            }
            final long deadlineNs = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
            while (durableSeq(target) < lastSeq)
            {
                if (deadlineNs - System.nanoTime() < 0)
                {
                    throw new IllegalStateException("pipeline " + name + " did not finish in 5 minutes");
                }
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
            }
            return data.length / ((System.nanoTime() - startNs) / 1e9);
        }
        finally
        {
            deleteTree(dir);
        }
    }

    private static long durableSeq(final Target target)
    {
        final Group group = target.groups().get("bench");
        return group == null ? 0 : group.store().lastSeq();
    }

    private static int intProp(final String name, final int defaultValue)
    {
        return Integer.getInteger(name, defaultValue);
    }
}
