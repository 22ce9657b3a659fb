package dev.replicator.core.wire;

import dev.replicator.core.codec.BlockCodec;
import dev.replicator.core.codec.Checksums;
import dev.replicator.core.tree.TreeRecordDescriptor;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

import static dev.replicator.core.wire.BlockRecordDescriptor.*;

/**
 * Checks and decodes every record of a data frame before anything is applied: bounds, kind,
 * codec, volume and block ranges, seq order, and the xxHash64 of each decoded block. One bad
 * record rejects the whole frame. Not thread-safe: one decoder per receiving thread.
 */
public final class DataFrameDecoder
{
    private final int[] blockSizes;
    private final long[] blockCounts;
    private final DecodedBatch batch = new DecodedBatch(FrameDescriptor.MAX_PLAIN_BYTES_PER_FRAME);

    /** @param blockSizes block size of each volume of the group, by volume index. */
    public DataFrameDecoder(final int[] blockSizes, final long[] blockCounts)
    {
        this.blockSizes = blockSizes.clone();
        this.blockCounts = blockCounts.clone();
    }

    /**
     * @param afterSeq records must have seqs above this and non-decreasing (one entry may hold
     *                 several blocks with one seq).
     * @throws CorruptFrameException if any check fails.
     */
    public DecodedBatch decode(final Frame frame, final long afterSeq) throws CorruptFrameException
    {
        batch.reset();
        final ByteBuffer body = frame.body();
        final ByteBuffer plain = batch.plainBuffer();
        final int count = frame.count();
        final int end = body.limit();
        if (count < 0)
        {
            throw new CorruptFrameException("frame claims a negative record count " + count);
        }
        int offset = 0;
        int plainOffset = 0;
        long previousSeq = afterSeq;
        for (int i = 0; i < count; i++)
        {
            if (offset + HEADER_LENGTH > end)
            {
                throw new CorruptFrameException("record " + i + " of " + count + " runs past the frame");
            }
            final long seq = body.getLong(offset + SEQ_OFFSET);
            final long blockIndex = body.getLong(offset + BLOCK_INDEX_OFFSET);
            final int volume = body.getShort(offset + VOLUME_OFFSET) & 0xFFFF;
            final byte kind = body.get(offset + KIND_OFFSET);
            final byte codec = body.get(offset + CODEC_OFFSET);
            final int encodedLength = body.getInt(offset + ENCODED_LENGTH_OFFSET);
            final long hash = body.getLong(offset + HASH_OFFSET);
            final int payload = offset + HEADER_LENGTH;
            if (encodedLength < 0 || payload + (long)encodedLength > end)
            {
                throw new CorruptFrameException("record " + i + " payload of " + encodedLength + " bytes runs past the frame");
            }
            if (seq <= afterSeq || seq < previousSeq)
            {
                throw new CorruptFrameException("record " + i + " seq " + seq + " is out of order (after " + previousSeq + ")");
            }
            previousSeq = seq;
            if (kind == KIND_BLOCK)
            {
                if (volume >= blockSizes.length)
                {
                    throw new CorruptFrameException("record " + i + " names volume " + volume + " of " + blockSizes.length);
                }
                if (blockIndex < 0 || blockIndex >= blockCounts[volume])
                {
                    throw new CorruptFrameException("record " + i + " block " + blockIndex + " is outside the volume");
                }
                final int blockSize = blockSizes[volume];
                if (plainOffset + blockSize > plain.capacity())
                {
                    throw new CorruptFrameException("frame decodes to more than " + plain.capacity() + " bytes");
                }
                try
                {
                    BlockCodec.decode(codec, body, payload, encodedLength, plain, plainOffset, blockSize);
                }
                catch (final IllegalArgumentException ex)
                {
                    throw new CorruptFrameException("record " + i + ": " + ex.getMessage(), ex);
                }
                if (Checksums.xxHash64(plain, plainOffset, blockSize) != hash)
                {
                    throw new CorruptFrameException("record " + i + " (volume " + volume + ", block " + blockIndex +
                        ") fails its xxHash64");
                }
                batch.addBlock(seq, volume, blockIndex, plainOffset, blockSize);
                plainOffset += blockSize;
            }
            else if (kind == KIND_CHECKPOINT)
            {
                if (encodedLength > MAX_LABEL_BYTES)
                {
                    throw new CorruptFrameException("record " + i + " checkpoint label of " + encodedLength + " bytes");
                }
                final byte[] label = new byte[encodedLength];
                body.get(payload, label);
                if (Checksums.xxHash64(label, 0, label.length) != hash)
                {
                    throw new CorruptFrameException("record " + i + " checkpoint label fails its xxHash64");
                }
                batch.addCheckpoint(seq, blockIndex, new String(label, StandardCharsets.UTF_8), volume);
            }
            else if (kind == KIND_TREE)
            {
                if (blockIndex < TreeRecordDescriptor.HEADER_LENGTH || plainOffset + blockIndex > plain.capacity())
                {
                    throw new CorruptFrameException("record " + i + " tree op of " + blockIndex + " plain bytes");
                }
                final int length = (int)blockIndex;
                try
                {
                    BlockCodec.decode(codec, body, payload, encodedLength, plain, plainOffset, length);
                }
                catch (final IllegalArgumentException ex)
                {
                    throw new CorruptFrameException("record " + i + ": " + ex.getMessage(), ex);
                }
                if (Checksums.xxHash64(plain, plainOffset, length) != hash)
                {
                    throw new CorruptFrameException("record " + i + " (tree " + volume + ") fails its xxHash64");
                }
                batch.addTree(seq, volume, plainOffset, length);
                plainOffset += length;
            }
            else
            {
                throw new CorruptFrameException("record " + i + " has unknown kind " + kind);
            }
            offset = payload + encodedLength;
        }
        if (offset != end)
        {
            throw new CorruptFrameException("frame has " + (end - offset) + " bytes after its " + count + " records");
        }
        if (count > 0 && previousSeq != frame.seq())
        {
            throw new CorruptFrameException("frame seq " + frame.seq() + " differs from its last record's " + previousSeq);
        }
        return batch;
    }
}
