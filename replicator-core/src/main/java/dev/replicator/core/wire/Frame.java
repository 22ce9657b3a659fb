package dev.replicator.core.wire;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A read-only view of one received frame (see {@link FrameDescriptor}). The view and its buffer
 * are reused by the {@link FrameChannel} that produced it: valid until the next read.
 */
public final class Frame
{
    private ByteBuffer buffer;
    private int length;

    void wrap(final ByteBuffer buffer, final int length)
    {
        this.buffer = buffer;
        this.length = length;
    }

    public MessageType type()
    {
        return MessageType.fromCode(buffer.get(FrameDescriptor.TYPE_OFFSET));
    }

    public int flags()
    {
        return buffer.getShort(FrameDescriptor.FLAGS_OFFSET) & 0xFFFF;
    }

    public long epoch()
    {
        return buffer.getLong(FrameDescriptor.EPOCH_OFFSET);
    }

    public long seq()
    {
        return buffer.getLong(FrameDescriptor.SEQ_OFFSET);
    }

    public int count()
    {
        return buffer.getInt(FrameDescriptor.COUNT_OFFSET);
    }

    public int length()
    {
        return length;
    }

    public int bodyLength()
    {
        return length - FrameDescriptor.HEADER_LENGTH;
    }

    /** The whole frame buffer (header at 0); absolute reads only. */
    public ByteBuffer buffer()
    {
        return buffer;
    }

    /** A little-endian slice of the body, position 0, limit body length. */
    public ByteBuffer body()
    {
        return buffer.duplicate().position(FrameDescriptor.HEADER_LENGTH).limit(length).slice()
            .order(ByteOrder.LITTLE_ENDIAN);
    }

    /** Decodes a JSON body. @throws ProtocolException if it is not the expected message. */
    public <T> T bodyAs(final Class<T> type) throws ProtocolException
    {
        return Json.decode(buffer.array(), buffer.arrayOffset() + FrameDescriptor.HEADER_LENGTH, bodyLength(), type);
    }
}
