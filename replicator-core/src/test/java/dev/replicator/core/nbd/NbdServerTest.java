package dev.replicator.core.nbd;

import dev.replicator.core.test.Await;
import dev.replicator.core.test.Tool;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

class NbdServerTest
{
    private static final int SIZE = 8 << 20;

    @TempDir
    Path dir;

    private Path file;
    private FileNbdBackend backend;
    private FileNbdBackend readOnly;
    private NbdServer server;

    @BeforeEach
    void start() throws IOException
    {
        file = dir.resolve("disk0.img");
        try (var raf = new java.io.RandomAccessFile(file.toFile(), "rw"))
        {
            raf.setLength(SIZE);
        }
        final Path other = dir.resolve("ro.img");
        Files.write(other, new byte[1 << 20]);
        backend = FileNbdBackend.open(file, 4096, false);
        readOnly = FileNbdBackend.open(other, 4096, true);
        final NbdExports exports = new NbdExports();
        exports.add("disk0", backend);
        exports.add("ro", readOnly);
        server = NbdServer.start(NbdListenAddress.tcp("127.0.0.1", 0), exports);
    }

    @AfterEach
    void stop() throws IOException
    {
        server.close();
        backend.close();
        readOnly.close();
    }

    private String uri(final String export)
    {
        return server.address().uri(export);
    }

    @Test
    void nbdinfoListsExportsAndSizes() throws Exception
    {
        final String list = Tool.run(30, "nbdinfo", "--list", uri("")).requireSuccess("nbdinfo --list").output();
        assertThat(list).contains("export=\"disk0\"").contains("export=\"ro\"");
        assertThat(Tool.run(30, "nbdinfo", "--size", uri("disk0")).requireSuccess("nbdinfo --size").output().trim())
            .isEqualTo(String.valueOf(SIZE));
        assertThat(Tool.run(30, "nbdinfo", "--size", uri("ro")).requireSuccess("nbdinfo --size").output().trim())
            .isEqualTo(String.valueOf(1 << 20));
        assertThat(Tool.run(30, "nbdinfo", "--is", "readonly", uri("ro")).exitCode()).isZero();
        assertThat(Tool.run(30, "nbdinfo", "--can", "flush", uri("disk0")).exitCode()).isZero();
        assertThat(Tool.run(30, "nbdinfo", "--can", "multi-conn", uri("disk0")).exitCode()).isZero();
    }

    @Test
    void qemuIoWritesReachTheFileAndReadBack() throws Exception
    {
        Tool.run(60, "qemu-io", "-f", "raw", "-c", "write -P 0xab 0 1M", "-c", "write -f -P 0x5c 1M 64k",
            "-c", "write -z 2M 512k", "-c", "write -P 0x11 4097 3000", "-c", "flush",
            "-c", "read -P 0xab 4096 1", "-c", "read -P 0x5c 1M 64k", uri("disk0")).requireSuccess("qemu-io");
        final byte[] bytes = Files.readAllBytes(file);
        assertThat(allEqual(bytes, 0, 4097, (byte)0xab)).isTrue();
        assertThat(allEqual(bytes, 4097, 3000, (byte)0x11)).isTrue();
        assertThat(allEqual(bytes, 7097, (1 << 20) - 7097, (byte)0xab)).isTrue();
        assertThat(allEqual(bytes, 1 << 20, 64 << 10, (byte)0x5c)).isTrue();
        assertThat(allEqual(bytes, (1 << 20) + (64 << 10), SIZE - (1 << 20) - (64 << 10), (byte)0)).isTrue();
    }

    @Test
    void readOnlyExportRefusesWrites() throws Exception
    {
        final Tool.Result result = Tool.run(30, "qemu-io", "-f", "raw", "-c", "write -P 1 0 4k", uri("ro"));
        assertThat(result.exitCode()).isNotZero();
        assertThat(result.output()).contains("Permission denied");
        assertThat(Files.readAllBytes(dir.resolve("ro.img"))).containsOnly(0);
    }

    @Test
    void nbdcopyRoundTripsManyRequestsInFlight() throws Exception
    {
        final Random random = new Random(42);
        final byte[] source = new byte[SIZE];
        for (int i = 0; i < SIZE; i += 64 << 10)
        {
            if (random.nextInt(3) != 0)
            {
                final byte[] chunk = new byte[64 << 10];
                random.nextBytes(chunk);
                System.arraycopy(chunk, 0, source, i, chunk.length);
            }
        }
        final Path src = dir.resolve("src.img");
        Files.write(src, source);
        Tool.run(60, "nbdcopy", "--request-size=65536", "--requests=64", src.toString(), uri("disk0"))
            .requireSuccess("nbdcopy to the export");
        assertThat(Arrays.equals(Files.readAllBytes(file), source)).isTrue();
        final Path back = dir.resolve("back.img");
        Tool.run(60, "nbdcopy", uri("disk0"), back.toString()).requireSuccess("nbdcopy from the export");
        assertThat(Arrays.equals(Files.readAllBytes(back), source)).isTrue();
    }

    @Test
    void nbdinfoMapShowsZeroRunsAsZero() throws Exception
    {
        Tool.run(60, "qemu-io", "-f", "raw", "-c", "write -P 0x42 1M 1M", "-c", "write -P 0x43 6M 4k", uri("disk0"))
            .requireSuccess("qemu-io");
        final String map = Tool.run(30, "nbdinfo", "--map", uri("disk0")).requireSuccess("nbdinfo --map").output();
        // Columns: offset length type description; 2 = zero, 0 = data.
        assertThat(map.lines().map(l -> l.trim().replaceAll("\\s+", " ")).toList()).containsExactly(
            "0 1048576 2 zero",
            "1048576 1048576 0 data",
            "2097152 4194304 2 zero",
            "6291456 4096 0 data",
            "6295552 2093056 2 zero");
    }

    @Test
    void nbdcopySkipsTheZeroRunsSoItsCopyStaysSparse() throws Exception
    {
        Tool.run(60, "qemu-io", "-f", "raw", "-c", "write -P 0x42 1M 1M", uri("disk0")).requireSuccess("qemu-io");
        final Path copy = dir.resolve("copy.img");
        Tool.run(60, "nbdcopy", uri("disk0"), copy.toString()).requireSuccess("nbdcopy");
        assertThat(Arrays.equals(Files.readAllBytes(copy), Files.readAllBytes(file))).isTrue();
        final String du = Tool.run(30, "du", "--block-size=1", copy.toString()).requireSuccess("du").output();
        final long allocated = Long.parseLong(du.trim().split("\\s+")[0]);
        assertThat(allocated).as("bytes allocated by the 8 MiB copy of 1 MiB of data").isLessThan(2L << 20);
    }

    @Test
    void unixSocketServesTheSameExport() throws Exception
    {
        final Path socket = dir.resolve("nbd.sock");
        final NbdExports exports = new NbdExports();
        exports.add("disk0", backend);
        try (NbdServer unix = NbdServer.start(NbdListenAddress.parse("unix:" + socket), exports))
        {
            Tool.run(30, "qemu-io", "-f", "raw", "-c", "write -P 0x77 0 8k", unix.address().uri("disk0"))
                .requireSuccess("qemu-io over a Unix socket");
            assertThat(Tool.run(30, "nbdinfo", "--size", unix.address().uri("disk0")).output().trim())
                .isEqualTo(String.valueOf(SIZE));
        }
        assertThat(allEqual(Files.readAllBytes(file), 0, 8192, (byte)0x77)).isTrue();
        assertThat(socket).doesNotExist();
    }

    @Test
    void badMagicClosesOnlyThatConnection() throws Exception
    {
        try (SocketChannel bad = connectAndPick("disk0"))
        {
            final ByteBuffer request = request(NbdProtocol.CMD_READ, 0, 4096);
            request.putInt(0, 0xdeadbeef);
            write(bad, request);
            assertClosed(bad);
        }
        qemuIoStillWorks();
    }

    @Test
    void oversizedWriteClosesOnlyThatConnection() throws Exception
    {
        try (SocketChannel bad = connectAndPick("disk0"))
        {
            write(bad, request(NbdProtocol.CMD_WRITE, 0, (32 << 20) + 1));
            assertClosed(bad);
        }
        qemuIoStillWorks();
    }

    @Test
    void outOfRangeReadGetsEinvalAndTheConnectionStaysUsable() throws Exception
    {
        try (SocketChannel client = connectAndPick("disk0"))
        {
            write(client, request(NbdProtocol.CMD_READ, SIZE - 4096, 8192));
            final ByteBuffer reply = ByteBuffer.allocate(16);
            readFully(client, reply);
            assertThat(reply.getInt(0)).isEqualTo(NbdProtocol.SIMPLE_REPLY_MAGIC);
            assertThat(reply.getInt(4)).isEqualTo(NbdProtocol.EINVAL);
            write(client, request(NbdProtocol.CMD_READ, 0, 512));
            final ByteBuffer ok = ByteBuffer.allocate(16 + 512);
            readFully(client, ok);
            assertThat(ok.getInt(4)).isZero();
            write(client, request(NbdProtocol.CMD_DISC, 0, 0));
        }
    }

    @Test
    void connectionsDyingMidPayloadGiveBackTheirShareOfThePayloadBudget() throws Exception
    {
        // Each sends a 32 MiB WRITE header and half its payload, then hangs up: 8 x 32 MiB is twice
        // the server's budget, so a leaked share would leave the next client waiting forever.
        for (int i = 0; i < 8; i++)
        {
            try (SocketChannel client = connectAndPick("disk0"))
            {
                write(client, request(NbdProtocol.CMD_WRITE, 0, 32 << 20));
                write(client, ByteBuffer.allocate(16 << 20));
            }
        }
        Await.until(() -> server.connectionCount() == 0, Duration.ofSeconds(10), "connections to close");
        Tool.run(30, "qemu-io", "-f", "raw", "-c", "write -P 0x31 0 8M", uri("disk0"))
            .requireSuccess("a write after the dead connections");
    }

    private void qemuIoStillWorks() throws Exception
    {
        Tool.run(30, "qemu-io", "-f", "raw", "-c", "write -P 0x99 0 4k", "-c", "read -P 0x99 0 4k", uri("disk0"))
            .requireSuccess("qemu-io after a bad connection");
        Await.until(() -> server.connectionCount() == 0, Duration.ofSeconds(10), "connections to close");
    }

    /** Handshake by NBD_OPT_EXPORT_NAME with no zeroes: the simplest client there is. */
    private SocketChannel connectAndPick(final String export) throws IOException
    {
        final SocketChannel channel = SocketChannel.open(new InetSocketAddress("127.0.0.1", server.address().port()));
        final ByteBuffer greeting = ByteBuffer.allocate(18);
        readFully(channel, greeting);
        assertThat(greeting.getLong(0)).isEqualTo(NbdProtocol.NBDMAGIC);
        final byte[] name = export.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        final ByteBuffer hello = ByteBuffer.allocate(4 + 16 + name.length);
        hello.putInt(NbdProtocol.FLAG_C_FIXED_NEWSTYLE | NbdProtocol.FLAG_C_NO_ZEROES)
            .putLong(NbdProtocol.IHAVEOPT).putInt(NbdProtocol.OPT_EXPORT_NAME).putInt(name.length).put(name).flip();
        write(channel, hello);
        final ByteBuffer answer = ByteBuffer.allocate(10);
        readFully(channel, answer);
        assertThat(answer.getLong(0)).isEqualTo(SIZE);
        return channel;
    }

    private static ByteBuffer request(final int type, final long offset, final int length)
    {
        final ByteBuffer request = ByteBuffer.allocate(28);
        request.putInt(NbdProtocol.REQUEST_MAGIC).putShort((short)0).putShort((short)type).putLong(7)
            .putLong(offset).putInt(length).flip();
        return request;
    }

    private static void assertClosed(final SocketChannel channel) throws IOException
    {
        final ByteBuffer any = ByteBuffer.allocate(64);
        int n;
        try
        {
            n = channel.read(any);
        }
        catch (final IOException reset)
        {
            n = -1;
        }
        assertThat(n).as("the server closes the connection").isEqualTo(-1);
    }

    private static void write(final SocketChannel channel, final ByteBuffer buffer) throws IOException
    {
        while (buffer.hasRemaining())
        {
            channel.write(buffer);
        }
    }

    private static void readFully(final SocketChannel channel, final ByteBuffer buffer) throws IOException
    {
        while (buffer.hasRemaining())
        {
            if (channel.read(buffer) < 0)
            {
                throw new java.io.EOFException();
            }
        }
    }

    private static boolean allEqual(final byte[] bytes, final int from, final int length, final byte value)
    {
        for (int i = from; i < from + length; i++)
        {
            if (bytes[i] != value)
            {
                return false;
            }
        }
        return true;
    }
}
