package dev.replicator.target.image;

import dev.replicator.core.codec.Checksums;

import java.nio.ByteBuffer;

/**
 * Layout of {@code store.state}: two slots, each a whole {@link #SLOT_LENGTH}-byte sector, written
 * alternately in place. A crash tears at most the slot being written; the other still holds the
 * previous state, and recovery takes the valid slot with the highest generation. Overwriting in place
 * and one fdatasync per commit is cheaper than a rename and two fsyncs per batch.
 *
 * <p>Slot {@code g & 1} holds generation {@code g}. Big-endian. Each slot:
 *
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +---------------------------------------------------------------+
 * |                   Magic 'IMS2' (0x494D5332)                   |
 * +---------------------------------------------------------------+
 * |                CRC32C of bytes 8 .. 48 of the slot            |
 * +---------------------------------------------------------------+
 * |                          Generation                           |
 * |                                                               |
 * +---------------------------------------------------------------+
 * |          Last Seq: highest seq durable in the replicas        |
 * |                                                               |
 * +---------------------------------------------------------------+
 * |      First Retained Checkpoint Seq (0: all are retained)      |
 * |                                                               |
 * +---------------------------------------------------------------+
 * |    Undo Base: the checkpoint seq of the current interval      |
 * |    (0: no checkpoint yet)                                     |
 * +---------------------------------------------------------------+
 * |    Undo Length: bytes of that interval's undo segment that    |
 * |    were durable at this commit (0: no segment yet)            |
 * +---------------------------------------------------------------+
 * |                     Zero up to 512 bytes                     ...
 * +---------------------------------------------------------------+
 * </pre>
 *
 * <p>Undo Base and Undo Length say which undo records the replicas already depend on: a committed
 * replica write overwrote the content those records keep, so recovery must find every one of them
 * intact and may truncate only what lies beyond (a torn tail), never a damaged committed record, and a
 * catalog that lost the checkpoint an interval started from is damaged, not torn.
 *
 * <p>A slot written before these fields existed has magic 'IMS1' and a CRC of bytes 8 .. 32; it is
 * still read, with Undo Base and Undo Length {@link #UNKNOWN}.
 */
final class StateFileDescriptor
{
    static final int MAGIC = 0x494D5332;
    static final int MAGIC_V1 = 0x494D5331;
    static final int SLOT_LENGTH = 512;
    static final int SLOT_COUNT = 2;
    static final int FILE_LENGTH = SLOT_LENGTH * SLOT_COUNT;
    /** Undo Base or Undo Length of a version 1 slot. */
    static final long UNKNOWN = -1;

    static final int MAGIC_OFFSET = 0;
    static final int CRC_OFFSET = 4;
    static final int GENERATION_OFFSET = 8;
    static final int LAST_SEQ_OFFSET = 16;
    static final int FIRST_RETAINED_OFFSET = 24;
    static final int UNDO_BASE_OFFSET = 32;
    static final int UNDO_LENGTH_OFFSET = 40;
    static final int ENCODED_LENGTH = 48;
    static final int ENCODED_LENGTH_V1 = 32;
    static final int CRC_START = GENERATION_OFFSET;

    private StateFileDescriptor()
    {
    }

    static long slotPosition(final long generation)
    {
        return (generation & 1) * SLOT_LENGTH;
    }

    /** Encodes a slot at {@code offset} of {@code buffer} (absolute puts). */
    static void encode(
        final ByteBuffer buffer,
        final int offset,
        final long generation,
        final long lastSeq,
        final long firstRetained,
        final long undoBase,
        final long undoLength)
    {
        buffer.putInt(offset + MAGIC_OFFSET, MAGIC);
        buffer.putLong(offset + GENERATION_OFFSET, generation);
        buffer.putLong(offset + LAST_SEQ_OFFSET, lastSeq);
        buffer.putLong(offset + FIRST_RETAINED_OFFSET, firstRetained);
        buffer.putLong(offset + UNDO_BASE_OFFSET, undoBase);
        buffer.putLong(offset + UNDO_LENGTH_OFFSET, undoLength);
        buffer.putInt(offset + CRC_OFFSET, Checksums.crc32c(buffer, offset + CRC_START, ENCODED_LENGTH - CRC_START));
    }

    /** True if the slot at {@code offset} has a known magic, a matching CRC and a positive generation. */
    static boolean isValid(final ByteBuffer buffer, final int offset)
    {
        final int magic = buffer.getInt(offset + MAGIC_OFFSET);
        final int encodedLength = magic == MAGIC ? ENCODED_LENGTH : magic == MAGIC_V1 ? ENCODED_LENGTH_V1 : -1;
        return encodedLength > 0 &&
            buffer.getInt(offset + CRC_OFFSET) ==
                Checksums.crc32c(buffer, offset + CRC_START, encodedLength - CRC_START) &&
            buffer.getLong(offset + GENERATION_OFFSET) > 0;
    }

    static long generation(final ByteBuffer buffer, final int offset)
    {
        return buffer.getLong(offset + GENERATION_OFFSET);
    }

    static long lastSeq(final ByteBuffer buffer, final int offset)
    {
        return buffer.getLong(offset + LAST_SEQ_OFFSET);
    }

    static long firstRetained(final ByteBuffer buffer, final int offset)
    {
        return buffer.getLong(offset + FIRST_RETAINED_OFFSET);
    }

    /** Undo Base of a valid slot, {@link #UNKNOWN} for a version 1 slot. */
    static long undoBase(final ByteBuffer buffer, final int offset)
    {
        return buffer.getInt(offset + MAGIC_OFFSET) == MAGIC ? buffer.getLong(offset + UNDO_BASE_OFFSET) : UNKNOWN;
    }

    /** Undo Length of a valid slot, {@link #UNKNOWN} for a version 1 slot. */
    static long undoLength(final ByteBuffer buffer, final int offset)
    {
        return buffer.getInt(offset + MAGIC_OFFSET) == MAGIC ? buffer.getLong(offset + UNDO_LENGTH_OFFSET) : UNKNOWN;
    }
}
