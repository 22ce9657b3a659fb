package dev.replicator.core.journal;

import net.openhft.chronicle.bytes.Bytes;

import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

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
 *  |        First Block (WRITE) / Checkpoint Flags (CHECKPOINT)    |
 *  |                                                               |
 *  +---------------------------------------------------------------+
 *  |                        Payload Length                         |
 *  +-------------------------------+---------------+---------------+
 *  |         Volume Index          |     Type      |    Format     |
 *  +-------------------------------+---------------+---------------+
 *  |                    Payload (Payload Length bytes)            ...
 * ...                                                              |
 *  +---------------------------------------------------------------+
 *  |     CRC32C of the header and the payload (Format CRC32C)      |
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
 *   <li>Checkpoint Flags: {@link #CHECKPOINT_APP_CONSISTENT} when the application was quiesced around
 *   the checkpoint (hooks, fsfreeze); 0 (crash-consistent) in journals written before the field.</li>
 *   <li>Type: {@link #TYPE_WRITE}, {@link #TYPE_CHECKPOINT} or {@link #TYPE_TREE} (payload: one encoded
 *   tree op; Volume Index: the tree volume's index among the group's tree volumes; First Block 0).</li>
 *   <li>Format: {@link #FORMAT_CRC32C} for every entry this code writes: the entry ends with the
 *   CRC32C of bytes {@code [0, 32 + Payload Length)}. {@link #FORMAT_UNCHECKED} (the byte was reserved
 *   and 0 before) marks an entry of an older journal, which has no CRC and is read unchecked.</li>
 * </ul>
 *
 * <p>Why a CRC of our own: Chronicle Queue keeps none. A cycle file damaged under it (a power loss
 * that persisted some pages of an entry and not others, garbage written over it, a truncated file
 * that Chronicle extends with zeros when it maps it again) hands back the damaged bytes as a whole,
 * valid document. An entry's length must match its document exactly, so a damaged Format byte cannot
 * switch the check off without also breaking the length.
 */
public final class JournalEntryDescriptor
{
    public static final int SEQ_OFFSET = 0;
    public static final int TIMESTAMP_MS_OFFSET = 8;
    public static final int FIRST_BLOCK_OFFSET = 16;
    public static final int PAYLOAD_LENGTH_OFFSET = 24;
    public static final int VOLUME_INDEX_OFFSET = 28;
    public static final int TYPE_OFFSET = 30;
    public static final int FORMAT_OFFSET = 31;
    public static final int HEADER_LENGTH = 32;
    /** Bytes after the payload of a {@link #FORMAT_CRC32C} entry. */
    public static final int CRC_LENGTH = 4;

    public static final byte TYPE_WRITE = 1;
    public static final byte TYPE_CHECKPOINT = 2;
    /** One {@code TreeOp} of a tree volume (payload: {@code TreeRecordDescriptor}; Volume Index: the tree's index). */
    public static final byte TYPE_TREE = 3;

    /** Checkpoint flag: the application was quiesced (pre hook and fsfreeze succeeded) around it. */
    public static final long CHECKPOINT_APP_CONSISTENT = 1;

    /** Entry of a journal written before entries had a CRC: no trailer, read unchecked. */
    public static final byte FORMAT_UNCHECKED = 0;
    /** Entry followed by the CRC32C of its header and payload. */
    public static final byte FORMAT_CRC32C = 1;

    /** Largest volume index the 16-bit field holds. */
    public static final int MAX_VOLUME_INDEX = 0xFFFF;

    private JournalEntryDescriptor()
    {
    }

    /** Encodes a {@link #FORMAT_CRC32C} header at 0 of {@code header} (little-endian, absolute puts). */
    static void encodeHeader(
        final ByteBuffer header,
        final long seq,
        final long timestampMs,
        final long firstBlock,
        final int payloadLength,
        final int volumeIndex,
        final byte type)
    {
        header.putLong(SEQ_OFFSET, seq)
            .putLong(TIMESTAMP_MS_OFFSET, timestampMs)
            .putLong(FIRST_BLOCK_OFFSET, firstBlock)
            .putInt(PAYLOAD_LENGTH_OFFSET, payloadLength)
            .putShort(VOLUME_INDEX_OFFSET, (short)volumeIndex)
            .put(TYPE_OFFSET, type)
            .put(FORMAT_OFFSET, FORMAT_CRC32C);
    }

    /**
     * Writes a whole entry at the write position of {@code bytes}, advancing it: the header encoded
     * in {@code header} (a heap buffer, see {@link #encodeHeader}), {@code length} bytes of
     * {@code payload} from absolute offset {@code offset} (its position is not used or changed), then
     * the CRC32C of both.
     */
    static void write(
        final Bytes<?> bytes,
        final ByteBuffer header,
        final CRC32C crc,
        final ByteBuffer payload,
        final int offset,
        final int length)
    {
        crc.reset();
        crc.update(header.array(), header.arrayOffset(), HEADER_LENGTH);
        if (payload.hasArray())
        {
            crc.update(payload.array(), payload.arrayOffset() + offset, length);
        }
        else
        {
            // A direct buffer: CRC32C reads it between position and limit, so it needs a view.
            crc.update(payload.duplicate().limit(offset + length).position(offset));
        }
        bytes.write(header.array(), header.arrayOffset(), HEADER_LENGTH);
        bytes.write(bytes.writePosition(), payload, offset, length);
        bytes.writeSkip(length);
        bytes.writeInt((int)crc.getValue());
    }
}
