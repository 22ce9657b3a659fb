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
 * The two checksums of the data path through {@link Checksums}, as production calls them, on a
 * direct buffer: xxHash64 (lz4-java's JNI binding; every block, on both sides, and every scan
 * fingerprint) and CRC32C (the JDK's intrinsic; every frame). Both costs are independent of the
 * bytes' content; the buffer holds random bytes.
 *
 * <p>Warm state: the buffer is allocated, filled and touched once in setup and hashed again by
 * every operation, so it is read from cache (64 KiB fits in L2). Hashing a block just read from a
 * cold page is bounded by memory bandwidth instead.
 *
 * <p>Results: the primary score is calls per microsecond; the {@code :bytes} secondary result is
 * MB/s (see {@link BytesProcessed}). Ceilings measured on this machine: XXH64 19 GB/s, CRC32C
 * 50 GB/s; with the buffer in cache, the JDK's CRC32C intrinsic runs faster than that here.
 * The fixed cost per call (a JNI transition for xxHash64; two objects for CRC32C unless escape
 * analysis removes them) shows as the gap between the 4 KiB and 64 KiB rates.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@State(Scope.Thread)
public class ChecksumsBenchmark
{
    private static final long SEED = 0xC0FFEEL;

    @Param({"4096", "65536"})
    public int blockBytes;

    private ByteBuffer block;

    @Setup(Level.Trial)
    public void setUp()
    {
        block = BlockData.directBuffer(blockBytes);
        BlockData.fillRandom(block, SEED);
    }

    @Benchmark
    public long xxHash64(final BytesProcessed processed)
    {
        processed.bytes += blockBytes;
        return Checksums.xxHash64(block, 0, blockBytes);
    }

    @Benchmark
    public int crc32c(final BytesProcessed processed)
    {
        processed.bytes += blockBytes;
        return Checksums.crc32c(block, 0, blockBytes);
    }
}
