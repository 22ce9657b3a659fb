package dev.replicator.cli;

import java.util.SplittableRandom;

/** Pseudo-English for benchmark blocks: LZ4 compresses it to about half, like logs and documents. */
final class BenchText
{
    private static final String[] WORDS = {
        "the", "of", "and", "to", "in", "a", "is", "that", "for", "it", "as", "was", "with", "be", "by",
        "on", "not", "this", "are", "or", "from", "at", "which", "but", "have", "an", "they", "you",
        "volume", "block", "write", "journal", "replica", "target", "image", "checkpoint", "recovery",
        "primary", "storage", "network", "disk", "host", "data", "time", "system", "file", "server",
        "between", "after", "before", "through", "without", "during", "because", "important", "available",
    };

    private BenchText()
    {
    }

    static void fill(final byte[] block, final SplittableRandom random)
    {
        int i = 0;
        while (i < block.length)
        {
            final String word = WORDS[random.nextInt(WORDS.length)];
            for (int c = 0; c < word.length() && i < block.length; c++)
            {
                block[i++] = (byte)word.charAt(c);
            }
            if (i < block.length)
            {
                block[i++] = (byte)(random.nextInt(12) == 0 ? '\n' : ' ');
            }
        }
    }
}
