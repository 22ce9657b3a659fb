package dev.replicator.target.image;

import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * Block writes received but not yet written to the replicas: their seq, volume, block and a copy of
 * the plain bytes, in arrival order. Arrays and one growing direct buffer, reused from batch to batch.
 * Writer thread only; not thread-safe.
 */
final class PendingWrites
{
    private static final int INITIAL_WRITES = 256;
    private static final int INITIAL_DATA_BYTES = 1 << 20;

    private long[] seqs = new long[INITIAL_WRITES];
    private int[] volumeIndexes = new int[INITIAL_WRITES];
    private long[] blockIndexes = new long[INITIAL_WRITES];
    private int[] dataOffsets = new int[INITIAL_WRITES];
    private ByteBuffer data = ByteBuffer.allocateDirect(INITIAL_DATA_BYTES);
    private int count;
    private long maxSeq;

    int count()
    {
        return count;
    }

    boolean isEmpty()
    {
        return count == 0;
    }

    int dataBytes()
    {
        return data.position();
    }

    /** Highest seq among the pending writes, 0 if none. */
    long maxSeq()
    {
        return maxSeq;
    }

    /** Copies {@code blockSize} bytes of {@code plain} from its position; the position does not move. */
    void add(final long seq, final int volumeIndex, final long blockIndex, final ByteBuffer plain, final int blockSize)
    {
        if (count == seqs.length)
        {
            final int capacity = count * 2;
            seqs = Arrays.copyOf(seqs, capacity);
            volumeIndexes = Arrays.copyOf(volumeIndexes, capacity);
            blockIndexes = Arrays.copyOf(blockIndexes, capacity);
            dataOffsets = Arrays.copyOf(dataOffsets, capacity);
        }
        if (data.remaining() < blockSize)
        {
            final ByteBuffer bigger = ByteBuffer.allocateDirect(Math.max(data.capacity() * 2, data.position() + blockSize));
            data.flip();
            bigger.put(data);
            data = bigger;
        }
        seqs[count] = seq;
        volumeIndexes[count] = volumeIndex;
        blockIndexes[count] = blockIndex;
        dataOffsets[count] = data.position();
        final ByteBuffer source = plain.duplicate();
        source.limit(source.position() + blockSize);
        data.put(source);
        maxSeq = Math.max(maxSeq, seq);
        count++;
    }

    long seq(final int i)
    {
        return seqs[i];
    }

    int volumeIndex(final int i)
    {
        return volumeIndexes[i];
    }

    long blockIndex(final int i)
    {
        return blockIndexes[i];
    }

    int dataOffset(final int i)
    {
        return dataOffsets[i];
    }

    /** The buffer holding every pending block; index it with {@link #dataOffset}. */
    ByteBuffer data()
    {
        return data;
    }

    void clear()
    {
        count = 0;
        maxSeq = 0;
        data.clear();
    }
}
