package dev.replicator.core.nbd;

import java.nio.ByteBuffer;

/**
 * Encodes transmission reply headers into a request's reply buffer.
 *
 * <pre>
 * Simple reply, 16 bytes (+ data for a successful READ without structured replies):
 *  +-------------------------------+-------------------------------+
 *  |  magic 0x67446698 (32)        |  error (32), 0 = ok           |
 *  +-------------------------------+-------------------------------+
 *  |                    cookie (64)                                |
 *  +---------------------------------------------------------------+
 *
 * Structured reply chunk, 20 bytes + payload:
 *  +-------------------------------+---------------+---------------+
 *  |  magic 0x668e33ef (32)        | flags (16)    | type (16)     |
 *  +-------------------------------+---------------+---------------+
 *  |                    cookie (64)                                |
 *  +-------------------------------+-------------------------------+
 *  |  payload length (32)          |  payload ...
 *  +-------------------------------+
 * Payloads:
 *  NONE (0):          nothing (a zero-length READ)
 *  OFFSET_DATA (1):   offset (64) | data
 *  BLOCK_STATUS (5):  context id (32) | (extent length (32) | status flags (32)) ...
 *  ERROR (32769):     error (32) | message length (16) | message
 * Every reply here is one chunk with flags = DONE.
 * </pre>
 */
final class NbdReplyEncoder
{
    private NbdReplyEncoder()
    {
    }

    static ByteBuffer simple(final ByteBuffer header, final long cookie, final int error)
    {
        header.clear();
        header.putInt(NbdProtocol.SIMPLE_REPLY_MAGIC).putInt(error).putLong(cookie);
        return header.flip();
    }

    /** A final OFFSET_DATA chunk header for {@code dataLength} bytes read at {@code offset}. */
    static ByteBuffer offsetData(final ByteBuffer header, final long cookie, final long offset, final int dataLength)
    {
        chunk(header, cookie, NbdProtocol.REPLY_TYPE_OFFSET_DATA, 8 + dataLength);
        header.putLong(offset);
        return header.flip();
    }

    /** A final BLOCK_STATUS chunk header for {@code extents} descriptors. */
    static ByteBuffer blockStatus(final ByteBuffer header, final long cookie, final int extents)
    {
        chunk(header, cookie, NbdProtocol.REPLY_TYPE_BLOCK_STATUS, 4 + extents * 8);
        header.putInt(NbdProtocol.BASE_ALLOCATION_ID);
        return header.flip();
    }

    /** A final NONE chunk: success with nothing to say. */
    static ByteBuffer none(final ByteBuffer header, final long cookie)
    {
        chunk(header, cookie, NbdProtocol.REPLY_TYPE_NONE, 0);
        return header.flip();
    }

    /** A final ERROR chunk without a message. */
    static ByteBuffer error(final ByteBuffer header, final long cookie, final int error)
    {
        chunk(header, cookie, NbdProtocol.REPLY_TYPE_ERROR, 6);
        header.putInt(error).putShort((short)0);
        return header.flip();
    }

    private static void chunk(final ByteBuffer header, final long cookie, final int type, final int length)
    {
        header.clear();
        header.putInt(NbdProtocol.STRUCTURED_REPLY_MAGIC).putShort((short)NbdProtocol.REPLY_FLAG_DONE)
            .putShort((short)type).putLong(cookie).putInt(length);
    }
}
