package dev.replicator.core.codec;

import java.nio.ByteBuffer;
import java.util.Random;

/**
 * Block contents for the codec benchmarks, the same bytes in every run: each filler takes a seed.
 * Buffers are direct, page-aligned and touched before use.
 */
public final class BlockData
{
    public static final int PAGE_BYTES = 4096;

    /**
     * Common English words. Picked at random (seeded) they make prose that LZ4 compresses to
     * about half (58% of a 4 KiB block, 51% of 64 KiB), like logs and documents; pages of real
     * database or VM images usually compress less.
     */
    private static final String[] WORDS = {
        "the", "of", "and", "to", "in", "a", "is", "that", "for", "it", "as", "was", "with", "be", "by",
        "on", "not", "he", "this", "are", "or", "his", "from", "at", "which", "but", "have", "an", "had",
        "they", "you", "were", "their", "one", "all", "we", "can", "her", "has", "there", "been", "if",
        "more", "when", "will", "would", "who", "so", "no", "volume", "block", "write", "journal",
        "replica", "target", "image", "checkpoint", "recovery", "primary", "storage", "network",
        "disk", "host", "data", "time", "system", "file", "server", "number", "first", "other",
        "people", "between", "after", "before", "through", "without", "during", "because", "against",
        "however", "another", "several", "something", "important", "available", "management",
    };

    private BlockData()
    {
    }

    /**
     * A page-aligned direct buffer of exactly {@code bytes}, position 0, limit = capacity.
     * {@link ByteBuffer#allocateDirect} zeroes the memory, so every page is touched once here and
     * not first in a measured operation.
     */
    public static ByteBuffer directBuffer(final int bytes)
    {
        final int rounded = (bytes + PAGE_BYTES - 1) / PAGE_BYTES * PAGE_BYTES;
        final ByteBuffer aligned = ByteBuffer.allocateDirect(rounded + PAGE_BYTES).alignedSlice(PAGE_BYTES);
        return aligned.limit(bytes).slice();
    }

    /** Incompressible bytes: LZ4 finds no matches and the codec sends the block raw. */
    public static void fillRandom(final ByteBuffer buffer, final long seed)
    {
        final Random random = new Random(seed);
        final byte[] bytes = new byte[buffer.capacity()];
        random.nextBytes(bytes);
        buffer.duplicate().clear().put(bytes);
    }

    /** Pseudo-English ASCII: sentences of 4 to 16 words, a line break after about every sixth. */
    public static void fillText(final ByteBuffer buffer, final long seed)
    {
        final Random random = new Random(seed);
        final StringBuilder text = new StringBuilder(buffer.capacity() + 64);
        while (text.length() < buffer.capacity())
        {
            final int sentenceWords = 4 + random.nextInt(13);
            for (int i = 0; i < sentenceWords; i++)
            {
                final String word = WORDS[random.nextInt(WORDS.length)];
                if (i == 0)
                {
                    text.append(Character.toUpperCase(word.charAt(0))).append(word, 1, word.length());
                }
                else
                {
                    text.append(' ').append(word);
                }
            }
            text.append(random.nextInt(6) == 0 ? ".\n" : ". ");
        }
        final byte[] bytes = new byte[buffer.capacity()];
        for (int i = 0; i < bytes.length; i++)
        {
            bytes[i] = (byte)text.charAt(i);
        }
        buffer.duplicate().clear().put(bytes);
    }

    /** All zero: what {@link #directBuffer} returns, written again so the intent is explicit. */
    public static void fillZero(final ByteBuffer buffer)
    {
        buffer.duplicate().clear().put(new byte[buffer.capacity()]);
    }

    /**
     * Mixed compressibility, block by block of {@code blockBytes}: random, text, text, zero in turn
     * (a quarter incompressible, half about 2:1, a quarter empty), as a volume of mixed files holds.
     */
    public static void fillMixed(final ByteBuffer buffer, final int blockBytes, final long seed)
    {
        final ByteBuffer block = directBuffer(blockBytes);
        for (int i = 0; i < buffer.capacity() / blockBytes; i++)
        {
            switch (i % 4)
            {
                case 0 -> fillRandom(block, seed + i);
                case 1, 2 -> fillText(block, seed + i);
                default -> fillZero(block);
            }
            buffer.duplicate().clear().position(i * blockBytes).put(block.duplicate().clear());
        }
    }
}
