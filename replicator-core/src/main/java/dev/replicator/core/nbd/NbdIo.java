package dev.replicator.core.nbd;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.GatheringByteChannel;
import java.nio.channels.ReadableByteChannel;

/** Whole-buffer reads and writes on a blocking channel. */
final class NbdIo
{
    private NbdIo()
    {
    }

    /** Fills {@code dst}'s remaining bytes, or throws {@link EOFException} if the peer closes first. */
    static void readFully(final ReadableByteChannel channel, final ByteBuffer dst) throws IOException
    {
        while (dst.hasRemaining())
        {
            if (channel.read(dst) < 0)
            {
                throw new EOFException("peer closed the connection");
            }
        }
    }

    static void writeFully(final GatheringByteChannel channel, final ByteBuffer... srcs) throws IOException
    {
        while (anyRemaining(srcs))
        {
            channel.write(srcs);
        }
    }

    private static boolean anyRemaining(final ByteBuffer[] srcs)
    {
        for (final ByteBuffer src : srcs)
        {
            if (src.hasRemaining())
            {
                return true;
            }
        }
        return false;
    }
}
