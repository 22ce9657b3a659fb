package dev.replicator.core.bitmap;

import org.roaringbitmap.IntIterator;
import org.roaringbitmap.RoaringBitmap;

import java.io.DataInputStream;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * One bit per block of a volume: the changed-block bitmap. Block indices are unsigned 32-bit
 * (see {@link dev.replicator.core.volume.VolumeSpec#MAX_BLOCKS}). Backed by a Roaring bitmap, so
 * runs of changed blocks cost a few bytes and a 16M-block volume with 1% changed costs ~100 KiB.
 *
 * <p>Not thread-safe: one writer, and readers only after a hand-off.
 */
public final class BlockBitmap
{
    private final RoaringBitmap bits;

    public BlockBitmap()
    {
        this(new RoaringBitmap());
    }

    private BlockBitmap(final RoaringBitmap bits)
    {
        this.bits = bits;
    }

    public void set(final long blockIndex)
    {
        bits.add((int)blockIndex);
    }

    public void setRange(final long fromBlock, final long toBlockExclusive)
    {
        bits.add(fromBlock, toBlockExclusive);
    }

    public boolean get(final long blockIndex)
    {
        return bits.contains((int)blockIndex);
    }

    public void clear(final long blockIndex)
    {
        bits.remove((int)blockIndex);
    }

    public void clearRange(final long fromBlock, final long toBlockExclusive)
    {
        bits.remove(fromBlock, toBlockExclusive);
    }

    /** The first block set at or after {@code fromBlock}, or -1. */
    public long nextSet(final long fromBlock)
    {
        return fromBlock > Integer.MAX_VALUE ? -1 : bits.nextValue((int)fromBlock);
    }

    /** The first block not set at or after {@code fromBlock}. */
    public long nextAbsent(final long fromBlock)
    {
        return bits.nextAbsentValue((int)fromBlock);
    }

    /** Number of blocks set. */
    public long cardinality()
    {
        return bits.getLongCardinality();
    }

    public boolean isEmpty()
    {
        return bits.isEmpty();
    }

    /** In-place union: this |= other. */
    public BlockBitmap or(final BlockBitmap other)
    {
        bits.or(other.bits);
        return this;
    }

    /** In-place difference: this &= ~other. */
    public BlockBitmap andNot(final BlockBitmap other)
    {
        bits.andNot(other.bits);
        return this;
    }

    public BlockBitmap copy()
    {
        return new BlockBitmap(bits.clone());
    }

    /** Iterates set blocks in ascending order; the callback receives the unsigned block index. */
    public void forEach(final BlockConsumer consumer)
    {
        final IntIterator it = bits.getIntIterator();
        while (it.hasNext())
        {
            consumer.accept(Integer.toUnsignedLong(it.next()));
        }
    }

    /** A cursor over set blocks in ascending order, for loops that must throw checked exceptions. */
    public Cursor cursor()
    {
        return new Cursor(bits.getIntIterator());
    }

    /** Roaring's portable serialization; does not change this bitmap. */
    public byte[] toBytes()
    {
        final byte[] bytes = new byte[bits.serializedSizeInBytes()];
        bits.serialize(ByteBuffer.wrap(bytes));
        return bytes;
    }

    /** Converts runs to run containers: smaller in memory and on disk for clustered changes. */
    public void optimize()
    {
        bits.runOptimize();
    }

    /** @throws IllegalArgumentException if the bytes are not a serialized bitmap. */
    public static BlockBitmap fromBytes(final byte[] bytes)
    {
        final RoaringBitmap bits = new RoaringBitmap();
        try
        {
            bits.deserialize(ByteBuffer.wrap(bytes));
        }
        catch (final IOException | RuntimeException ex)
        {
            throw new IllegalArgumentException("not a serialized block bitmap: " + ex.getMessage(), ex);
        }
        return new BlockBitmap(bits);
    }

    static BlockBitmap read(final DataInputStream in) throws IOException
    {
        final RoaringBitmap bits = new RoaringBitmap();
        bits.deserialize(in);
        return new BlockBitmap(bits);
    }

    @Override
    public boolean equals(final Object o)
    {
        return o instanceof BlockBitmap && ((BlockBitmap)o).bits.equals(bits);
    }

    @Override
    public int hashCode()
    {
        return bits.hashCode();
    }

    @Override
    public String toString()
    {
        return "BlockBitmap{cardinality=" + cardinality() + "}";
    }

    /** Receives unsigned block indices. */
    @FunctionalInterface
    public interface BlockConsumer
    {
        void accept(long blockIndex);
    }

    /** Ascending iteration without a callback. */
    public static final class Cursor
    {
        private final IntIterator it;

        private Cursor(final IntIterator it)
        {
            this.it = it;
        }

        public boolean hasNext()
        {
            return it.hasNext();
        }

        public long next()
        {
            return Integer.toUnsignedLong(it.next());
        }
    }
}
