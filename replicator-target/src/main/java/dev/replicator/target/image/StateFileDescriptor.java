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
 * |                   Magic 'IMS1' (0x494D5331)                   |
 * +---------------------------------------------------------------+
 * |                CRC32C of bytes 8 .. 32 of the slot            |
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
 * |                     Zero up to 512 bytes                     ...
 * +---------------------------------------------------------------+
 * </pre>
 */
final class StateFileDescriptor
{
    static final int MAGIC = 0x494D5331;
    static final int SLOT_LENGTH = 512;
    static final int SLOT_COUNT = 2;
    static final int FILE_LENGTH = SLOT_LENGTH * SLOT_COUNT;

    static final int MAGIC_OFFSET = 0;
    static final int CRC_OFFSET = 4;
    static final int GENERATION_OFFSET = 8;
    static final int LAST_SEQ_OFFSET = 16;
    static final int FIRST_RETAINED_OFFSET = 24;
    static final int ENCODED_LENGTH = 32;
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
        final ByteBuffer buffer, final int offset, final long generation, final long lastSeq, final long firstRetained)
    {
        buffer.putInt(offset + MAGIC_OFFSET, MAGIC);
        buffer.putLong(offset + GENERATION_OFFSET, generation);
        buffer.putLong(offset + LAST_SEQ_OFFSET, lastSeq);
        buffer.putLong(offset + FIRST_RETAINED_OFFSET, firstRetained);
        buffer.putInt(offset + CRC_OFFSET, Checksums.crc32c(buffer, offset + CRC_START, ENCODED_LENGTH - CRC_START));
    }

    /** True if the slot at {@code offset} has the magic, a matching CRC and a positive generation. */
    static boolean isValid(final ByteBuffer buffer, final int offset)
    {
        return buffer.getInt(offset + MAGIC_OFFSET) == MAGIC &&
            buffer.getInt(offset + CRC_OFFSET) ==
                Checksums.crc32c(buffer, offset + CRC_START, ENCODED_LENGTH - CRC_START) &&
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
}
