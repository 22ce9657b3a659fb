package dev.replicator.target.image;

import java.nio.ByteBuffer;

/**
 * Layout of an undo segment file, {@code undo/<baseCheckpointSeq, 20 digits>.undo}: this header, then
 * {@link UndoRecordDescriptor undo records} back to back. One segment per checkpoint interval: every
 * record in it preserves content as of the checkpoint the file is named after, so retention deletes
 * whole files. The header is written atomically when the segment is created. Big-endian.
 *
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +---------------------------------------------------------------+
 * |                   Magic 'UND1' (0x554E4431)                   |
 * +---------------------------------------------------------------+
 * |                          Version (1)                          |
 * +---------------------------------------------------------------+
 * |                     Base Checkpoint Seq                       |
 * |                                                               |
 * +---------------------------------------------------------------+
 * |                     Undo records ...                         ...
 * +---------------------------------------------------------------+
 * </pre>
 */
final class UndoSegmentDescriptor
{
    static final int MAGIC = 0x554E4431;
    static final int VERSION = 1;
    static final int MAGIC_OFFSET = 0;
    static final int VERSION_OFFSET = 4;
    static final int BASE_CHECKPOINT_SEQ_OFFSET = 8;
    static final int HEADER_LENGTH = 16;

    private UndoSegmentDescriptor()
    {
    }

    static void encodeHeader(final ByteBuffer buffer, final long baseCheckpointSeq)
    {
        buffer.putInt(MAGIC_OFFSET, MAGIC)
            .putInt(VERSION_OFFSET, VERSION)
            .putLong(BASE_CHECKPOINT_SEQ_OFFSET, baseCheckpointSeq);
    }

    static boolean isValidHeader(final ByteBuffer buffer, final long baseCheckpointSeq)
    {
        return buffer.getInt(MAGIC_OFFSET) == MAGIC &&
            buffer.getInt(VERSION_OFFSET) == VERSION &&
            buffer.getLong(BASE_CHECKPOINT_SEQ_OFFSET) == baseCheckpointSeq;
    }
}
