package dev.replicator.target.image;

import dev.replicator.core.codec.Checksums;

import java.nio.ByteBuffer;

/**
 * Layout of {@code checkpoints.catalog}: a file header, then checkpoint records appended in seq order.
 * A record is valid when its length is in range and its CRC matches; the first invalid record and
 * everything after it are a torn tail (a crash before the fsync) and are truncated on open. Big-endian.
 *
 * <pre>
 * File header:
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +---------------------------------------------------------------+
 * |                   Magic 'CKC1' (0x434B4331)                   |
 * +---------------------------------------------------------------+
 * |                          Version (2)                          |
 * +---------------------------------------------------------------+
 *
 * Record (version 2; a version 1 record has no Flags word: the label starts at byte 32):
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +---------------------------------------------------------------+
 * |              CRC32C of bytes 4 .. Record Length               |
 * +---------------------------------------------------------------+
 * |            Record Length (40 + label bytes, at most 1064)     |
 * +---------------------------------------------------------------+
 * |                        Checkpoint Seq                         |
 * |                                                               |
 * +---------------------------------------------------------------+
 * |                         Timestamp (ms)                        |
 * |                                                               |
 * +---------------------------------------------------------------+
 * |      Blocks Changed since the previous checkpoint (all vols)  |
 * |                                                               |
 * +---------------------------------------------------------------+
 * |         Flags (bit 0: application-consistent)                 |
 * |                                                               |
 * +---------------------------------------------------------------+
 * |                   Label, UTF-8, 0..1024 bytes                ...
 * +---------------------------------------------------------------+
 * </pre>
 *
 * <p>A version 1 catalog (written before checkpoints had a consistency) is read as crash-consistent
 * checkpoints and rewritten as version 2 once the store has opened it ({@link CheckpointCatalog}).
 */
final class CheckpointCatalogDescriptor
{
    static final int MAGIC = 0x434B4331;
    static final int VERSION = 2;
    /** Catalogs written before checkpoint flags: records without the Flags word. */
    static final int VERSION_1 = 1;
    static final int FILE_HEADER_LENGTH = 8;

    static final int CRC_OFFSET = 0;
    static final int LENGTH_OFFSET = 4;
    static final int SEQ_OFFSET = 8;
    static final int TIMESTAMP_OFFSET = 16;
    static final int BLOCKS_CHANGED_OFFSET = 24;
    static final int FLAGS_OFFSET = 32;
    static final int LABEL_OFFSET = 40;
    static final int HEADER_LENGTH = LABEL_OFFSET;
    static final int V1_LABEL_OFFSET = 32;
    static final int MAX_LABEL_BYTES = 1024;
    static final int MAX_RECORD_LENGTH = HEADER_LENGTH + MAX_LABEL_BYTES;

    /** Flags bit: the application was quiesced around the checkpoint. */
    static final long FLAG_APP_CONSISTENT = 1;

    private CheckpointCatalogDescriptor()
    {
    }

    static void encodeFileHeader(final ByteBuffer buffer)
    {
        buffer.putInt(0, MAGIC).putInt(4, VERSION);
    }

    static boolean isValidFileHeader(final ByteBuffer buffer)
    {
        return buffer.getInt(0) == MAGIC && (buffer.getInt(4) == VERSION || buffer.getInt(4) == VERSION_1);
    }

    static int version(final ByteBuffer buffer)
    {
        return buffer.getInt(4);
    }

    /** Where a record's label starts in a catalog of {@code version}. */
    static int labelOffset(final int version)
    {
        return version == VERSION_1 ? V1_LABEL_OFFSET : LABEL_OFFSET;
    }

    /** Encodes a record at {@code offset} (absolute puts); returns its length. */
    static int encode(
        final ByteBuffer buffer,
        final int offset,
        final long seq,
        final long timestampMs,
        final long blocksChanged,
        final long flags,
        final byte[] label)
    {
        final int length = HEADER_LENGTH + label.length;
        buffer.putLong(offset + FLAGS_OFFSET, flags);
        buffer.putInt(offset + LENGTH_OFFSET, length);
        buffer.putLong(offset + SEQ_OFFSET, seq);
        buffer.putLong(offset + TIMESTAMP_OFFSET, timestampMs);
        buffer.putLong(offset + BLOCKS_CHANGED_OFFSET, blocksChanged);
        buffer.put(offset + LABEL_OFFSET, label);
        buffer.putInt(offset + CRC_OFFSET, Checksums.crc32c(buffer, offset + LENGTH_OFFSET, length - LENGTH_OFFSET));
        return length;
    }

    /**
     * Length of the valid record at {@code offset} with {@code available} bytes after it, or -1 if
     * there is no whole record with a matching CRC there.
     */
    static int validLength(final ByteBuffer buffer, final int offset, final int available, final int version)
    {
        final int headerLength = labelOffset(version);
        if (available < headerLength)
        {
            return -1;
        }
        final int length = buffer.getInt(offset + LENGTH_OFFSET);
        if (length < headerLength || length > headerLength + MAX_LABEL_BYTES || length > available)
        {
            return -1;
        }
        final int crc = Checksums.crc32c(buffer, offset + LENGTH_OFFSET, length - LENGTH_OFFSET);
        return crc == buffer.getInt(offset + CRC_OFFSET) ? length : -1;
    }

    static long seq(final ByteBuffer buffer, final int offset)
    {
        return buffer.getLong(offset + SEQ_OFFSET);
    }

    static long timestampMs(final ByteBuffer buffer, final int offset)
    {
        return buffer.getLong(offset + TIMESTAMP_OFFSET);
    }

    static long blocksChanged(final ByteBuffer buffer, final int offset)
    {
        return buffer.getLong(offset + BLOCKS_CHANGED_OFFSET);
    }

    static long flags(final ByteBuffer buffer, final int offset, final int version)
    {
        return version == VERSION_1 ? 0 : buffer.getLong(offset + FLAGS_OFFSET);
    }

    static byte[] label(final ByteBuffer buffer, final int offset, final int length, final int version)
    {
        final int labelOffset = labelOffset(version);
        final byte[] label = new byte[length - labelOffset];
        buffer.get(offset + labelOffset, label);
        return label;
    }
}
