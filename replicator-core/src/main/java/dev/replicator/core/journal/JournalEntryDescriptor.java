package dev.replicator.core.journal;

import net.openhft.chronicle.bytes.Bytes;

/**
 * Layout of one journal entry: the body of one Chronicle Queue document (Chronicle adds its own
 * 4-byte length/state header in front). Fields are little-endian, the native order of Chronicle
 * Bytes on the platforms it supports (x86-64, AArch64); {@link Journal#open} refuses a big-endian
 * platform.
 *
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +---------------------------------------------------------------+
 *  |                             Seq                               |
 *  |                                                               |
 *  +---------------------------------------------------------------+
 *  |                         Timestamp Ms                          |
 *  |                                                               |
 *  +---------------------------------------------------------------+
 *  |                  First Block (0 for CHECKPOINT)               |
 *  |                                                               |
 *  +---------------------------------------------------------------+
 *  |                        Payload Length                         |
 *  +-------------------------------+---------------+---------------+
 *  |         Volume Index          |     Type      |   Reserved    |
 *  +-------------------------------+---------------+---------------+
 *  |                    Payload (Payload Length bytes)            ...
 * ...                                                              |
 *  +---------------------------------------------------------------+
 * </pre>
 *
 * <ul>
 *   <li>Seq: the group sequence number, strictly increasing by one in queue order.</li>
 *   <li>Timestamp Ms: wall-clock epoch milliseconds at append (WRITE) or of the checkpoint.</li>
 *   <li>Payload: WRITE: {@code blockCount * blockSize} bytes of block data; CHECKPOINT: the label in
 *   UTF-8 (may be empty).</li>
 *   <li>Volume Index: unsigned 16 bits, the volume's index in the group's configuration (0 for
 *   CHECKPOINT).</li>
 *   <li>Type: {@link #TYPE_WRITE} or {@link #TYPE_CHECKPOINT}. Reserved: 0.</li>
 * </ul>
 */
public final class JournalEntryDescriptor
{
    public static final int SEQ_OFFSET = 0;
    public static final int TIMESTAMP_MS_OFFSET = 8;
    public static final int FIRST_BLOCK_OFFSET = 16;
    public static final int PAYLOAD_LENGTH_OFFSET = 24;
    public static final int VOLUME_INDEX_OFFSET = 28;
    public static final int TYPE_OFFSET = 30;
    public static final int RESERVED_OFFSET = 31;
    public static final int HEADER_LENGTH = 32;

    public static final byte TYPE_WRITE = 1;
    public static final byte TYPE_CHECKPOINT = 2;

    /** Largest volume index the 16-bit field holds. */
    public static final int MAX_VOLUME_INDEX = 0xFFFF;

    private JournalEntryDescriptor()
    {
    }

    /** Writes the header at the write position of {@code bytes} and advances it by {@link #HEADER_LENGTH}. */
    static void writeHeader(
        final Bytes<?> bytes,
        final long seq,
        final long timestampMs,
        final long firstBlock,
        final int payloadLength,
        final int volumeIndex,
        final byte type)
    {
        bytes.writeLong(seq);
        bytes.writeLong(timestampMs);
        bytes.writeLong(firstBlock);
        bytes.writeInt(payloadLength);
        bytes.writeShort((short)volumeIndex);
        bytes.writeByte(type);
        bytes.writeByte((byte)0);
    }

    static long seq(final Bytes<?> bytes, final long entryOffset)
    {
        return bytes.readLong(entryOffset + SEQ_OFFSET);
    }

    static long timestampMs(final Bytes<?> bytes, final long entryOffset)
    {
        return bytes.readLong(entryOffset + TIMESTAMP_MS_OFFSET);
    }

    static long firstBlock(final Bytes<?> bytes, final long entryOffset)
    {
        return bytes.readLong(entryOffset + FIRST_BLOCK_OFFSET);
    }

    static int payloadLength(final Bytes<?> bytes, final long entryOffset)
    {
        return bytes.readInt(entryOffset + PAYLOAD_LENGTH_OFFSET);
    }

    static int volumeIndex(final Bytes<?> bytes, final long entryOffset)
    {
        return bytes.readUnsignedShort(entryOffset + VOLUME_INDEX_OFFSET);
    }

    static byte type(final Bytes<?> bytes, final long entryOffset)
    {
        return bytes.readByte(entryOffset + TYPE_OFFSET);
    }
}
