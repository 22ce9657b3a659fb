package dev.replicator.target.image;

import dev.replicator.core.codec.Checksums;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** A catalog written before checkpoints had a consistency reads as crash-consistent and is upgraded. */
class CheckpointCatalogVersionTest
{
    @TempDir
    Path dir;

    @Test
    void aVersionOneCatalogReadsAsCrashConsistentAndIsRewrittenAsVersionTwo() throws Exception
    {
        final Path path = dir.resolve("checkpoints.catalog");
        final ByteBuffer v1 = ByteBuffer.allocate(256);
        v1.putInt(0, CheckpointCatalogDescriptor.MAGIC).putInt(4, CheckpointCatalogDescriptor.VERSION_1);
        int offset = CheckpointCatalogDescriptor.FILE_HEADER_LENGTH;
        offset += versionOneRecord(v1, offset, 10, 1000, 5, "first");
        offset += versionOneRecord(v1, offset, 20, 2000, 7, "second");
        Files.write(path, java.util.Arrays.copyOf(v1.array(), offset));

        try (CheckpointCatalog catalog = CheckpointCatalog.openOrCreate(path))
        {
            assertThat(catalog.checkpoints()).containsExactly(
                new Checkpoint(10, 1000, "first", 5, false), new Checkpoint(20, 2000, "second", 7, false));
            catalog.truncateTornTail();
            catalog.append(new Checkpoint(30, 3000, "quiesced", 2, true));
        }
        assertThat(ByteBuffer.wrap(Files.readAllBytes(path)).getInt(4)).isEqualTo(CheckpointCatalogDescriptor.VERSION);
        try (CheckpointCatalog catalog = CheckpointCatalog.openOrCreate(path))
        {
            assertThat(catalog.invalidTailBytes()).isZero();
            assertThat(catalog.checkpoints()).containsExactly(
                new Checkpoint(10, 1000, "first", 5, false), new Checkpoint(20, 2000, "second", 7, false),
                new Checkpoint(30, 3000, "quiesced", 2, true));
        }
    }

    /** A record as version 1 wrote it: no Flags word, the label at byte 32. */
    private static int versionOneRecord(final ByteBuffer buffer, final int offset, final long seq, final long timeMs,
        final long blocksChanged, final String label)
    {
        final byte[] bytes = label.getBytes(StandardCharsets.UTF_8);
        final int length = 32 + bytes.length;
        buffer.putInt(offset + 4, length).putLong(offset + 8, seq).putLong(offset + 16, timeMs)
            .putLong(offset + 24, blocksChanged).put(offset + 32, bytes);
        buffer.putInt(offset, Checksums.crc32c(buffer, offset + 4, length - 4));
        return length;
    }
}
