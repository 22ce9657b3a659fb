package dev.replicator.target.image;

import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

class BlockLocationIndexTest
{
    @Test
    void findsEveryBlockPutThroughGrowthAndNoOther()
    {
        final BlockLocationIndex index = new BlockLocationIndex();
        final Map<Long, Long> expected = new HashMap<>();
        final Random random = new Random(1);
        for (int i = 0; i < 50_000; i++)
        {
            final long block = i % 3 == 0 ? i : Integer.toUnsignedLong(random.nextInt()) % 0xFFFF_FFFFL;
            if (!expected.containsKey(block))
            {
                expected.put(block, (long)i * 31);
                index.put(block, i % 7, (long)i * 31);
            }
        }
        index.put(0xFFFF_FFFEL, 3, 99);
        expected.put(0xFFFF_FFFEL, 99L);

        assertThat(index.size()).isEqualTo(expected.size());
        for (final Map.Entry<Long, Long> entry : expected.entrySet())
        {
            final int slot = index.slotOf(entry.getKey());
            assertThat(slot).as("block %d", entry.getKey()).isNotNegative();
            assertThat(index.positionAt(slot)).isEqualTo(entry.getValue());
        }
        assertThat(index.slotOf(1)).isNegative();
        assertThat(index.slotOf(0xFFFF_FFFDL)).isNegative();
    }
}
