package dev.replicator.core.scan;

import dev.replicator.core.volume.VolumeChannel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class FingerprintScannerTest
{
    private static final int BLOCK = 4096;
    private static final int BLOCKS = 1024;

    @TempDir
    Path dir;

    private record Run(long firstBlock, int blocks)
    {
    }

    private static class RecordingSink implements FingerprintScanner.ChangeSink
    {
        final List<Run> runs = new ArrayList<>();
        int durableCalls;
        boolean failOnDurable;

        @Override
        public void onChangedRun(final long firstBlock, final ByteBuffer blocks, final int offset, final int length)
        {
            assertThat(length % BLOCK).isZero();
            runs.add(new Run(firstBlock, length / BLOCK));
        }

        @Override
        public void makeDurable() throws IOException
        {
            durableCalls++;
            if (failOnDurable)
            {
                throw new IOException("disk gone");
            }
        }

        TreeSet<Long> blocks()
        {
            final TreeSet<Long> set = new TreeSet<>();
            for (final Run run : runs)
            {
                for (int i = 0; i < run.blocks(); i++)
                {
                    set.add(run.firstBlock() + i);
                }
            }
            return set;
        }
    }

    private static void write(final VolumeChannel volume, final long block, final byte value) throws IOException
    {
        final ByteBuffer data = ByteBuffer.allocate(BLOCK);
        while (data.hasRemaining())
        {
            data.put(value);
        }
        volume.writeBlocks(block, data.flip());
    }

    @Test
    void shouldReportExactlyTheChangedBlocksInRunsAndNotAgain() throws IOException
    {
        try (VolumeChannel volume = VolumeChannel.createSparse(dir.resolve("v"), (long)BLOCKS * BLOCK, BLOCK);
             FingerprintTable table = FingerprintTable.openOrCreate(dir.resolve("v.fp"), BLOCKS, BLOCK))
        {
            final FingerprintScanner scanner = new FingerprintScanner(volume, table, 8 * BLOCK, 1 << 20);
            final RecordingSink empty = new RecordingSink();
            assertThat(scanner.scan(empty)).as("a zero volume matches a fresh table").isZero();
            assertThat(empty.runs).isEmpty();

            final TreeSet<Long> written = new TreeSet<>();
            final Random random = new Random(3);
            for (int i = 0; i < 100; i++)
            {
                final long block = random.nextInt(BLOCKS);
                write(volume, block, (byte)(1 + random.nextInt(250)));
                written.add(block);
            }
            for (long b = 500; b < 520; b++)
            {
                write(volume, b, (byte)7);
                written.add(b);
            }
            final RecordingSink sink = new RecordingSink();
            assertThat(scanner.scan(sink)).isEqualTo(written.size());
            assertThat(sink.blocks()).isEqualTo(written);
            assertThat(sink.runs).allSatisfy(run -> assertThat(run.blocks()).isBetween(1, 8));
            assertThat(sink.durableCalls).isGreaterThanOrEqualTo(1);

            final RecordingSink again = new RecordingSink();
            assertThat(scanner.scan(again)).as("nothing changed since").isZero();
        }
    }

    @Test
    void shouldSkipHolesYetReportABlockTheTableSaysIsNotZeroThere() throws IOException
    {
        try (VolumeChannel volume = VolumeChannel.createSparse(dir.resolve("v"), (long)BLOCKS * BLOCK, BLOCK);
             FingerprintTable table = FingerprintTable.openOrCreate(dir.resolve("v.fp"), BLOCKS, BLOCK))
        {
            write(volume, 300, (byte)3);
            try (dev.replicator.core.volume.HoleProbe regions = dev.replicator.core.volume.HoleProbe.open(dir.resolve("v")))
            {
                assertThat(regions.nextData(0)).as("SEEK_DATA finds the only data").isEqualTo(300L * BLOCK);
                // createSparse writes the last byte: the last block is data (zeros), the rest a hole.
                assertThat(regions.nextData(301L * BLOCK)).as("a hole follows").isEqualTo((BLOCKS - 1L) * BLOCK);
            }
            // The table says block 900 held data (a block since punched out): the hole is not read, but
            // the block is reported, as zeros.
            table.set(900, 12345L);
            final List<byte[]> contents = new ArrayList<>();
            final RecordingSink sink = new RecordingSink()
            {
                @Override
                public void onChangedRun(final long firstBlock, final ByteBuffer blocks, final int offset,
                    final int length)
                {
                    super.onChangedRun(firstBlock, blocks, offset, length);
                    final byte[] bytes = new byte[length];
                    blocks.duplicate().position(offset).get(bytes);
                    contents.add(bytes);
                }
            };
            final FingerprintScanner scanner = new FingerprintScanner(volume, table, 8 * BLOCK, 1 << 20);
            assertThat(scanner.scan(sink)).isEqualTo(2);
            assertThat(sink.blocks()).containsExactly(300L, 900L);
            assertThat(contents.get(0)[0]).isEqualTo((byte)3);
            assertThat(contents.get(1)).containsOnly((byte)0);
        }
    }

    @Test
    void shouldReportChangesAgainWhenTheyWereNeverMadeDurable() throws IOException
    {
        try (VolumeChannel volume = VolumeChannel.createSparse(dir.resolve("v"), (long)BLOCKS * BLOCK, BLOCK);
             FingerprintTable table = FingerprintTable.openOrCreate(dir.resolve("v.fp"), BLOCKS, BLOCK))
        {
            final FingerprintScanner scanner = new FingerprintScanner(volume, table, 8 * BLOCK, 1 << 20);
            write(volume, 42, (byte)1);
            final RecordingSink failing = new RecordingSink();
            failing.failOnDurable = true;
            assertThatThrownBy(() -> scanner.scan(failing)).hasMessage("disk gone");
            final RecordingSink retry = new RecordingSink();
            assertThat(scanner.scan(retry)).as("the table never ran ahead of the sink").isEqualTo(1);
            assertThat(retry.blocks()).containsExactly(42L);
        }
    }

    @Test
    void shouldKeepTheTableAcrossReopenAndRefuseAnotherGeometry() throws IOException
    {
        final Path tablePath = dir.resolve("v.fp");
        try (VolumeChannel volume = VolumeChannel.createSparse(dir.resolve("v"), (long)BLOCKS * BLOCK, BLOCK))
        {
            write(volume, 9, (byte)9);
            try (FingerprintTable table = FingerprintTable.openOrCreate(tablePath, BLOCKS, BLOCK))
            {
                assertThat(new FingerprintScanner(volume, table, 8 * BLOCK, 1 << 20).scan(new RecordingSink()))
                    .isEqualTo(1);
            }
            try (FingerprintTable table = FingerprintTable.openOrCreate(tablePath, BLOCKS, BLOCK))
            {
                assertThat(new FingerprintScanner(volume, table, 8 * BLOCK, 1 << 20).scan(new RecordingSink()))
                    .as("remembered across reopen").isZero();
            }
        }
        assertThatThrownBy(() -> FingerprintTable.openOrCreate(tablePath, BLOCKS * 2L, BLOCK))
            .isInstanceOf(IOException.class).hasMessageContaining("expected");
    }
}
