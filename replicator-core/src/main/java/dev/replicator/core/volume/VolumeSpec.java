package dev.replicator.core.volume;

import java.nio.file.Path;
import java.util.Objects;

/**
 * A replicated unit as configured: a name unique within its group, where its bytes live, its size
 * and its block size. Immutable and thread-safe.
 *
 * <p>Block indices are unsigned 32-bit values (bitmaps are 32-bit Roaring bitmaps), so a volume
 * holds at most 2^32 - 1 blocks: 16 TiB at 4 KiB blocks.
 */
public record VolumeSpec(String name, Path path, long sizeBytes, int blockSize)
{
    public static final int DEFAULT_BLOCK_SIZE = 4096;
    public static final int MIN_BLOCK_SIZE = 512;
    public static final int MAX_BLOCK_SIZE = 1024 * 1024;
    public static final long MAX_BLOCKS = 0xFFFF_FFFFL;

    public VolumeSpec
    {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(path, "path");
        if (!isValidName(name))
        {
            throw new IllegalArgumentException(
                "volume name '" + name + "' must be 1-64 characters of letters, digits, '.', '_' or '-'");
        }
        if (blockSize < MIN_BLOCK_SIZE || blockSize > MAX_BLOCK_SIZE || Integer.bitCount(blockSize) != 1)
        {
            throw new IllegalArgumentException(
                "volume '" + name + "': block size " + blockSize + " must be a power of two from 512 to 1048576");
        }
        if (sizeBytes <= 0 || sizeBytes % blockSize != 0)
        {
            throw new IllegalArgumentException(
                "volume '" + name + "': size " + sizeBytes + " bytes must be a positive multiple of the block size " +
                blockSize);
        }
        if (sizeBytes / blockSize > MAX_BLOCKS)
        {
            throw new IllegalArgumentException(
                "volume '" + name + "': " + (sizeBytes / blockSize) + " blocks exceed the limit of " + MAX_BLOCKS);
        }
    }

    public long blockCount()
    {
        return sizeBytes / blockSize;
    }

    public long offsetOf(final long blockIndex)
    {
        return blockIndex * blockSize;
    }

    /** Names travel in frames, file names and CLI arguments: keep them boring. */
    public static boolean isValidName(final String name)
    {
        if (name == null || name.isEmpty() || name.length() > 64)
        {
            return false;
        }
        for (int i = 0; i < name.length(); i++)
        {
            final char c = name.charAt(i);
            final boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '.' || c == '_' || c == '-';
            if (!ok)
            {
                return false;
            }
        }
        return !name.equals(".") && !name.equals("..");
    }
}
