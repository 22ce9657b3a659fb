package dev.replicator.core.wire;

import java.nio.ByteBuffer;

/**
 * Body of a {@link MessageType#FINGERPRINTS} frame: xxHash64 of each block of a contiguous range.
 *
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +---------------------------------------------------------------+
 * |                         Volume Index                          |
 * +---------------------------------------------------------------+
 * |                            Count                              |
 * +---------------------------------------------------------------+
 * |                         First Block                           |
 * |                                                               |
 * +---------------------------------------------------------------+
 * |                   Fingerprint[0..Count) (int64)              ...
 * +---------------------------------------------------------------+
 * </pre>
 */
public final class FingerprintsCodec
{
    public static final int HEADER_LENGTH = 16;
    /** 1 MiB of fingerprints per frame: 512 MiB of 4 KiB blocks. */
    public static final int MAX_COUNT = 128 * 1024;

    private FingerprintsCodec()
    {
    }

    /** Writes the body at HEADER_LENGTH of the frame; returns the frame length. */
    public static int encode(
        final ByteBuffer frame, final int volumeIndex, final long firstBlock, final long[] fingerprints, final int count)
    {
        int offset = FrameDescriptor.HEADER_LENGTH;
        frame.putInt(offset, volumeIndex);
        frame.putInt(offset + 4, count);
        frame.putLong(offset + 8, firstBlock);
        offset += HEADER_LENGTH;
        for (int i = 0; i < count; i++)
        {
            frame.putLong(offset, fingerprints[i]);
            offset += Long.BYTES;
        }
        return offset;
    }

    public static int volumeIndex(final ByteBuffer body)
    {
        return body.getInt(0);
    }

    public static int count(final ByteBuffer body)
    {
        return body.getInt(4);
    }

    public static long firstBlock(final ByteBuffer body)
    {
        return body.getLong(8);
    }

    public static long fingerprint(final ByteBuffer body, final int i)
    {
        return body.getLong(HEADER_LENGTH + i * Long.BYTES);
    }

    /** @throws CorruptFrameException if the body length does not match its count. */
    public static void validate(final ByteBuffer body) throws CorruptFrameException
    {
        if (body.remaining() < HEADER_LENGTH)
        {
            throw new CorruptFrameException("fingerprints body of " + body.remaining() + " bytes is too short");
        }
        final int count = count(body);
        if (count < 0 || count > MAX_COUNT || body.remaining() != HEADER_LENGTH + (long)count * Long.BYTES)
        {
            throw new CorruptFrameException("fingerprints body of " + body.remaining() + " bytes for count " + count);
        }
    }
}
