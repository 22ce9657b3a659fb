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
 * |                          Version (1)                          |
 * +---------------------------------------------------------------+
 *
 * Record:
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +---------------------------------------------------------------+
 * |              CRC32C of bytes 4 .. Record Length               |
 * +---------------------------------------------------------------+
 * |            Record Length (32 + label bytes, at most 1056)     |
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
 * |                   Label, UTF-8, 0..1024 bytes                ...
 * +---------------------------------------------------------------+
 * </pre>
 */
final class CheckpointCatalogDescriptor
{
    static final int MAGIC = 0x434B4331;
    static final int VERSION = 1;
    static final int FILE_HEADER_LENGTH = 8;

    static final int CRC_OFFSET = 0;
    static final int LENGTH_OFFSET = 4;
    static final int SEQ_OFFSET = 8;
    static final int TIMESTAMP_OFFSET = 16;
    static final int BLOCKS_CHANGED_OFFSET = 24;
    static final int LABEL_OFFSET = 32;
    static final int HEADER_LENGTH = LABEL_OFFSET;
    static final int MAX_LABEL_BYTES = 1024;
    static final int MAX_RECORD_LENGTH = HEADER_LENGTH + MAX_LABEL_BYTES;

    private CheckpointCatalogDescriptor()
    {
    }

    static void encodeFileHeader(final ByteBuffer buffer)
    {
        buffer.putInt(0, MAGIC).putInt(4, VERSION);
    }

    static boolean isValidFileHeader(final ByteBuffer buffer)
    {
        return buffer.getInt(0) == MAGIC && buffer.getInt(4) == VERSION;
    }

    /** Encodes a record at {@code offset} (absolute puts); returns its length. */
    static int encode(
        final ByteBuffer buffer,
        final int offset,
        final long seq,
        final long timestampMs,
        final long blocksChanged,
        final byte[] label)
    {
        final int length = HEADER_LENGTH + label.length;
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
    static int validLength(final ByteBuffer buffer, final int offset, final int available)
    {
        if (available < HEADER_LENGTH)
        {
            return -1;
        }
        final int length = buffer.getInt(offset + LENGTH_OFFSET);
        if (length < HEADER_LENGTH || length > MAX_RECORD_LENGTH || length > available)
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

    static byte[] label(final ByteBuffer buffer, final int offset, final int length)
    {
        final byte[] label = new byte[length - HEADER_LENGTH];
        buffer.get(offset + LABEL_OFFSET, label);
        return label;
    }
}
