package dev.replicator.core.wire;

import dev.replicator.core.codec.BlockCodec;
import dev.replicator.core.codec.Checksums;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

import static dev.replicator.core.wire.BlockRecordDescriptor.*;

/**
 * Builds one {@link MessageType#DATA} or {@link MessageType#FAILBACK_DATA} frame at a time in a
 * reused buffer: each block is hashed (xxHash64 of the plain bytes) and encoded
 * ({@link BlockCodec}) straight into the frame. Not thread-safe: one encoder per shipping thread.
 */
public final class DataFrameEncoder
{
    private final ByteBuffer buffer;
    private final int maxFrameLength;
    private final int maxPlainBytes;
    private int position;
    private int recordCount;
    private long plainBytes;
    private long lastSeq;

    public DataFrameEncoder()
    {
        this(FrameDescriptor.MAX_FRAME_LENGTH, FrameDescriptor.MAX_PLAIN_BYTES_PER_FRAME);
    }

    /** @param maxFrameLength bytes a frame may take; smaller frames mean more, cheaper acks. */
    public DataFrameEncoder(final int maxFrameLength, final int maxPlainBytes)
    {
        if (maxFrameLength > FrameDescriptor.MAX_FRAME_LENGTH || maxPlainBytes > FrameDescriptor.MAX_PLAIN_BYTES_PER_FRAME)
        {
            throw new IllegalArgumentException("frame limits exceed what a receiver accepts");
        }
        this.maxFrameLength = maxFrameLength;
        this.maxPlainBytes = maxPlainBytes;
        this.buffer = ByteBuffer.allocate(maxFrameLength).order(ByteOrder.LITTLE_ENDIAN);
        begin();
    }

    public void begin()
    {
        buffer.clear();
        position = FrameDescriptor.HEADER_LENGTH;
        recordCount = 0;
        plainBytes = 0;
        lastSeq = 0;
    }

    public boolean isEmpty()
    {
        return recordCount == 0;
    }

    public int recordCount()
    {
        return recordCount;
    }

    /** Highest seq added since {@link #begin()}. */
    public long lastSeq()
    {
        return lastSeq;
    }

    public int encodedBytes()
    {
        return position;
    }

    /** Whether {@code blocks} blocks of {@code blockSize} fit whatever they compress to. */
    public boolean hasRoomFor(final int blocks, final int blockSize)
    {
        final long worstCase = (long)blocks * (HEADER_LENGTH + BlockCodec.maxEncodedLength(blockSize));
        return position + worstCase <= maxFrameLength && plainBytes + (long)blocks * blockSize <= maxPlainBytes;
    }

    /** Adds one block; the caller checked {@link #hasRoomFor}. {@code src} positions are not changed. */
    public void addBlock(
        final long seq,
        final int volumeIndex,
        final long blockIndex,
        final ByteBuffer src,
        final int srcOffset,
        final int blockSize)
    {
        final int header = position;
        buffer.position(header + HEADER_LENGTH);
        final byte codec = BlockCodec.encode(src, srcOffset, blockSize, buffer);
        final int encodedLength = buffer.position() - header - HEADER_LENGTH;
        buffer.putLong(header + SEQ_OFFSET, seq);
        buffer.putLong(header + BLOCK_INDEX_OFFSET, blockIndex);
        buffer.putShort(header + VOLUME_OFFSET, (short)volumeIndex);
        buffer.put(header + KIND_OFFSET, KIND_BLOCK);
        buffer.put(header + CODEC_OFFSET, codec);
        buffer.putInt(header + ENCODED_LENGTH_OFFSET, encodedLength);
        buffer.putLong(header + HASH_OFFSET, Checksums.xxHash64(src, srcOffset, blockSize));
        position = buffer.position();
        plainBytes += blockSize;
        recordCount++;
        lastSeq = Math.max(lastSeq, seq);
    }

    /**
     * Adds one tree op ({@code length} plain bytes of {@code src} at {@code srcOffset}).
     *
     * @return false if the record does not fit this frame (whatever it compresses to).
     */
    public boolean tryAddTree(final long seq, final int treeIndex, final ByteBuffer src, final int srcOffset, final int length)
    {
        if (position + HEADER_LENGTH + (long)BlockCodec.maxEncodedLength(length) > maxFrameLength ||
            plainBytes + length > maxPlainBytes)
        {
            return false;
        }
        final int header = position;
        buffer.position(header + HEADER_LENGTH);
        final byte codec = BlockCodec.encode(src, srcOffset, length, buffer);
        final int encodedLength = buffer.position() - header - HEADER_LENGTH;
        buffer.putLong(header + SEQ_OFFSET, seq);
        buffer.putLong(header + BLOCK_INDEX_OFFSET, length);
        buffer.putShort(header + VOLUME_OFFSET, (short)treeIndex);
        buffer.put(header + KIND_OFFSET, KIND_TREE);
        buffer.put(header + CODEC_OFFSET, codec);
        buffer.putInt(header + ENCODED_LENGTH_OFFSET, encodedLength);
        buffer.putLong(header + HASH_OFFSET, Checksums.xxHash64(src, srcOffset, length));
        position = buffer.position();
        plainBytes += length;
        recordCount++;
        lastSeq = Math.max(lastSeq, seq);
        return true;
    }

    /** @return false if the record does not fit this frame. */
    public boolean tryAddCheckpoint(final long seq, final long timestampMs, final String label)
    {
        return tryAddCheckpoint(seq, timestampMs, label, 0);
    }

    /** @param flags {@link BlockRecordDescriptor#CHECKPOINT_APP_CONSISTENT} or 0; false if it does not fit. */
    public boolean tryAddCheckpoint(final long seq, final long timestampMs, final String label, final int flags)
    {
        final byte[] bytes = label.getBytes(StandardCharsets.UTF_8);
        if (bytes.length > MAX_LABEL_BYTES)
        {
            throw new IllegalArgumentException("checkpoint label longer than " + MAX_LABEL_BYTES + " bytes");
        }
        if (position + HEADER_LENGTH + bytes.length > maxFrameLength)
        {
            return false;
        }
        final int header = position;
        buffer.putLong(header + SEQ_OFFSET, seq);
        buffer.putLong(header + BLOCK_INDEX_OFFSET, timestampMs);
        buffer.putShort(header + VOLUME_OFFSET, (short)flags);
        buffer.put(header + KIND_OFFSET, KIND_CHECKPOINT);
        buffer.put(header + CODEC_OFFSET, BlockCodec.RAW);
        buffer.putInt(header + ENCODED_LENGTH_OFFSET, bytes.length);
        buffer.putLong(header + HASH_OFFSET, Checksums.xxHash64(bytes, 0, bytes.length));
        buffer.position(header + HEADER_LENGTH);
        buffer.put(bytes);
        position = buffer.position();
        recordCount++;
        lastSeq = Math.max(lastSeq, seq);
        return true;
    }

    /**
     * Completes the frame: header, CRC32C. The returned buffer (position 0, limit frame length) is
     * this encoder's: send it before the next {@link #begin()}.
     */
    public ByteBuffer finish(final MessageType type, final long epoch)
    {
        return Frames.finish(buffer, position, type, epoch, lastSeq, recordCount);
    }
}
