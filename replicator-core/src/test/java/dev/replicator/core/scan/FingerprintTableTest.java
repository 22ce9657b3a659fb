package dev.replicator.core.scan;

import dev.replicator.core.codec.Checksums;
import dev.replicator.core.volume.HoleProbe;
import dev.replicator.core.volume.VolumeChannel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

class FingerprintTableTest
{
    private static final int BLOCK = 4096;
    /** 8 MiB of entries: a 4 GiB volume. */
    private static final long BLOCKS = 1 << 20;
    private static final long ZERO = Checksums.zeroBlockFingerprint(BLOCK);

    @TempDir
    Path dir;

    @Test
    void newTableIsAHoleThatReadsAsTheZeroBlockFingerprint() throws IOException
    {
        final Path path = dir.resolve("v.fp");
        try (FingerprintTable table = FingerprintTable.openOrCreate(path, BLOCKS, BLOCK))
        {
            assertThat(table.get(0)).isEqualTo(ZERO);
            assertThat(table.get(BLOCKS - 1)).isEqualTo(ZERO);
            assertThat(table.isAllZero(0, BLOCKS)).isTrue();
        }
        assertThat(dataBytesAfterHeader(path)).as("nothing but the header and the last byte was written").isZero();
    }

    @Test
    void everyFingerprintRoundTripsAndOnlyTheZeroBlockIsStoredAsZero() throws IOException
    {
        final Path path = dir.resolve("v.fp");
        try (FingerprintTable table = FingerprintTable.openOrCreate(path, BLOCKS, BLOCK))
        {
            table.set(10, 0L);
            table.set(700_000, 42L);
            table.set(700_001, ZERO);
            assertThat(table.get(10)).as("a content whose xxHash64 is 0").isZero();
            assertThat(table.get(700_000)).isEqualTo(42L);
            assertThat(table.get(700_001)).isEqualTo(ZERO);
            assertThat(table.isAllZero(0, 10)).isTrue();
            assertThat(table.isAllZero(0, 11)).isFalse();
            assertThat(table.isAllZero(11, 700_000)).isTrue();
            assertThat(table.isAllZero(700_000, 700_001)).isFalse();
            assertThat(table.isAllZero(700_001, BLOCKS)).isTrue();
            final long[] bulk = new long[700_010];
            table.get(5, bulk, bulk.length - 5);
            for (int i = 0; i < bulk.length - 5; i++)
            {
                assertThat(bulk[i]).as("block %d", 5 + i).isEqualTo(table.get(5 + i));
            }
            table.force();
        }
        try (FingerprintTable table = FingerprintTable.openOrCreate(path, BLOCKS, BLOCK))
        {
            assertThat(table.get(10)).isZero();
            assertThat(table.get(700_000)).isEqualTo(42L);
            assertThat(table.get(9)).isEqualTo(ZERO);
        }
    }

    @Test
    void shouldUpgradeAFilledVersionOneTableToASparseOne() throws IOException
    {
        final long seed = System.nanoTime();
        System.out.println("FingerprintTableTest seed=" + seed);
        final Random random = new Random(seed);
        final Path path = dir.resolve("v.fp");
        final Map<Long, Long> expected = new HashMap<>();
        for (int i = 0; i < 200; i++)
        {
            // Set entries only in the first 64 blocks' pages and the last ones: everything between
            // is the zero fingerprint and must come out as a hole.
            final long block = random.nextBoolean() ? random.nextInt(4096) : BLOCKS - 1 - random.nextInt(4096);
            expected.put(block, random.nextInt(10) == 0 ? 0L : random.nextLong());
        }
        writeVersionOne(path, expected);

        try (FingerprintTable table = FingerprintTable.openOrCreate(path, BLOCKS, BLOCK))
        {
            for (long b = 0; b < BLOCKS; b += 997)
            {
                assertThat(table.get(b)).isEqualTo(expected.getOrDefault(b, ZERO));
            }
            for (final Map.Entry<Long, Long> entry : expected.entrySet())
            {
                assertThat(table.get(entry.getKey())).isEqualTo(entry.getValue());
            }
            assertThat(table.isAllZero(8192, BLOCKS - 8192)).isTrue();
        }
        final ByteBuffer magic = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ))
        {
            channel.read(magic, 0);
        }
        assertThat(magic.getInt(0)).isEqualTo(FingerprintTable.MAGIC);
        assertThat(dataBytesAfterHeader(path)).as("the all-zero middle is a hole")
            .isLessThan(BLOCKS * 8 / 4);
        assertThat(Files.exists(path.resolveSibling("v.fp.upgrade"))).isFalse();
    }

    @Test
    void scanSkipsHolesButReportsABlockThatBecameAHole() throws IOException
    {
        final long blocks = 16_384;
        final Path volumePath = dir.resolve("v");
        try (VolumeChannel volume = VolumeChannel.createSparse(volumePath, blocks * BLOCK, BLOCK);
             FingerprintTable table = FingerprintTable.openOrCreate(dir.resolve("v.fp"), blocks, BLOCK))
        {
            final FingerprintScanner scanner = new FingerprintScanner(volume, table, 8 * BLOCK, 1 << 20);
            final ByteBuffer data = ByteBuffer.allocate(BLOCK);
            new Random(5).nextBytes(data.array());
            volume.writeBlocks(3, data.duplicate());
            volume.writeBlocks(16_000, data.duplicate());
            final long[] reported = new long[1];
            final FingerprintScanner.ChangeSink sink = new FingerprintScanner.ChangeSink()
            {
                @Override
                public void onChangedRun(final long firstBlock, final ByteBuffer run, final int offset, final int length)
                {
                    reported[0] += length / BLOCK;
                }

                @Override
                public void makeDurable()
                {
                }
            };
            assertThat(scanner.scan(sink)).isEqualTo(2);
            assertThat(table.get(16_000)).isEqualTo(Checksums.xxHash64(data.duplicate()));

            // Block 16,000 becomes a hole (the file cut short and grown back): zeros, and a change.
            volume.channel().truncate(15_000L * BLOCK);
            volume.channel().write(ByteBuffer.allocate(1), blocks * BLOCK - 1);
            reported[0] = 0;
            assertThat(scanner.scan(sink)).isEqualTo(1);
            assertThat(reported[0]).isEqualTo(1);
            assertThat(table.get(16_000)).isEqualTo(ZERO);
            assertThat(scanner.scan(sink)).as("nothing changed since").isZero();
        }
    }

    /** Bytes of data (in 4 KiB pages) between the header's page and the page of the file's last byte. */
    private static long dataBytesAfterHeader(final Path path) throws IOException
    {
        final long end = (Files.size(path) - 1) / 4096 * 4096;
        long data = 0;
        try (HoleProbe probe = HoleProbe.open(path))
        {
            assertThat(probe.seesHoles()).as("this file system reports holes").isTrue();
            long position = 4096;
            while (position < end)
            {
                final long next = probe.nextData(position);
                if (next >= end)
                {
                    break;
                }
                data += 4096;
                position = next / 4096 * 4096 + 4096;
            }
        }
        return data;
    }

    private static void writeVersionOne(final Path path, final Map<Long, Long> entries) throws IOException
    {
        final ByteBuffer chunk = ByteBuffer.allocate(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE))
        {
            final ByteBuffer header = ByteBuffer.allocate(FingerprintTable.HEADER_LENGTH).order(ByteOrder.LITTLE_ENDIAN);
            header.putInt(0, FingerprintTable.MAGIC_V1).putInt(4, BLOCK).putLong(8, BLOCKS);
            channel.write(header, 0);
            for (long first = 0; first < BLOCKS; first += chunk.capacity() / 8)
            {
                for (int i = 0; i < chunk.capacity() / 8; i++)
                {
                    chunk.putLong(i * 8, entries.getOrDefault(first + i, ZERO));
                }
                chunk.clear();
                while (chunk.hasRemaining())
                {
                    channel.write(chunk, FingerprintTable.HEADER_LENGTH + first * 8 + chunk.position());
                }
            }
        }
    }
}
