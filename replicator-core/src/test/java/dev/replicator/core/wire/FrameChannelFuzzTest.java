package dev.replicator.core.wire;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Seeded fuzzing of {@link FrameChannel#read()} over a real loopback connection: a stream of valid
 * frames, damaged frames (any byte, the length field, the header), garbage and streams cut short,
 * written by another thread, read back frame by frame and decoded.
 *
 * <p>Property: every frame before the first damaged one is read back byte for byte; after that
 * {@code read()} returns frames that passed their CRC32C (and decode or fail with a
 * {@link CorruptFrameException}), or fails with a {@link CorruptFrameException} or, where the stream
 * ends, an {@link EOFException}; each exception has a message. Nothing else, and never a hang: the read
 * timeout (10 s) would turn one into a failure.
 *
 * <p>Replay a run with {@code -Dfuzz.seed=N}; run longer with {@code -Dfuzz.iterations=N}.
 */
class FrameChannelFuzzTest
{
    private static final long SEED = Long.getLong("fuzz.seed", System.nanoTime());
    private static final int ITERATIONS = Integer.getInteger("fuzz.iterations", 3_000);
    private static final int READ_TIMEOUT_MS = 10_000;
    private static final int[] BLOCK_SIZES = {4096, 512};
    private static final long[] BLOCK_COUNTS = {256, 256};
    private static final int[] INTERESTING_LENGTHS = {
        0, 1, 4, 31, 32, 33, 64, 4096, FrameDescriptor.MAX_FRAME_LENGTH, FrameDescriptor.MAX_FRAME_LENGTH + 1,
        Integer.MAX_VALUE, Integer.MIN_VALUE, -1, -32};

    private static ServerSocket server;
    private static ExecutorService writer;

    private final Random random = new Random(SEED);
    private final DataFrameEncoder encoder = new DataFrameEncoder();
    private final DataFrameDecoder decoder = new DataFrameDecoder(BLOCK_SIZES, BLOCK_COUNTS);
    private final Map<String, Integer> outcomes = new TreeMap<>();

    @BeforeAll
    static void listen() throws IOException
    {
        server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        writer = Executors.newSingleThreadExecutor(task ->
        {
            final Thread thread = new Thread(task, "frame-fuzz-writer");
            thread.setDaemon(true);
            return thread;
        });
    }

    @AfterAll
    static void stop() throws Exception
    {
        writer.shutdownNow();
        assertThat(writer.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
        server.close();
    }

    @Test
    void aDamagedStreamYieldsIntactFramesThenCorruptFrameOrEndOfStream() throws Exception
    {
        System.out.printf("FrameChannelFuzzTest seed=%d iterations=%d (replay: -Dfuzz.seed=%d)%n", SEED, ITERATIONS, SEED);
        int framesRead = 0;
        for (int iteration = 0; iteration < ITERATIONS; iteration++)
        {
            final List<byte[]> intactPrefix = new ArrayList<>();
            final StringBuilder plan = new StringBuilder();
            final byte[] stream = buildStream(intactPrefix, plan);
            final String context = "seed " + SEED + " iteration " + iteration + " (" + plan + ")";
            framesRead += readBack(stream, intactPrefix, context);
        }
        final int total = outcomes.values().stream().mapToInt(Integer::intValue).sum();
        System.out.printf("FrameChannelFuzzTest fuzzed %d streams, %d frames read: %s%n", total, framesRead, outcomes);
        assertThat(total).isEqualTo(ITERATIONS);
        assertThat(outcomes.keySet()).as("streams end in each way").hasSizeGreaterThan(3);
    }

    /** Writes {@code stream} from another thread and reads it with a FrameChannel; returns frames read. */
    private int readBack(final byte[] stream, final List<byte[]> intactPrefix, final String context) throws Exception
    {
        try (Socket client = new Socket(server.getInetAddress(), server.getLocalPort()))
        {
            final FrameChannel channel = new FrameChannel(server.accept());
            final Future<?> written;
            final String outcome;
            int frames = 0;
            try
            {
                channel.readTimeoutMs(READ_TIMEOUT_MS);
                written = writer.submit(() ->
                {
                    try
                    {
                        final OutputStream out = client.getOutputStream();
                        out.write(stream);
                        out.flush();
                        client.shutdownOutput();
                    }
                    catch (final IOException ex)
                    {
                        // The reader closed first after a corrupt frame: nothing more to send.
                    }
                    return null;
                });
                while (true)
                {
                    final Frame frame;
                    try
                    {
                        frame = channel.read();
                    }
                    catch (final SocketTimeoutException ex)
                    {
                        throw new AssertionError(context + ": read() hung for " + READ_TIMEOUT_MS + " ms", ex);
                    }
                    catch (final CorruptFrameException ex)
                    {
                        assertThat(ex.getMessage()).as(context).isNotBlank();
                        assertThat(frames).as(context + ": an intact frame was refused")
                            .isGreaterThanOrEqualTo(intactPrefix.size());
                        outcome = "corrupt frame";
                        break;
                    }
                    catch (final EOFException ex)
                    {
                        assertThat(frames).as(context + ": frames read before the end")
                            .isGreaterThanOrEqualTo(intactPrefix.size());
                        assertThat(ex.getMessage()).as(context).isNotBlank();
                        outcome = ex.getMessage().contains("inside") ? "end of stream in a length field" :
                            ex.getMessage().contains(" of the ") ? "end of stream inside a frame" : "end of stream";
                        break;
                    }
                    catch (final IOException | RuntimeException | Error ex)
                    {
                        throw new AssertionError(context + ": " + ex, ex);
                    }
                    if (frames < intactPrefix.size())
                    {
                        final byte[] bytes = new byte[frame.length()];
                        frame.buffer().get(0, bytes);
                        assertThat(bytes).as("%s: frame %d is read back intact", context, frames)
                            .isEqualTo(intactPrefix.get(frames));
                    }
                    decodeIfData(frame, context);
                    frames++;
                }
            }
            finally
            {
                channel.close();
            }
            written.get(READ_TIMEOUT_MS, TimeUnit.MILLISECONDS);
            outcomes.merge(outcome, 1, Integer::sum);
            return frames;
        }
    }

    private void decodeIfData(final Frame frame, final String context)
    {
        if (frame.type() != MessageType.DATA && frame.type() != MessageType.FAILBACK_DATA)
        {
            return;
        }
        try
        {
            decoder.decode(frame, 0);
        }
        catch (final CorruptFrameException ex)
        {
            assertThat(ex.getMessage()).as(context).isNotBlank();
        }
        catch (final RuntimeException | Error ex)
        {
            throw new AssertionError(context + ": decode: " + ex, ex);
        }
    }

    /** Intact frames, then maybe one damaged frame, garbage or a cut; the intact frames go to {@code intact}. */
    private byte[] buildStream(final List<byte[]> intact, final StringBuilder plan)
    {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        final int before = random.nextInt(4);
        for (int i = 0; i < before; i++)
        {
            final byte[] frame = validFrame();
            intact.add(frame);
            out.writeBytes(frame);
        }
        plan.append(before).append(" intact frames");
        final int damage = random.nextInt(8);
        switch (damage)
        {
            case 0 -> plan.append(", clean end");
            case 1 ->
            {
                final byte[] frame = validFrame();
                final int at = random.nextInt(frame.length);
                frame[at] ^= (byte)(1 + random.nextInt(255));
                out.writeBytes(frame);
                plan.append(", a frame with byte ").append(at).append(" changed");
            }
            case 2 ->
            {
                final byte[] frame = validFrame();
                final int length = INTERESTING_LENGTHS[random.nextInt(INTERESTING_LENGTHS.length)];
                ByteBuffer.wrap(frame).order(ByteOrder.LITTLE_ENDIAN).putInt(FrameDescriptor.LENGTH_OFFSET, length);
                out.writeBytes(frame);
                plan.append(", a frame whose length field says ").append(length);
            }
            case 3 ->
            {
                final byte[] frame = validFrame();
                final int keep = random.nextInt(frame.length);
                out.write(frame, 0, keep);
                plan.append(", a frame cut after ").append(keep).append(" of ").append(frame.length).append(" bytes");
            }
            case 4 ->
            {
                final byte[] garbage = new byte[1 + random.nextInt(200)];
                random.nextBytes(garbage);
                out.writeBytes(garbage);
                plan.append(", ").append(garbage.length).append(" bytes of garbage");
            }
            case 5 ->
            {
                final byte[] frame = validFrame();
                final int length = frame.length + random.nextInt(64) - 32;
                ByteBuffer.wrap(frame).order(ByteOrder.LITTLE_ENDIAN).putInt(FrameDescriptor.LENGTH_OFFSET, length);
                out.writeBytes(frame);
                out.writeBytes(validFrame());
                plan.append(", a frame whose length field is off (").append(length).append(" for ")
                    .append(frame.length).append(") and another frame");
            }
            case 6 ->
            {
                final byte[] frame = validFrame();
                final int at = random.nextInt(FrameDescriptor.HEADER_LENGTH);
                frame[at] = (byte)random.nextInt(256);
                ByteBuffer.wrap(frame).order(ByteOrder.LITTLE_ENDIAN)
                    .putInt(FrameDescriptor.CRC_OFFSET, Frames.crcOf(ByteBuffer.wrap(frame).order(ByteOrder.LITTLE_ENDIAN),
                        frame.length));
                out.writeBytes(frame);
                plan.append(", a frame with header byte ").append(at).append(" changed and its CRC recomputed");
            }
            default ->
            {
                final byte[] frame = validFrame();
                out.writeBytes(frame);
                intact.add(frame);
                final int cut = random.nextInt(4);
                out.write(frame, 0, cut);
                plan.append(", another intact frame and ").append(cut).append(" bytes of a length field");
            }
        }
        return out.toByteArray();
    }

    private byte[] validFrame()
    {
        final int kind = random.nextInt(3);
        final ByteBuffer finished;
        if (kind == 0)
        {
            final byte[] body = ("{\"group\":\"db\",\"epoch\":" + random.nextInt(9) + ",\"durableSeq\":" + random.nextInt(99) + "}")
                .getBytes(StandardCharsets.UTF_8);
            final ByteBuffer buffer = ByteBuffer.allocate(FrameDescriptor.HEADER_LENGTH + body.length).order(ByteOrder.LITTLE_ENDIAN);
            buffer.put(FrameDescriptor.HEADER_LENGTH, body);
            finished = Frames.finish(buffer, buffer.capacity(), MessageType.WELCOME, 1, 0, 0);
        }
        else if (kind == 1)
        {
            final ByteBuffer buffer = ByteBuffer.allocate(FrameDescriptor.HEADER_LENGTH).order(ByteOrder.LITTLE_ENDIAN);
            finished = Frames.finish(buffer, buffer.capacity(), MessageType.ACK, 1, random.nextInt(1000), 0);
        }
        else
        {
            encoder.begin();
            final int records = 1 + random.nextInt(6);
            for (int i = 0; i < records; i++)
            {
                final int volume = random.nextInt(BLOCK_SIZES.length);
                final byte[] block = new byte[BLOCK_SIZES[volume]];
                if (random.nextBoolean())
                {
                    random.nextBytes(block);
                }
                else
                {
                    block[random.nextInt(block.length)] = 7;
                }
                encoder.addBlock(1 + i, volume, random.nextInt((int)BLOCK_COUNTS[volume]), ByteBuffer.wrap(block), 0, block.length);
            }
            finished = encoder.finish(MessageType.DATA, 1);
        }
        final byte[] bytes = new byte[finished.remaining()];
        finished.get(finished.position(), bytes);
        return bytes;
    }
}
