package dev.replicator.core.wire;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The records of one data frame after every check passed: plain blocks in one staging buffer,
 * record fields in parallel arrays. Reused by its {@link DataFrameDecoder}; valid until the next
 * decode. Not thread-safe.
 */
public final class DecodedBatch
{
    private final ByteBuffer plain;
    private int size;
    private byte[] kinds = new byte[256];
    private long[] seqs = new long[256];
    private int[] volumes = new int[256];
    private long[] blockIndices = new long[256];
    private int[] plainOffsets = new int[256];
    private int[] plainLengths = new int[256];
    private String[] labels = new String[256];

    DecodedBatch(final int maxPlainBytes)
    {
        this.plain = ByteBuffer.allocate(maxPlainBytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    void reset()
    {
        size = 0;
    }

    ByteBuffer plainBuffer()
    {
        return plain;
    }

    void addBlock(final long seq, final int volume, final long blockIndex, final int plainOffset, final int length)
    {
        ensureCapacity();
        kinds[size] = BlockRecordDescriptor.KIND_BLOCK;
        seqs[size] = seq;
        volumes[size] = volume;
        blockIndices[size] = blockIndex;
        plainOffsets[size] = plainOffset;
        plainLengths[size] = length;
        labels[size] = null;
        size++;
    }

    void addTree(final long seq, final int treeIndex, final int plainOffset, final int length)
    {
        ensureCapacity();
        kinds[size] = BlockRecordDescriptor.KIND_TREE;
        seqs[size] = seq;
        volumes[size] = treeIndex;
        blockIndices[size] = 0;
        plainOffsets[size] = plainOffset;
        plainLengths[size] = length;
        labels[size] = null;
        size++;
    }

    void addCheckpoint(final long seq, final long timestampMs, final String label, final int flags)
    {
        ensureCapacity();
        kinds[size] = BlockRecordDescriptor.KIND_CHECKPOINT;
        seqs[size] = seq;
        volumes[size] = flags;
        blockIndices[size] = timestampMs;
        plainLengths[size] = 0;
        labels[size] = label;
        size++;
    }

    public int size()
    {
        return size;
    }

    /** A checkpoint's flags ({@link BlockRecordDescriptor#CHECKPOINT_APP_CONSISTENT}). */
    public int checkpointFlags(final int i)
    {
        return volumes[i];
    }

    public boolean isCheckpoint(final int i)
    {
        return kinds[i] == BlockRecordDescriptor.KIND_CHECKPOINT;
    }

    /** Whether record i is a tree op: {@link #volumeIndex} is the tree's index, {@link #block} the encoded op. */
    public boolean isTree(final int i)
    {
        return kinds[i] == BlockRecordDescriptor.KIND_TREE;
    }

    public long seq(final int i)
    {
        return seqs[i];
    }

    public int volumeIndex(final int i)
    {
        return volumes[i];
    }

    public long blockIndex(final int i)
    {
        return blockIndices[i];
    }

    public long timestampMs(final int i)
    {
        return blockIndices[i];
    }

    public String label(final int i)
    {
        return labels[i];
    }

    /** A view of record i's plain block: position 0, limit = block size. */
    public ByteBuffer block(final int i)
    {
        return plain.duplicate().limit(plainOffsets[i] + plainLengths[i]).position(plainOffsets[i]).slice();
    }

    private void ensureCapacity()
    {
        if (size == kinds.length)
        {
            final int n = size * 2;
            kinds = java.util.Arrays.copyOf(kinds, n);
            seqs = java.util.Arrays.copyOf(seqs, n);
            volumes = java.util.Arrays.copyOf(volumes, n);
            blockIndices = java.util.Arrays.copyOf(blockIndices, n);
            plainOffsets = java.util.Arrays.copyOf(plainOffsets, n);
            plainLengths = java.util.Arrays.copyOf(plainLengths, n);
            labels = java.util.Arrays.copyOf(labels, n);
        }
    }
}
