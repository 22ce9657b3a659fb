package dev.replicator.core.codec;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;

/**
 * {@link BlockCodec#encode} and {@link BlockCodec#decode} of one block, the per-block work of the
 * shipper and the receiver. Three data sets, each taking a different codec path:
 * <ul>
 *   <li>{@code RANDOM}: incompressible; encode is a zero check that stops at the first word, an
 *       LZ4 attempt that gives up (the compressor signals it with an exception), and a copy; decode
 *       is a copy ({@link BlockCodec#RAW}).</li>
 *   <li>{@code TEXT}: pseudo-English that LZ4 compresses to 51-58%; encode is LZ4 compression,
 *       decode LZ4 decompression ({@link BlockCodec#LZ4}).</li>
 *   <li>{@code ZERO}: encode scans the whole block and emits nothing; decode fills zeros
 *       ({@link BlockCodec#ZERO}).</li>
 * </ul>
 * Setup checks that each data set takes its path and that decode gives back the block.
 *
 * <p>Warm state: the source, the encoded fixture and the destination are allocated, filled and
 * touched once in setup and reused by every operation, so they stay in cache and the TLB. A block
 * the shipper has just read from a cold journal page, or decodes into a replica page not touched
 * recently, costs more (memory not touched recently is written ~8x slower on this machine).
 *
 * <p>Results: the primary score is blocks per microsecond; the {@code :bytes} secondary result is
 * plain block bytes per microsecond, i.e. MB/s (see {@link BytesProcessed}). Ceilings measured on
 * this machine: memcpy 17 GB/s (RAW decode; the copy in RAW encode; ZERO decode is a fill), LZ4
 * compress 0.4 GB/s on text to 3.7 GB/s on random data. Copies between warm buffers run from L1
 * or L2 and can beat the memcpy figure several times over; compare cases with each other, and
 * with the ceiling only for what it means in production, where blocks arrive cold.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@State(Scope.Thread)
public class BlockCodecBenchmark
{
    /** What the block holds, and the codec it must take. */
    public enum Data
    {
        RANDOM(BlockCodec.RAW),
        TEXT(BlockCodec.LZ4),
        ZERO(BlockCodec.ZERO);

        private static final long SEED = 0x5EED_B10CL;

        final byte expectedCodec;

        Data(final byte expectedCodec)
        {
            this.expectedCodec = expectedCodec;
        }

        void fill(final ByteBuffer block)
        {
            switch (this)
            {
                case RANDOM -> BlockData.fillRandom(block, SEED);
                case TEXT -> BlockData.fillText(block, SEED);
                case ZERO -> BlockData.fillZero(block);
                default -> throw new IllegalStateException("no filler for " + this);
            }
        }
    }

    @Param({"4096", "65536"})
    public int blockBytes;

    @Param({"RANDOM", "TEXT", "ZERO"})
    public Data data;

    private ByteBuffer block;
    private ByteBuffer encodeTarget;
    private ByteBuffer encoded;
    private byte encodedCodec;
    private int encodedLength;
    private ByteBuffer decodeTarget;

    @Setup(Level.Trial)
    public void setUp()
    {
        block = BlockData.directBuffer(blockBytes);
        data.fill(block);

        encoded = BlockData.directBuffer(BlockCodec.maxEncodedLength(blockBytes));
        encodedCodec = BlockCodec.encode(block, 0, blockBytes, encoded);
        encodedLength = encoded.position();
        if (encodedCodec != data.expectedCodec)
        {
            throw new IllegalStateException(data + " data encoded as " + BlockCodec.name(encodedCodec) +
                ", expected " + BlockCodec.name(data.expectedCodec) + ": the benchmark would measure the wrong path");
        }

        decodeTarget = BlockData.directBuffer(blockBytes);
        BlockCodec.decode(encodedCodec, encoded, 0, encodedLength, decodeTarget, 0, blockBytes);
        if (!decodeTarget.equals(block))
        {
            throw new IllegalStateException(data + " block does not survive encode and decode");
        }

        encodeTarget = BlockData.directBuffer(BlockCodec.maxEncodedLength(blockBytes));
    }

    /** @return codec and encoded length folded together, so neither result is dead code. */
    @Benchmark
    public int encode(final BytesProcessed processed)
    {
        encodeTarget.clear();
        final byte codec = BlockCodec.encode(block, 0, blockBytes, encodeTarget);
        processed.bytes += blockBytes;
        return codec + encodeTarget.position();
    }

    @Benchmark
    public ByteBuffer decode(final BytesProcessed processed)
    {
        BlockCodec.decode(encodedCodec, encoded, 0, encodedLength, decodeTarget, 0, blockBytes);
        processed.bytes += blockBytes;
        return decodeTarget;
    }
}
