package dev.replicator.core.codec;

import net.jpountz.lz4.LZ4Compressor;
import net.jpountz.lz4.LZ4Exception;
import net.jpountz.lz4.LZ4Factory;
import net.jpountz.lz4.LZ4SafeDecompressor;

import java.nio.ByteBuffer;

/**
 * Encodes one block for the wire or a store: {@link #ZERO} (no payload) for an all-zero block,
 * {@link #LZ4} when compression saves at least 1/8 of the block, otherwise {@link #RAW}, so
 * incompressible data costs one failed compression attempt and no decompression.
 *
 * <p>Not thread-safe only in the sense that callers own the buffers; the LZ4 instances are
 * stateless and shared.
 */
public final class BlockCodec
{
    public static final byte RAW = 0;
    public static final byte LZ4 = 1;
    public static final byte ZERO = 2;

    private static final LZ4Factory FACTORY = LZ4Factory.fastestInstance();
    private static final LZ4Compressor COMPRESSOR = FACTORY.fastCompressor();
    // safeDecompressor is the JNI path in the maintained fork; fastDecompressor is pure Java there.
    private static final LZ4SafeDecompressor DECOMPRESSOR = FACTORY.safeDecompressor();
    private static final ByteBuffer ZEROS = ByteBuffer.allocateDirect(64 * 1024).asReadOnlyBuffer();

    private BlockCodec()
    {
    }

    /** Bytes of {@code dst} that {@link #encode} may need for a block of {@code blockLength}. */
    public static int maxEncodedLength(final int blockLength)
    {
        return Math.max(blockLength, COMPRESSOR.maxCompressedLength(blockLength));
    }

    /**
     * Encodes {@code length} bytes of {@code src} at {@code srcOffset} into {@code dst} at its
     * position, advancing it; positions of {@code src} are not changed.
     *
     * @return the codec used: {@link #ZERO}, {@link #LZ4} or {@link #RAW}.
     */
    public static byte encode(final ByteBuffer src, final int srcOffset, final int length, final ByteBuffer dst)
    {
        if (isAllZero(src, srcOffset, length))
        {
            return ZERO;
        }
        final int dstOffset = dst.position();
        // Compress only into the room that would make compression worth it (7/8 of the block).
        final int worthIt = length - (length >>> 3);
        if (dst.remaining() >= COMPRESSOR.maxCompressedLength(length))
        {
            try
            {
                final int compressed = COMPRESSOR.compress(src, srcOffset, length, dst, dstOffset, worthIt);
                dst.position(dstOffset + compressed);
                return LZ4;
            }
            catch (final LZ4Exception incompressible)
            {
                // Did not fit in 7/8 of the block: send it raw.
            }
        }
        final ByteBuffer view = src.duplicate();
        view.limit(srcOffset + length).position(srcOffset);
        dst.position(dstOffset);
        dst.put(view);
        return RAW;
    }

    /**
     * Decodes {@code encodedLength} bytes at {@code srcOffset} into {@code dst} at {@code dstOffset},
     * producing exactly {@code blockLength} bytes; no positions change.
     *
     * @throws IllegalArgumentException if the codec is unknown or the payload does not decode to
     *                                  exactly the block length.
     */
    public static void decode(
        final byte codec,
        final ByteBuffer src,
        final int srcOffset,
        final int encodedLength,
        final ByteBuffer dst,
        final int dstOffset,
        final int blockLength)
    {
        switch (codec)
        {
            case ZERO ->
            {
                if (encodedLength != 0)
                {
                    throw new IllegalArgumentException("zero block with a payload of " + encodedLength + " bytes");
                }
                fillZero(dst, dstOffset, blockLength);
            }
            case RAW ->
            {
                if (encodedLength != blockLength)
                {
                    throw new IllegalArgumentException(
                        "raw block of " + encodedLength + " bytes, expected " + blockLength);
                }
                final ByteBuffer view = src.duplicate();
                view.limit(srcOffset + encodedLength).position(srcOffset);
                dst.duplicate().position(dstOffset).put(view);
            }
            case LZ4 ->
            {
                final int decoded;
                try
                {
                    decoded = DECOMPRESSOR.decompress(src, srcOffset, encodedLength, dst, dstOffset, blockLength);
                }
                catch (final LZ4Exception ex)
                {
                    throw new IllegalArgumentException("LZ4 block does not decode: " + ex.getMessage(), ex);
                }
                if (decoded != blockLength)
                {
                    throw new IllegalArgumentException(
                        "LZ4 block decodes to " + decoded + " bytes, expected " + blockLength);
                }
            }
            default -> throw new IllegalArgumentException("unknown block codec " + codec);
        }
    }

    public static boolean isAllZero(final ByteBuffer buffer, final int offset, final int length)
    {
        // ByteBuffer.mismatch is vectorised: several times faster than a loop of getLong.
        int done = 0;
        while (done < length)
        {
            final int n = Math.min(ZEROS.capacity(), length - done);
            final ByteBuffer view = buffer.duplicate().limit(offset + done + n).position(offset + done);
            if (view.mismatch(ZEROS.duplicate().limit(n)) != -1)
            {
                return false;
            }
            done += n;
        }
        return true;
    }

    private static void fillZero(final ByteBuffer dst, final int offset, final int length)
    {
        int done = 0;
        while (done < length)
        {
            final int n = Math.min(ZEROS.capacity(), length - done);
            dst.duplicate().position(offset + done).put(ZEROS.duplicate().limit(n));
            done += n;
        }
    }

    public static String name(final byte codec)
    {
        return switch (codec)
        {
            case RAW -> "raw";
            case LZ4 -> "lz4";
            case ZERO -> "zero";
            default -> "unknown(" + codec + ")";
        };
    }
}
