package dev.replicator.core.nbd;

import java.nio.ByteBuffer;

/**
 * Decodes a transmission request header.
 *
 * <pre>
 * Request (client), 28 bytes, followed by length bytes of data for NBD_CMD_WRITE only:
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +---------------------------------------------------------------+
 *  |                    magic 0x25609513 (32)                      |
 *  +-------------------------------+-------------------------------+
 *  |  command flags (16)           |  type (16)                    |
 *  +-------------------------------+-------------------------------+
 *  |                    cookie (64), echoed in the reply           |
 *  +---------------------------------------------------------------+
 *  |                    offset (64)                                |
 *  +---------------------------------------------------------------+
 *  |                    length (32)                                |
 *  +---------------------------------------------------------------+
 * </pre>
 */
final class NbdRequestDecoder
{
    static final int HEADER_BYTES = 28;

    private NbdRequestDecoder()
    {
    }

    /** Fills {@code request} from a full header; throws if its magic is wrong. */
    static void decode(final ByteBuffer header, final NbdRequest request) throws NbdProtocolException
    {
        final int magic = header.getInt(0);
        if (magic != NbdProtocol.REQUEST_MAGIC)
        {
            throw new NbdProtocolException("bad request magic 0x" + Integer.toHexString(magic));
        }
        request.flags = header.getShort(4) & 0xffff;
        request.type = header.getShort(6) & 0xffff;
        request.cookie = header.getLong(8);
        request.offset = header.getLong(16);
        request.length = header.getInt(24);
    }
}
