package dev.replicator.core.nbd;

import java.nio.ByteBuffer;

/**
 * One slot for a request in flight: the decoded header, its payload buffer (grown on demand, then
 * reused) and its reply header. A connection owns a fixed number of slots, which bounds the
 * requests in flight. Used by one thread at a time: the reader fills it, a worker serves it.
 */
final class NbdRequest implements NbdBackend.ExtentSink
{
    /** At most this many extents in one block-status reply. */
    static final int MAX_EXTENTS = 1024;
    /** A slot keeps a payload buffer up to this size between requests; larger ones are dropped. */
    static final int RETAINED_BUFFER_BYTES = 4 << 20;

    int flags;
    int type;
    long cookie;
    long offset;
    int length;
    ByteBuffer data;
    /** KiB of the server's payload budget this request holds. */
    int budgetKib;
    final ByteBuffer replyHeader = ByteBuffer.allocateDirect(32);

    private long statusRemaining;
    private int statusMax;

    ByteBuffer data(final int capacity)
    {
        if (data == null || data.capacity() < capacity)
        {
            data = ByteBuffer.allocateDirect(Math.max(4096, Integer.highestOneBit(Math.max(1, capacity - 1)) << 1));
        }
        data.clear().limit(capacity);
        return data;
    }

    void trimBuffer()
    {
        if (data != null && data.capacity() > RETAINED_BUFFER_BYTES)
        {
            data = null;
        }
    }

    boolean fua()
    {
        return (flags & NbdProtocol.CMD_FLAG_FUA) != 0;
    }

    /** Prepares {@link #data} to collect block-status descriptors for this request. */
    void startStatus()
    {
        data(MAX_EXTENTS * 8);
        statusRemaining = Integer.toUnsignedLong(length);
        statusMax = (flags & NbdProtocol.CMD_FLAG_REQ_ONE) != 0 ? 1 : MAX_EXTENTS;
    }

    @Override
    public boolean extent(final long extentLength, final boolean hole, final boolean zero)
    {
        if (extentLength <= 0 || statusRemaining <= 0)
        {
            return false;
        }
        final long clipped = Math.min(extentLength, statusRemaining);
        data.putInt((int)clipped).putInt((hole ? NbdProtocol.STATE_HOLE : 0) | (zero ? NbdProtocol.STATE_ZERO : 0));
        statusRemaining -= clipped;
        return statusRemaining > 0 && data.position() / 8 < statusMax;
    }
}
