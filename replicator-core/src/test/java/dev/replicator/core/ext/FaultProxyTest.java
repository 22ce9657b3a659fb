package dev.replicator.core.ext;

import dev.replicator.core.test.Await;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class FaultProxyTest
{
    private static final Duration TIMEOUT = Duration.ofSeconds(10);

    @Test
    void shouldForwardBothDirectionsUnchangedAndCountBytes() throws Exception
    {
        try (PeerServer server = new PeerServer(true);
             FaultProxy proxy = FaultProxy.start(server.address(), FaultPlan.none());
             Socket client = connect(proxy))
        {
            final byte[] sent = new byte[256 * 1024];
            new Random(1).nextBytes(sent);
            final byte[] echoed = new byte[sent.length];
            final OutputStream out = client.getOutputStream();
            final InputStream in = client.getInputStream();
            for (int offset = 0; offset < sent.length; offset += 8192)
            {
                out.write(sent, offset, 8192);
                readFully(in, echoed, offset, 8192);
            }
            assertThat(echoed).isEqualTo(sent);
            assertThat(proxy.counters().connections()).isEqualTo(1);
            // A pump counts after its write returns, which may be after the client has read the bytes.
            Await.until(() -> proxy.counters().bytesForwarded(FaultDirection.UPSTREAM) == sent.length &&
                proxy.counters().bytesForwarded(FaultDirection.DOWNSTREAM) == sent.length, TIMEOUT,
                () -> "the byte counts to reach " + sent.length + ": " + proxy.counters());
            assertThat(proxy.counters().totalFaultsInjected()).isZero();
        }
    }

    @Test
    void shouldInvertOneBitOfEachScheduledByte() throws Exception
    {
        final FaultPlan plan = FaultPlan.builder()
            .at(1, FaultDirection.UPSTREAM, 1000, FaultKind.FLIP)
            .at(ScheduledFault.flip(1, FaultDirection.UPSTREAM, 2000, 6))
            .build();
        try (PeerServer server = new PeerServer(false);
             FaultProxy proxy = FaultProxy.start(server.address(), plan);
             Socket client = connect(proxy))
        {
            client.getOutputStream().write(new byte[4096]);
            client.shutdownOutput();
            final PeerServer.Received received = awaitEnding(server, 0);
            final byte[] bytes = received.bytes();
            assertThat(bytes).hasSize(4096);
            for (int i = 0; i < bytes.length; i++)
            {
                final int expectedBits = i == 1000 || i == 2000 ? 1 : 0;
                assertThat(Integer.bitCount(bytes[i] & 0xFF)).as("byte %d", i).isEqualTo(expectedBits);
            }
            assertThat(bytes[2000]).isEqualTo((byte)0x40);
            assertThat(proxy.counters().faultsInjected(FaultDirection.UPSTREAM, FaultKind.FLIP)).isEqualTo(2);
        }
    }

    @Test
    void shouldForwardTheBytesBeforeATruncateThenClose() throws Exception
    {
        final FaultPlan plan = FaultPlan.builder().at(1, FaultDirection.UPSTREAM, 3000, FaultKind.TRUNCATE).build();
        final byte[] sent = new byte[10_000];
        new Random(2).nextBytes(sent);
        try (PeerServer server = new PeerServer(false);
             FaultProxy proxy = FaultProxy.start(server.address(), plan);
             Socket client = connect(proxy))
        {
            writeIgnoringReset(client, sent);
            final PeerServer.Received received = awaitEnding(server, 0);
            assertThat(received.ending()).isEqualTo("EOF");
            assertThat(received.bytes()).isEqualTo(Arrays.copyOf(sent, 3000));
            assertThat(proxy.counters().faultsInjected(FaultKind.TRUNCATE)).isEqualTo(1);
            Await.until(() -> proxy.openConnections() == 0, TIMEOUT, "the truncated connection to close");
        }
    }

    @Test
    void shouldCloseBothSidesOnDropAndDiscardTheChunkHeld() throws Exception
    {
        final FaultPlan plan = FaultPlan.builder().at(1, FaultDirection.UPSTREAM, 100, FaultKind.DROP).build();
        final byte[] sent = new byte[150];
        new Random(3).nextBytes(sent);
        try (PeerServer server = new PeerServer(false);
             FaultProxy proxy = FaultProxy.start(server.address(), plan);
             Socket client = connect(proxy))
        {
            client.getOutputStream().write(sent, 0, 50);
            Await.until(() -> server.received().size() == 1 && server.received().get(0).size() == 50, TIMEOUT,
                "the first 50 bytes to arrive");
            client.getOutputStream().write(sent, 50, 100);
            final PeerServer.Received received = awaitEnding(server, 0);
            assertThat(received.ending()).isEqualTo("EOF");
            assertThat(received.bytes()).isEqualTo(Arrays.copyOf(sent, 50));
            assertThat(client.getInputStream().read()).as("the client sees an end of stream").isEqualTo(-1);
            assertThat(proxy.counters().faultsInjected(FaultKind.DROP)).isEqualTo(1);
        }
    }

    @Test
    void shouldMakeBothPeersSeeAConnectionResetOnReset() throws Exception
    {
        final FaultPlan plan = FaultPlan.builder().at(1, FaultDirection.UPSTREAM, 10, FaultKind.RESET).build();
        try (PeerServer server = new PeerServer(false);
             FaultProxy proxy = FaultProxy.start(server.address(), plan);
             Socket client = connect(proxy))
        {
            client.getOutputStream().write(new byte[5]);
            Await.until(() -> server.received().size() == 1 && server.received().get(0).size() == 5, TIMEOUT,
                "the first bytes to arrive");
            client.getOutputStream().write(new byte[100]);
            final PeerServer.Received received = awaitEnding(server, 0);
            assertThat(received.ending()).containsIgnoringCase("reset");
            assertThatThrownBy(() -> client.getInputStream().read())
                .isInstanceOf(SocketException.class)
                .hasMessageContainingAll("reset");
            assertThat(proxy.counters().faultsInjected(FaultKind.RESET)).isEqualTo(1);
        }
    }

    @Test
    void shouldHoldBytesForTheDelay() throws Exception
    {
        final FaultPlan plan = FaultPlan.builder()
            .at(ScheduledFault.lasting(1, FaultDirection.DOWNSTREAM, 0, FaultKind.DELAY, 300))
            .build();
        try (PeerServer server = new PeerServer(true);
             FaultProxy proxy = FaultProxy.start(server.address(), plan);
             Socket client = connect(proxy))
        {
            final long startNs = System.nanoTime();
            client.getOutputStream().write(new byte[10]);
            readFully(client.getInputStream(), new byte[10], 0, 10);
            assertThat(System.nanoTime() - startNs).isGreaterThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(300));
            assertThat(proxy.counters().faultsInjected(FaultDirection.DOWNSTREAM, FaultKind.DELAY)).isEqualTo(1);
        }
    }

    @Test
    void shouldFreezeBothDirectionsDuringAStallAndKeepTheConnection() throws Exception
    {
        final FaultPlan plan = FaultPlan.builder()
            .at(ScheduledFault.lasting(1, FaultDirection.UPSTREAM, 5, FaultKind.STALL, 1500))
            .build();
        try (PeerServer server = new PeerServer(true);
             FaultProxy proxy = FaultProxy.start(server.address(), plan);
             Socket client = connect(proxy))
        {
            final byte[] sent = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
            final long startNs = System.nanoTime();
            client.getOutputStream().write(sent);
            client.setSoTimeout(300);
            // Bytes 0-4 reached the server before the stall, but their echo is frozen with the rest.
            assertThatThrownBy(() -> client.getInputStream().read()).isInstanceOf(SocketTimeoutException.class);
            client.setSoTimeout(0);
            final byte[] echoed = new byte[sent.length];
            readFully(client.getInputStream(), echoed, 0, echoed.length);
            assertThat(System.nanoTime() - startNs).isGreaterThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(1500));
            assertThat(echoed).isEqualTo(sent);
            client.getOutputStream().write(sent);
            readFully(client.getInputStream(), echoed, 0, echoed.length);
            assertThat(echoed).isEqualTo(sent);
            assertThat(proxy.openConnections()).isEqualTo(1);
            assertThat(proxy.counters().faultsInjected(FaultKind.STALL)).isEqualTo(1);
        }
    }

    @Test
    void shouldPutRandomFaultsAtTheSameBytesForTheSameSeed() throws Exception
    {
        final long seed = 42;
        final List<Integer> first = flippedBytes(seed, true);
        final List<Integer> again = flippedBytes(seed, true);
        final List<Integer> otherSeed = flippedBytes(seed + 1, true);
        System.out.println("seed=" + seed + " flips at " + first);
        assertThat(first).hasSizeBetween(4, 48); // 16 per MiB expected over 1 MiB
        assertThat(again).isEqualTo(first);
        assertThat(otherSeed).isNotEqualTo(first);
    }

    @Test
    void shouldInjectNothingWhileFaultsAreDisabled() throws Exception
    {
        assertThat(flippedBytes(42, false)).isEmpty();
    }

    @Test
    void shouldNeverChangeBytesWhenDelayingAndStallingAtRandom() throws Exception
    {
        final long seed = System.nanoTime();
        System.out.println("FaultProxyTest seed=" + seed);
        final FaultPlan plan = FaultPlan.builder()
            .seed(seed)
            .faultsPerMiB(FaultKind.DELAY, 64)
            .faultsPerMiB(FaultKind.STALL, 16)
            .delayMs(0, 2)
            .stallMs(0, 5)
            .chunkBytes(4096)
            .build();
        final Random random = new Random(seed);
        try (PeerServer server = new PeerServer(true);
             FaultProxy proxy = FaultProxy.start(server.address(), plan))
        {
            for (int c = 0; c < 8; c++)
            {
                try (Socket client = connect(proxy))
                {
                    final byte[] sent = new byte[64 * 1024 + random.nextInt(64 * 1024)];
                    random.nextBytes(sent);
                    final byte[] echoed = new byte[sent.length];
                    final Thread writer = new Thread(() -> writeIgnoringReset(client, sent), "test-writer");
                    writer.start();
                    readFully(client.getInputStream(), echoed, 0, echoed.length);
                    writer.join(TIMEOUT.toMillis());
                    assertThat(echoed).as("connection %d, seed %d", c + 1, seed).isEqualTo(sent);
                }
            }
            assertThat(proxy.counters().faultsInjected(FaultKind.DELAY)).as("seed %d", seed).isPositive();
            assertThat(proxy.counters().faultsInjected(FaultKind.FLIP)).isZero();
        }
    }

    @Test
    void shouldResetTheClientAndCountItWhenTheServerIsUnreachable() throws Exception
    {
        final InetSocketAddress nowhere;
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress()))
        {
            nowhere = new InetSocketAddress(InetAddress.getLoopbackAddress(), socket.getLocalPort());
        }
        try (FaultProxy proxy = FaultProxy.start(nowhere, FaultPlan.none());
             Socket client = connect(proxy))
        {
            Await.until(() -> proxy.counters().upstreamConnectFailures() == 1, TIMEOUT, "the failed connect");
            int read;
            try
            {
                read = client.getInputStream().read();
            }
            catch (final SocketException ex)
            {
                read = -1;
            }
            assertThat(read).isEqualTo(-1);
            assertThat(proxy.openConnections()).isZero();
        }
    }

    @Test
    void shouldEndEveryThreadOnCloseEvenDuringALongStall() throws Exception
    {
        final FaultPlan plan = FaultPlan.builder()
            .at(ScheduledFault.lasting(1, FaultDirection.UPSTREAM, 0, FaultKind.STALL, 60_000))
            .build();
        final List<Socket> clients = new ArrayList<>();
        final String prefix;
        try (PeerServer server = new PeerServer(true))
        {
            final FaultProxy proxy = FaultProxy.start(server.address(), plan);
            prefix = "fault-proxy-" + proxy.port();
            try
            {
                for (int i = 0; i < 3; i++)
                {
                    clients.add(connect(proxy));
                }
                clients.get(0).getOutputStream().write(1);
                Await.until(() -> proxy.counters().faultsInjected(FaultKind.STALL) == 1 && proxy.openConnections() == 3,
                    TIMEOUT, "the stall and three open connections");
                final long startNs = System.nanoTime();
                proxy.close();
                assertThat(System.nanoTime() - startNs)
                    .isLessThan(TimeUnit.MILLISECONDS.toNanos(FaultProxy.CLOSE_TIMEOUT_MS));
                assertThat(liveThreadsNamed(prefix)).isEmpty();
                assertThat(clients.get(1).getInputStream().read()).isEqualTo(-1);
            }
            finally
            {
                proxy.close();
                for (final Socket client : clients)
                {
                    client.close();
                }
            }
        }
    }

    @Test
    void shouldChooseKindsInProportionToTheirRates()
    {
        final FaultPlan plan = FaultPlan.builder()
            .faultsPerMiB(FaultDirection.UPSTREAM, FaultKind.DROP, 1)
            .faultsPerMiB(FaultDirection.UPSTREAM, FaultKind.FLIP, 3)
            .build();
        assertThat(plan.kindAt(FaultDirection.UPSTREAM, 0.0)).isEqualTo(FaultKind.DROP);
        assertThat(plan.kindAt(FaultDirection.UPSTREAM, 0.24)).isEqualTo(FaultKind.DROP);
        assertThat(plan.kindAt(FaultDirection.UPSTREAM, 0.26)).isEqualTo(FaultKind.FLIP);
        assertThat(plan.kindAt(FaultDirection.UPSTREAM, 0.999)).isEqualTo(FaultKind.FLIP);
        assertThat(plan.totalFaultsPerByte(FaultDirection.DOWNSTREAM)).isZero();
        assertThat(plan.streamSeed(1, FaultDirection.UPSTREAM))
            .isNotEqualTo(plan.streamSeed(1, FaultDirection.DOWNSTREAM))
            .isNotEqualTo(plan.streamSeed(2, FaultDirection.UPSTREAM));
        assertThat(plan.toString()).startsWith("seed=" + plan.seed()).contains("DROP=1.0", "FLIP=3.0");
    }

    @Test
    void shouldRefuseBadSettings()
    {
        assertThatThrownBy(() -> FaultPlan.builder().faultsPerMiB(FaultKind.DROP, -1))
            .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> FaultPlan.builder().faultsPerMiB(FaultKind.DROP, Double.NaN))
            .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> FaultPlan.builder().stallMs(10, 5).build())
            .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> FaultPlan.builder().chunkBytes(0).build())
            .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> ScheduledFault.of(0, FaultDirection.UPSTREAM, 0, FaultKind.FLIP))
            .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> ScheduledFault.flip(1, FaultDirection.UPSTREAM, 0, 8))
            .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> ScheduledFault.lasting(1, FaultDirection.UPSTREAM, 0, FaultKind.DROP, 5))
            .isInstanceOf(IllegalArgumentException.class);
    }

    /** Sends 1 MiB of zeros through a proxy flipping bits at 16 per MiB; returns the damaged offsets. */
    private static List<Integer> flippedBytes(final long seed, final boolean enabled) throws Exception
    {
        final FaultPlan plan = FaultPlan.builder()
            .seed(seed)
            .faultsPerMiB(FaultDirection.UPSTREAM, FaultKind.FLIP, 16)
            .build();
        try (PeerServer server = new PeerServer(false);
             FaultProxy proxy = FaultProxy.start(server.address(), plan);
             Socket client = connect(proxy))
        {
            proxy.faultsEnabled(enabled);
            final byte[] zeros = new byte[1 << 20];
            client.getOutputStream().write(zeros);
            client.shutdownOutput();
            final byte[] received = awaitEnding(server, 0).bytes();
            assertThat(received).hasSize(zeros.length);
            final List<Integer> flipped = new ArrayList<>();
            for (int i = 0; i < received.length; i++)
            {
                if (received[i] != 0)
                {
                    flipped.add(i);
                }
            }
            assertThat(proxy.counters().faultsInjected(FaultKind.FLIP)).isEqualTo(flipped.size());
            return flipped;
        }
    }

    private static Socket connect(final FaultProxy proxy) throws IOException
    {
        final Socket socket = new Socket(InetAddress.getLoopbackAddress(), proxy.port());
        socket.setSoTimeout((int)TIMEOUT.toMillis());
        return socket;
    }

    private static PeerServer.Received awaitEnding(final PeerServer server, final int connection)
    {
        Await.until(() -> server.received().size() > connection && server.received().get(connection).ending() != null,
            TIMEOUT, "connection " + connection + " at the server to end");
        return server.received().get(connection);
    }

    private static void readFully(final InputStream in, final byte[] into, final int offset, final int length)
        throws IOException
    {
        int done = 0;
        while (done < length)
        {
            final int n = in.read(into, offset + done, length - done);
            if (n < 0)
            {
                throw new IOException("end of stream after " + done + " of " + length + " bytes");
            }
            done += n;
        }
    }

    private static void writeIgnoringReset(final Socket client, final byte[] bytes)
    {
        try
        {
            client.getOutputStream().write(bytes);
        }
        catch (final IOException ignore)
        {
            // The proxy may close while we write: what arrived is what the test checks.
        }
    }

    private static List<String> liveThreadsNamed(final String prefix)
    {
        final List<String> names = new ArrayList<>();
        for (final Thread thread : Thread.getAllStackTraces().keySet())
        {
            if (thread.isAlive() && thread.getName().startsWith(prefix))
            {
                names.add(thread.getName());
            }
        }
        return names;
    }
}
