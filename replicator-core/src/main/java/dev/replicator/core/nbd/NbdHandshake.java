package dev.replicator.core.nbd;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;

/**
 * The server side of fixed newstyle negotiation, from the greeting to the start of transmission
 * (NBD_OPT_GO or NBD_OPT_EXPORT_NAME).
 *
 * <pre>
 * Option request (client):
 *  +---------------------------------------------------------------+
 *  |                       "IHAVEOPT" (64)                         |
 *  +-------------------------------+-------------------------------+
 *  |  option (32)                  |  length (32)                  |
 *  +-------------------------------+-------------------------------+
 *  |  data (length bytes) ...
 *
 * Option reply (server):
 *  +---------------------------------------------------------------+
 *  |                  0x0003e889045565a9 (64)                      |
 *  +-------------------------------+-------------------------------+
 *  |  option (32, echoed)          |  reply type (32)              |
 *  +-------------------------------+-------------------------------+
 *  |  length (32)                  |  data ...
 *  +-------------------------------+
 *
 * Option data:
 *  INFO / GO:            name length (32) | name | info count (16) | info type (16) ...
 *  LIST/SET_META_CONTEXT: name length (32) | name | query count (32) | (query length (32) | query) ...
 *  EXPORT_NAME:          name (the whole data)
 * Reply data:
 *  REP_SERVER:           name length (32) | name
 *  REP_INFO EXPORT:      0 (16) | size (64) | transmission flags (16)
 *  REP_INFO BLOCK_SIZE:  3 (16) | minimum (32) | preferred (32) | maximum (32)
 *  REP_INFO NAME:        1 (16) | name
 *  REP_META_CONTEXT:     context id (32) | context name
 *  EXPORT_NAME answer (no reply header): size (64) | transmission flags (16) | 124 zeros unless NO_ZEROES
 * </pre>
 *
 * <p>Not thread-safe: one per connection, used by its thread.
 */
final class NbdHandshake
{
    private final SocketChannel channel;
    private final NbdExports exports;
    private final ByteBuffer header = ByteBuffer.allocate(20);
    private boolean noZeroes;
    private boolean structured;
    private String metaContextExport;
    private boolean baseAllocation;

    NbdHandshake(final SocketChannel channel, final NbdExports exports)
    {
        this.channel = channel;
        this.exports = exports;
    }

    /**
     * Negotiates until the client picks an export.
     *
     * @return the session, or null if the client aborted or asked for an unknown export by EXPORT_NAME.
     * @throws NbdProtocolException if the client broke the protocol.
     */
    NbdSession negotiate() throws IOException
    {
        final ByteBuffer greeting = ByteBuffer.allocate(18);
        greeting.putLong(NbdProtocol.NBDMAGIC).putLong(NbdProtocol.IHAVEOPT)
            .putShort((short)(NbdProtocol.FLAG_FIXED_NEWSTYLE | NbdProtocol.FLAG_NO_ZEROES)).flip();
        write(greeting);
        final ByteBuffer clientFlags = ByteBuffer.allocate(4);
        NbdIo.readFully(channel, clientFlags);
        final int flags = clientFlags.getInt(0);
        if ((flags & ~(NbdProtocol.FLAG_C_FIXED_NEWSTYLE | NbdProtocol.FLAG_C_NO_ZEROES)) != 0)
        {
            throw new NbdProtocolException("unknown client flags 0x" + Integer.toHexString(flags));
        }
        noZeroes = (flags & NbdProtocol.FLAG_C_NO_ZEROES) != 0;
        final ByteBuffer optionHeader = ByteBuffer.allocate(16);
        while (true)
        {
            optionHeader.clear();
            NbdIo.readFully(channel, optionHeader);
            if (optionHeader.getLong(0) != NbdProtocol.IHAVEOPT)
            {
                throw new NbdProtocolException("bad option magic 0x" + Long.toHexString(optionHeader.getLong(0)));
            }
            final int option = optionHeader.getInt(8);
            final int length = optionHeader.getInt(12);
            if (length < 0 || length > NbdProtocol.MAX_OPTION_BYTES)
            {
                throw new NbdProtocolException("option " + option + " has " + Integer.toUnsignedString(length) +
                    " bytes of data, more than " + NbdProtocol.MAX_OPTION_BYTES);
            }
            final ByteBuffer data = ByteBuffer.allocate(length);
            NbdIo.readFully(channel, data);
            data.flip();
            final NbdSession session = onOption(option, data);
            if (session != null)
            {
                return session;
            }
            if (option == NbdProtocol.OPT_ABORT)
            {
                return null;
            }
        }
    }

    private NbdSession onOption(final int option, final ByteBuffer data) throws IOException
    {
        switch (option)
        {
            case NbdProtocol.OPT_EXPORT_NAME:
                return onExportName(data);
            case NbdProtocol.OPT_ABORT:
                reply(option, NbdProtocol.REP_ACK, null);
                return null;
            case NbdProtocol.OPT_LIST:
                onList(data);
                return null;
            case NbdProtocol.OPT_INFO:
            case NbdProtocol.OPT_GO:
                return onInfoOrGo(option, data);
            case NbdProtocol.OPT_STRUCTURED_REPLY:
                if (data.hasRemaining())
                {
                    error(option, NbdProtocol.REP_ERR_INVALID, "STRUCTURED_REPLY takes no data");
                }
                else
                {
                    structured = true;
                    reply(option, NbdProtocol.REP_ACK, null);
                }
                return null;
            case NbdProtocol.OPT_LIST_META_CONTEXT:
            case NbdProtocol.OPT_SET_META_CONTEXT:
                onMetaContext(option, data);
                return null;
            default:
                error(option, NbdProtocol.REP_ERR_UNSUP, "option " + option + " is not supported");
                return null;
        }
    }

    private NbdSession onExportName(final ByteBuffer data) throws IOException
    {
        final String name = StandardCharsets.UTF_8.decode(data).toString();
        final NbdBackend backend = exports.find(name);
        if (backend == null)
        {
            // The protocol leaves no way to refuse EXPORT_NAME but closing.
            return null;
        }
        final ByteBuffer answer = ByteBuffer.allocate(noZeroes ? 10 : 134);
        answer.putLong(backend.size()).putShort((short)NbdSession.transmissionFlags(backend)).clear();
        write(answer);
        return session(name, backend);
    }

    private NbdSession session(final String name, final NbdBackend backend)
    {
        final String resolved = exports.resolve(name);
        final boolean allocation = baseAllocation && resolved.equals(metaContextExport);
        return new NbdSession(resolved, backend, structured, allocation);
    }

    private void onList(final ByteBuffer data) throws IOException
    {
        if (data.hasRemaining())
        {
            error(NbdProtocol.OPT_LIST, NbdProtocol.REP_ERR_INVALID, "LIST takes no data");
            return;
        }
        for (final String name : exports.names())
        {
            final byte[] bytes = name.getBytes(StandardCharsets.UTF_8);
            final ByteBuffer server = ByteBuffer.allocate(4 + bytes.length);
            server.putInt(bytes.length).put(bytes).flip();
            reply(NbdProtocol.OPT_LIST, NbdProtocol.REP_SERVER, server);
        }
        reply(NbdProtocol.OPT_LIST, NbdProtocol.REP_ACK, null);
    }

    private NbdSession onInfoOrGo(final int option, final ByteBuffer data) throws IOException
    {
        final String name = readName(data);
        if (name == null || data.remaining() < 2)
        {
            error(option, NbdProtocol.REP_ERR_INVALID, "malformed INFO/GO request");
            return null;
        }
        final int infoCount = data.getShort() & 0xffff;
        if (data.remaining() != infoCount * 2)
        {
            error(option, NbdProtocol.REP_ERR_INVALID, "INFO/GO request length does not match its info count");
            return null;
        }
        boolean wantsName = false;
        for (int i = 0; i < infoCount; i++)
        {
            wantsName |= data.getShort() == NbdProtocol.INFO_NAME;
        }
        final NbdBackend backend = exports.find(name);
        if (backend == null)
        {
            error(option, NbdProtocol.REP_ERR_UNKNOWN, "no export named '" + name + "'");
            return null;
        }
        final ByteBuffer export = ByteBuffer.allocate(12);
        export.putShort((short)NbdProtocol.INFO_EXPORT).putLong(backend.size())
            .putShort((short)NbdSession.transmissionFlags(backend)).flip();
        reply(option, NbdProtocol.REP_INFO, export);
        // Minimum 1: any byte range is served (the front end reads around partial blocks).
        final ByteBuffer blockSize = ByteBuffer.allocate(14);
        blockSize.putShort((short)NbdProtocol.INFO_BLOCK_SIZE).putInt(1).putInt(backend.blockSize())
            .putInt(NbdProtocol.MAX_PAYLOAD_BYTES).flip();
        reply(option, NbdProtocol.REP_INFO, blockSize);
        if (wantsName)
        {
            final byte[] bytes = exports.resolve(name).getBytes(StandardCharsets.UTF_8);
            final ByteBuffer info = ByteBuffer.allocate(2 + bytes.length);
            info.putShort((short)NbdProtocol.INFO_NAME).put(bytes).flip();
            reply(option, NbdProtocol.REP_INFO, info);
        }
        reply(option, NbdProtocol.REP_ACK, null);
        return option == NbdProtocol.OPT_GO ? session(name, backend) : null;
    }

    private void onMetaContext(final int option, final ByteBuffer data) throws IOException
    {
        final boolean set = option == NbdProtocol.OPT_SET_META_CONTEXT;
        if (set && !structured)
        {
            error(option, NbdProtocol.REP_ERR_INVALID, "SET_META_CONTEXT needs structured replies first");
            return;
        }
        final String name = readName(data);
        if (name == null || data.remaining() < 4)
        {
            error(option, NbdProtocol.REP_ERR_INVALID, "malformed meta context request");
            return;
        }
        final int queries = data.getInt();
        boolean matched = !set && queries == 0;
        for (int i = 0; i < queries; i++)
        {
            final String query = readName(data);
            if (query == null)
            {
                error(option, NbdProtocol.REP_ERR_INVALID, "malformed meta context query");
                return;
            }
            matched |= query.equals(NbdProtocol.BASE_ALLOCATION) || (!set && query.equals("base:"));
        }
        if (data.hasRemaining())
        {
            error(option, NbdProtocol.REP_ERR_INVALID, "meta context request has trailing bytes");
            return;
        }
        if (exports.find(name) == null)
        {
            error(option, NbdProtocol.REP_ERR_UNKNOWN, "no export named '" + name + "'");
            return;
        }
        if (matched)
        {
            final byte[] context = NbdProtocol.BASE_ALLOCATION.getBytes(StandardCharsets.US_ASCII);
            final ByteBuffer meta = ByteBuffer.allocate(4 + context.length);
            meta.putInt(NbdProtocol.BASE_ALLOCATION_ID).put(context).flip();
            reply(option, NbdProtocol.REP_META_CONTEXT, meta);
        }
        if (set)
        {
            baseAllocation = matched;
            metaContextExport = exports.resolve(name);
        }
        reply(option, NbdProtocol.REP_ACK, null);
    }

    /** A 32-bit length and that many UTF-8 bytes, or null if the data is too short. */
    private static String readName(final ByteBuffer data)
    {
        if (data.remaining() < 4)
        {
            return null;
        }
        final int length = data.getInt();
        if (length < 0 || length > data.remaining())
        {
            return null;
        }
        final ByteBuffer bytes = data.slice(data.position(), length);
        data.position(data.position() + length);
        return StandardCharsets.UTF_8.decode(bytes).toString();
    }

    private void error(final int option, final int type, final String message) throws IOException
    {
        reply(option, type, ByteBuffer.wrap(message.getBytes(StandardCharsets.UTF_8)));
    }

    private void reply(final int option, final int type, final ByteBuffer data) throws IOException
    {
        header.clear();
        header.putLong(NbdProtocol.OPTION_REPLY_MAGIC).putInt(option).putInt(type)
            .putInt(data == null ? 0 : data.remaining()).flip();
        if (data == null)
        {
            write(header);
        }
        else
        {
            write(header, data);
        }
    }

    private void write(final ByteBuffer... buffers) throws IOException
    {
        NbdIo.writeFully(channel, buffers);
    }
}
