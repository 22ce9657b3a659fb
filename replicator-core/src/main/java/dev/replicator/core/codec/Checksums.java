package dev.replicator.core.codec;

import net.jpountz.xxhash.XXHash64;
import net.jpountz.xxhash.XXHashFactory;

import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/**
 * The two checksums of the data path: xxHash64 of each block's plain bytes (end to end, from the
 * source volume to the image store, and the fingerprint that scans and verification compare), and
 * CRC32C of each frame on the wire (cheap, hardware-accelerated, catches transport damage).
 * Thread-safe: the hash instances are stateless.
 */
public final class Checksums
{
    /** Fixed seed: fingerprints are compared across processes and persisted, so it never changes. */
    public static final long XXHASH_SEED = 0x5245504C49434154L;

    private static final XXHash64 XXHASH64 = XXHashFactory.fastestInstance().hash64();

    private Checksums()
    {
    }

    /** xxHash64 of {@code length} bytes at {@code offset}; the buffer's position is not changed. */
    public static long xxHash64(final ByteBuffer buffer, final int offset, final int length)
    {
        return XXHASH64.hash(buffer, offset, length, XXHASH_SEED);
    }

    public static long xxHash64(final byte[] bytes, final int offset, final int length)
    {
        return XXHASH64.hash(bytes, offset, length, XXHASH_SEED);
    }

    /** xxHash64 of the buffer's remaining bytes; its position is not changed. */
    public static long xxHash64(final ByteBuffer buffer)
    {
        return XXHASH64.hash(buffer, buffer.position(), buffer.remaining(), XXHASH_SEED);
    }

    /** CRC32C of {@code length} bytes at {@code offset}; the buffer's position is not changed. */
    public static int crc32c(final ByteBuffer buffer, final int offset, final int length)
    {
        final CRC32C crc = new CRC32C();
        final ByteBuffer view = buffer.duplicate();
        view.limit(offset + length).position(offset);
        crc.update(view);
        return (int)crc.getValue();
    }

    /** Fingerprint of an all-zero block of {@code blockSize} bytes. */
    public static long zeroBlockFingerprint(final int blockSize)
    {
        return XXHASH64.hash(ByteBuffer.allocate(blockSize), 0, blockSize, XXHASH_SEED);
    }
}
