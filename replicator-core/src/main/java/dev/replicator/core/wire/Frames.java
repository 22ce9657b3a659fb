package dev.replicator.core.wire;

import java.nio.ByteBuffer;

/** Writes and checks frame headers (see {@link FrameDescriptor}). Stateless. */
public final class Frames
{
    private Frames()
    {
    }

    /**
     * Completes a frame whose body has been written at [HEADER_LENGTH, frameLength): fills the
     * header, computes the CRC32C, and sets position 0 and limit frameLength.
     */
    public static ByteBuffer finish(
        final ByteBuffer frame,
        final int frameLength,
        final MessageType type,
        final long epoch,
        final long seq,
        final int count)
    {
        frame.putInt(FrameDescriptor.LENGTH_OFFSET, frameLength);
        frame.put(FrameDescriptor.VERSION_OFFSET, FrameDescriptor.VERSION);
        frame.put(FrameDescriptor.TYPE_OFFSET, type.code());
        frame.putShort(FrameDescriptor.FLAGS_OFFSET, (short)0);
        frame.putLong(FrameDescriptor.EPOCH_OFFSET, epoch);
        frame.putLong(FrameDescriptor.SEQ_OFFSET, seq);
        frame.putInt(FrameDescriptor.COUNT_OFFSET, count);
        frame.putInt(FrameDescriptor.CRC_OFFSET, crcOf(frame, frameLength));
        frame.limit(frameLength).position(0);
        return frame;
    }

    /** CRC32C over the header without its CRC field, then the body. */
    public static int crcOf(final ByteBuffer frame, final int frameLength)
    {
        final java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        final ByteBuffer view = frame.duplicate();
        view.limit(FrameDescriptor.CRC_OFFSET).position(0);
        crc.update(view);
        view.limit(frameLength).position(FrameDescriptor.HEADER_LENGTH);
        crc.update(view);
        return (int)crc.getValue();
    }

    /** @throws CorruptFrameException if the version, type or CRC32C is wrong. */
    public static void verify(final ByteBuffer frame, final int frameLength) throws CorruptFrameException
    {
        final int expected = frame.getInt(FrameDescriptor.CRC_OFFSET);
        final int actual = crcOf(frame, frameLength);
        if (expected != actual)
        {
            throw new CorruptFrameException(String.format(
                "frame of %d bytes fails its CRC32C (expected %08x, computed %08x)", frameLength, expected, actual));
        }
        if (frame.get(FrameDescriptor.VERSION_OFFSET) != FrameDescriptor.VERSION)
        {
            throw new CorruptFrameException("unsupported frame version " + frame.get(FrameDescriptor.VERSION_OFFSET));
        }
        if (MessageType.fromCode(frame.get(FrameDescriptor.TYPE_OFFSET)) == null)
        {
            throw new CorruptFrameException("unknown frame type " + frame.get(FrameDescriptor.TYPE_OFFSET));
        }
    }
}
