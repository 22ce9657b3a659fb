package dev.replicator.core.wire;

/**
 * Layout of every frame on a replicator connection (agent to target, target to agent, admin CLI
 * to target). Little-endian. A frame is a header and a body; what the body holds depends on the
 * {@link MessageType}: block records for {@link MessageType#DATA} and
 * {@link MessageType#FAILBACK_DATA} (see {@link BlockRecordDescriptor}), packed fingerprints for
 * {@link MessageType#FINGERPRINTS}, UTF-8 JSON for control and admin messages.
 *
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +---------------------------------------------------------------+
 * |                   Frame Length (header + body)                |
 * +---------------+---------------+-------------------------------+
 * |    Version    |     Type      |             Flags             |
 * +---------------+---------------+-------------------------------+
 * |                            Epoch                              |
 * |                                                               |
 * +---------------------------------------------------------------+
 * |        Seq (DATA: highest seq in frame; ACK: acked seq)       |
 * |                                                               |
 * +---------------------------------------------------------------+
 * |              Record Count (DATA, FAILBACK_DATA)               |
 * +---------------------------------------------------------------+
 * |   CRC32C of bytes [0, 28) and [32, Frame Length)              |
 * +---------------------------------------------------------------+
 * |                            Body                              ...
 * +---------------------------------------------------------------+
 * </pre>
 *
 * The epoch travels on every frame: a side whose epoch is stale is refused (no split brain).
 */
public final class FrameDescriptor
{
    public static final byte VERSION = 1;

    public static final int LENGTH_OFFSET = 0;
    public static final int VERSION_OFFSET = 4;
    public static final int TYPE_OFFSET = 5;
    public static final int FLAGS_OFFSET = 6;
    public static final int EPOCH_OFFSET = 8;
    public static final int SEQ_OFFSET = 16;
    public static final int COUNT_OFFSET = 24;
    public static final int CRC_OFFSET = 28;
    public static final int HEADER_LENGTH = 32;

    /**
     * Largest frame either side accepts. A frame is read whole before its CRC is checked, so this
     * bounds the memory a corrupt or hostile length field can claim.
     */
    public static final int MAX_FRAME_LENGTH = 8 * 1024 * 1024 + HEADER_LENGTH;

    /**
     * Largest sum of plain block bytes in one data frame. Zero blocks encode to nothing, so without
     * this bound a small frame could decode to gigabytes.
     */
    public static final int MAX_PLAIN_BYTES_PER_FRAME = 8 * 1024 * 1024;

    private FrameDescriptor()
    {
    }
}
