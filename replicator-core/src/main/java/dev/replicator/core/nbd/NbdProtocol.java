package dev.replicator.core.nbd;

/**
 * Constants of the NBD protocol (NetworkBlockDevice/nbd, doc/proto.md) that this server speaks:
 * fixed newstyle negotiation, simple and structured replies, the {@code base:allocation} context.
 * All integers on the wire are big-endian (network order).
 *
 * <pre>
 * Handshake, server first:
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +---------------------------------------------------------------+
 *  |                 "NBDMAGIC" (0x4e42444d41474943)               |
 *  +---------------------------------------------------------------+
 *  |                 "IHAVEOPT" (0x49484156454f5054)               |
 *  +-------------------------------+-------------------------------+
 *  |  handshake flags (16)         |   FIXED_NEWSTYLE | NO_ZEROES
 *  +-------------------------------+
 * client answers:
 *  +---------------------------------------------------------------+
 *  |  client flags (32): C_FIXED_NEWSTYLE | C_NO_ZEROES            |
 *  +---------------------------------------------------------------+
 * </pre>
 * Options and their replies are drawn in {@link NbdHandshake}; transmission requests and replies in
 * {@link NbdRequestDecoder} and {@link NbdReplyEncoder}.
 */
public final class NbdProtocol
{
    public static final int DEFAULT_PORT = 10809;

    public static final long NBDMAGIC = 0x4e42444d41474943L;
    public static final long IHAVEOPT = 0x49484156454f5054L;
    public static final long OPTION_REPLY_MAGIC = 0x0003e889045565a9L;
    public static final int REQUEST_MAGIC = 0x25609513;
    public static final int SIMPLE_REPLY_MAGIC = 0x67446698;
    public static final int STRUCTURED_REPLY_MAGIC = 0x668e33ef;

    // Handshake flags (server) and client flags.
    public static final int FLAG_FIXED_NEWSTYLE = 1;
    public static final int FLAG_NO_ZEROES = 1 << 1;
    public static final int FLAG_C_FIXED_NEWSTYLE = 1;
    public static final int FLAG_C_NO_ZEROES = 1 << 1;

    // Options.
    public static final int OPT_EXPORT_NAME = 1;
    public static final int OPT_ABORT = 2;
    public static final int OPT_LIST = 3;
    public static final int OPT_STARTTLS = 5;
    public static final int OPT_INFO = 6;
    public static final int OPT_GO = 7;
    public static final int OPT_STRUCTURED_REPLY = 8;
    public static final int OPT_LIST_META_CONTEXT = 9;
    public static final int OPT_SET_META_CONTEXT = 10;

    // Option reply types.
    public static final int REP_ACK = 1;
    public static final int REP_SERVER = 2;
    public static final int REP_INFO = 3;
    public static final int REP_META_CONTEXT = 4;
    private static final int REP_FLAG_ERROR = 1 << 31;
    public static final int REP_ERR_UNSUP = REP_FLAG_ERROR | 1;
    public static final int REP_ERR_POLICY = REP_FLAG_ERROR | 2;
    public static final int REP_ERR_INVALID = REP_FLAG_ERROR | 3;
    public static final int REP_ERR_UNKNOWN = REP_FLAG_ERROR | 6;
    public static final int REP_ERR_TOO_BIG = REP_FLAG_ERROR | 9;

    // Info types in NBD_REP_INFO.
    public static final int INFO_EXPORT = 0;
    public static final int INFO_NAME = 1;
    public static final int INFO_DESCRIPTION = 2;
    public static final int INFO_BLOCK_SIZE = 3;

    // Transmission flags.
    public static final int TFLAG_HAS_FLAGS = 1;
    public static final int TFLAG_READ_ONLY = 1 << 1;
    public static final int TFLAG_SEND_FLUSH = 1 << 2;
    public static final int TFLAG_SEND_FUA = 1 << 3;
    public static final int TFLAG_SEND_TRIM = 1 << 5;
    public static final int TFLAG_SEND_WRITE_ZEROES = 1 << 6;
    public static final int TFLAG_CAN_MULTI_CONN = 1 << 8;

    // Commands.
    public static final int CMD_READ = 0;
    public static final int CMD_WRITE = 1;
    public static final int CMD_DISC = 2;
    public static final int CMD_FLUSH = 3;
    public static final int CMD_TRIM = 4;
    public static final int CMD_CACHE = 5;
    public static final int CMD_WRITE_ZEROES = 6;
    public static final int CMD_BLOCK_STATUS = 7;

    // Command flags.
    public static final int CMD_FLAG_FUA = 1;
    public static final int CMD_FLAG_NO_HOLE = 1 << 1;
    public static final int CMD_FLAG_DF = 1 << 2;
    public static final int CMD_FLAG_REQ_ONE = 1 << 3;
    public static final int CMD_FLAG_FAST_ZERO = 1 << 4;

    // Structured reply flags and types.
    public static final int REPLY_FLAG_DONE = 1;
    public static final int REPLY_TYPE_NONE = 0;
    public static final int REPLY_TYPE_OFFSET_DATA = 1;
    public static final int REPLY_TYPE_BLOCK_STATUS = 5;
    public static final int REPLY_TYPE_ERROR = (1 << 15) + 1;

    // Errors (errno values fixed by the protocol).
    public static final int EPERM = 1;
    public static final int EIO = 5;
    public static final int ENOMEM = 12;
    public static final int EINVAL = 22;
    public static final int ENOSPC = 28;
    public static final int EOVERFLOW = 75;
    public static final int ENOTSUP = 95;
    public static final int ESHUTDOWN = 108;

    /** The only metadata context served. */
    public static final String BASE_ALLOCATION = "base:allocation";
    public static final int BASE_ALLOCATION_ID = 1;
    public static final int STATE_HOLE = 1;
    public static final int STATE_ZERO = 1 << 1;

    /** Largest READ/WRITE payload accepted: the protocol's customary maximum block size. */
    public static final int MAX_PAYLOAD_BYTES = 32 << 20;
    /** Largest option payload accepted during negotiation (names and queries are short). */
    public static final int MAX_OPTION_BYTES = 64 << 10;

    private NbdProtocol()
    {
    }
}
