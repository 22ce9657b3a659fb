package dev.replicator.core.wire;

/**
 * Layout of one record in the body of a {@link MessageType#DATA} or
 * {@link MessageType#FAILBACK_DATA} frame. Little-endian. A frame holds whole journal entries:
 * an entry is never split across frames, so an ack of a frame's seq covers every entry up to it.
 *
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +---------------------------------------------------------------+
 * |                              Seq                              |
 * |                                                               |
 * +---------------------------------------------------------------+
 * |       Block Index (BLOCK) / Timestamp ms (CHECKPOINT)         |
 * |                                                               |
 * +-------------------------------+---------------+---------------+
 * |  Volume Index / CP Flags      |     Kind      |     Codec     |
 * +-------------------------------+---------------+---------------+
 * |                        Encoded Length                         |
 * +---------------------------------------------------------------+
 * |   xxHash64 of the plain block (CHECKPOINT: of the label)      |
 * |                                                               |
 * +---------------------------------------------------------------+
 * |   Payload: encoded block (BLOCK) / UTF-8 label (CHECKPOINT)  ...
 * +---------------------------------------------------------------+
 * </pre>
 */
public final class BlockRecordDescriptor
{
    public static final byte KIND_BLOCK = 1;
    public static final byte KIND_CHECKPOINT = 2;
    /**
     * CHECKPOINT records carry flags in the Volume Index field (0 before it existed): this bit says the
     * application was quiesced around the checkpoint (application-consistent).
     */
    public static final int CHECKPOINT_APP_CONSISTENT = 1;
    /**
     * One op of a tree volume: Block Index holds the plain length, Volume Index the tree's index,
     * the payload is the encoded {@code TreeRecordDescriptor} op (codec as for a block), the hash is
     * of the plain op.
     */
    public static final byte KIND_TREE = 3;

    public static final int SEQ_OFFSET = 0;
    public static final int BLOCK_INDEX_OFFSET = 8;
    public static final int VOLUME_OFFSET = 16;
    public static final int KIND_OFFSET = 18;
    public static final int CODEC_OFFSET = 19;
    public static final int ENCODED_LENGTH_OFFSET = 20;
    public static final int HASH_OFFSET = 24;
    public static final int HEADER_LENGTH = 32;

    /** Checkpoint labels are short, human-chosen names. */
    public static final int MAX_LABEL_BYTES = 256;

    private BlockRecordDescriptor()
    {
    }
}
