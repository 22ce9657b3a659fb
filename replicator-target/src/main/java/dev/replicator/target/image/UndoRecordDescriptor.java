package dev.replicator.target.image;

import dev.replicator.core.codec.BlockCodec;
import dev.replicator.core.codec.Checksums;
import dev.replicator.core.volume.VolumeSpec;

import java.nio.ByteBuffer;
import java.util.List;

/**
 * Layout of one undo record: a block's content as of the segment's base checkpoint, saved just before
 * the first write after that checkpoint overwrote it. The payload is the old content encoded with
 * {@link BlockCodec} (ZERO: no payload, LZ4, or RAW), so zero and compressible blocks cost little.
 * Big-endian.
 *
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +---------------------------------------------------------------+
 * |              CRC32C of bytes 4 .. Record Length               |
 * +---------------------------------------------------------------+
 * |               Record Length (header + payload)                |
 * +---------------------------------------------------------------+
 * |                 Seq of the overwriting write                  |
 * |                                                               |
 * +---------------------------------------------------------------+
 * |   Base Checkpoint Seq (the checkpoint whose content it keeps) |
 * |                                                               |
 * +---------------------------------------------------------------+
 * |                         Block Index                           |
 * |                                                               |
 * +---------------------------------------------------------------+
 * |                         Volume Index                          |
 * +---------------+-----------------------------------------------+
 * |     Codec     |                  Reserved (0)                 |
 * +---------------+-----------------------------------------------+
 * |        Payload: old block content, BlockCodec-encoded        ...
 * +---------------------------------------------------------------+
 * </pre>
 *
 * A record is valid only if whole, its CRC matches, its base is the segment's, its volume and block
 * exist and its payload length fits its codec; the first invalid record ends a segment's valid part.
 */
final class UndoRecordDescriptor
{
    static final int CRC_OFFSET = 0;
    static final int LENGTH_OFFSET = 4;
    static final int SEQ_OFFSET = 8;
    static final int BASE_CHECKPOINT_SEQ_OFFSET = 16;
    static final int BLOCK_INDEX_OFFSET = 24;
    static final int VOLUME_INDEX_OFFSET = 32;
    static final int CODEC_OFFSET = 36;
    static final int PAYLOAD_OFFSET = 40;
    static final int HEADER_LENGTH = PAYLOAD_OFFSET;

    private UndoRecordDescriptor()
    {
    }

    static int maxRecordLength(final int blockSize)
    {
        return HEADER_LENGTH + BlockCodec.maxEncodedLength(blockSize);
    }

    /**
     * Encodes a record at {@code dst}'s position from {@code blockSize} bytes of {@code oldContent} at
     * {@code contentOffset}, advancing {@code dst} past it; {@code dst} needs
     * {@link #maxRecordLength} bytes of room. Returns the record length.
     */
    static int encode(
        final ByteBuffer dst,
        final long seq,
        final long baseCheckpointSeq,
        final int volumeIndex,
        final long blockIndex,
        final ByteBuffer oldContent,
        final int contentOffset,
        final int blockSize)
    {
        final int start = dst.position();
        dst.position(start + PAYLOAD_OFFSET);
        final byte codec = BlockCodec.encode(oldContent, contentOffset, blockSize, dst);
        final int length = dst.position() - start;
        dst.putInt(start + LENGTH_OFFSET, length)
            .putLong(start + SEQ_OFFSET, seq)
            .putLong(start + BASE_CHECKPOINT_SEQ_OFFSET, baseCheckpointSeq)
            .putLong(start + BLOCK_INDEX_OFFSET, blockIndex)
            .putInt(start + VOLUME_INDEX_OFFSET, volumeIndex)
            .putInt(start + CODEC_OFFSET, (codec & 0xFF) << 24);
        dst.putInt(start + CRC_OFFSET, Checksums.crc32c(dst, start + LENGTH_OFFSET, length - LENGTH_OFFSET));
        return length;
    }

    /**
     * Length of the valid record at {@code offset} with {@code available} bytes after it, or -1 if
     * there is none (see the class comment for what valid means).
     */
    static int validLength(
        final ByteBuffer buffer,
        final int offset,
        final int available,
        final long baseCheckpointSeq,
        final List<VolumeSpec> volumes)
    {
        if (available < HEADER_LENGTH)
        {
            return -1;
        }
        final int volumeIndex = buffer.getInt(offset + VOLUME_INDEX_OFFSET);
        if (volumeIndex < 0 || volumeIndex >= volumes.size())
        {
            return -1;
        }
        final VolumeSpec volume = volumes.get(volumeIndex);
        final int length = buffer.getInt(offset + LENGTH_OFFSET);
        if (length < HEADER_LENGTH || length > maxRecordLength(volume.blockSize()) || length > available)
        {
            return -1;
        }
        final long blockIndex = buffer.getLong(offset + BLOCK_INDEX_OFFSET);
        if (buffer.getLong(offset + BASE_CHECKPOINT_SEQ_OFFSET) != baseCheckpointSeq ||
            blockIndex < 0 || blockIndex >= volume.blockCount() ||
            !payloadFits(codec(buffer, offset), length - HEADER_LENGTH, volume.blockSize()))
        {
            return -1;
        }
        final int crc = Checksums.crc32c(buffer, offset + LENGTH_OFFSET, length - LENGTH_OFFSET);
        return crc == buffer.getInt(offset + CRC_OFFSET) ? length : -1;
    }

    private static boolean payloadFits(final byte codec, final int payloadLength, final int blockSize)
    {
        return switch (codec)
        {
            case BlockCodec.ZERO -> payloadLength == 0;
            case BlockCodec.RAW -> payloadLength == blockSize;
            case BlockCodec.LZ4 -> payloadLength > 0 && payloadLength < blockSize;
            default -> false;
        };
    }

    static long seq(final ByteBuffer buffer, final int offset)
    {
        return buffer.getLong(offset + SEQ_OFFSET);
    }

    static long blockIndex(final ByteBuffer buffer, final int offset)
    {
        return buffer.getLong(offset + BLOCK_INDEX_OFFSET);
    }

    static int volumeIndex(final ByteBuffer buffer, final int offset)
    {
        return buffer.getInt(offset + VOLUME_INDEX_OFFSET);
    }

    static byte codec(final ByteBuffer buffer, final int offset)
    {
        return buffer.get(offset + CODEC_OFFSET);
    }

    static int length(final ByteBuffer buffer, final int offset)
    {
        return buffer.getInt(offset + LENGTH_OFFSET);
    }
}
