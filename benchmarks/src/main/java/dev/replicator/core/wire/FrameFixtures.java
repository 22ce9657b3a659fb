package dev.replicator.core.wire;

import java.nio.ByteBuffer;

/**
 * Hands a finished frame to a decoder without a socket: {@link Frame#wrap} is package-private
 * because only {@link FrameChannel} makes frames in production. The frame is checked (CRC32C)
 * as the channel would.
 */
public final class FrameFixtures
{
    private FrameFixtures()
    {
    }

    /** Wraps a frame {@link DataFrameEncoder#finish} returned (position 0, limit its length). */
    public static Frame received(final ByteBuffer finishedFrame, final Frame reuse) throws CorruptFrameException
    {
        final int length = finishedFrame.remaining();
        Frames.verify(finishedFrame, length);
        reuse.wrap(finishedFrame, length);
        return reuse;
    }
}
