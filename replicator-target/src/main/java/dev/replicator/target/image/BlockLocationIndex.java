package dev.replicator.target.image;

import java.util.Arrays;

/**
 * Block index to undo record location (segment ordinal, file position) for one volume of one image:
 * open addressing over primitive arrays, because an image of an old checkpoint may override millions
 * of blocks and a boxed map would cost several times the memory. 16 bytes per slot, load at most 1/2.
 *
 * <p>Block indices are unsigned 32-bit values below {@code 0xFFFFFFFF}, so that value (-1 as an int)
 * marks an empty slot. Not thread-safe: owned by one image view.
 */
final class BlockLocationIndex
{
    private static final int EMPTY = -1;
    private static final int INITIAL_CAPACITY = 16;
    private static final int MAX_CAPACITY = 1 << 30;

    private int[] keys;
    private int[] segmentOrdinals;
    private long[] positions;
    private int mask;
    private int size;

    BlockLocationIndex()
    {
        allocate(INITIAL_CAPACITY);
    }

    int size()
    {
        return size;
    }

    /** Adds or replaces the location of {@code blockIndex}. */
    void put(final long blockIndex, final int segmentOrdinal, final long position)
    {
        if ((size + 1) * 2 > keys.length)
        {
            grow();
        }
        final int key = (int)blockIndex;
        int slot = hash(key) & mask;
        while (keys[slot] != EMPTY && keys[slot] != key)
        {
            slot = (slot + 1) & mask;
        }
        if (keys[slot] == EMPTY)
        {
            keys[slot] = key;
            size++;
        }
        segmentOrdinals[slot] = segmentOrdinal;
        positions[slot] = position;
    }

    /** The slot holding {@code blockIndex}, or -1. */
    int slotOf(final long blockIndex)
    {
        final int key = (int)blockIndex;
        int slot = hash(key) & mask;
        while (true)
        {
            final int found = keys[slot];
            if (found == key)
            {
                return slot;
            }
            if (found == EMPTY)
            {
                return -1;
            }
            slot = (slot + 1) & mask;
        }
    }

    int segmentOrdinalAt(final int slot)
    {
        return segmentOrdinals[slot];
    }

    long positionAt(final int slot)
    {
        return positions[slot];
    }

    private void grow()
    {
        final int[] oldKeys = keys;
        final int[] oldSegments = segmentOrdinals;
        final long[] oldPositions = positions;
        if (oldKeys.length == MAX_CAPACITY)
        {
            throw new ImageStoreException("an image overrides more than " + (MAX_CAPACITY / 2) +
                " blocks of one volume; open a newer image or materialize it in parts");
        }
        allocate(oldKeys.length * 2);
        size = 0;
        for (int i = 0; i < oldKeys.length; i++)
        {
            if (oldKeys[i] != EMPTY)
            {
                put(Integer.toUnsignedLong(oldKeys[i]), oldSegments[i], oldPositions[i]);
            }
        }
    }

    private void allocate(final int capacity)
    {
        keys = new int[capacity];
        Arrays.fill(keys, EMPTY);
        segmentOrdinals = new int[capacity];
        positions = new long[capacity];
        mask = capacity - 1;
    }

    private static int hash(final int key)
    {
        // Fibonacci hashing spreads runs of adjacent blocks (the common case) over the table.
        final int h = key * 0x9E3779B9;
        return h ^ (h >>> 16);
    }
}
