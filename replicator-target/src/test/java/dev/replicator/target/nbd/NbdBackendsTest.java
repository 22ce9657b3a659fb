package dev.replicator.target.nbd;

import dev.replicator.core.bitmap.BlockBitmap;
import dev.replicator.core.nbd.NbdBackend;
import dev.replicator.core.volume.VolumeSpec;
import dev.replicator.target.image.ImageStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The target's NBD backends against an in-memory model: an image export reads the checkpoint's bytes
 * while the replica moves on; a recovery overlay reads the image until written, takes unaligned
 * writes, zeroes and trims, survives a reopen as of its last flush, and its written bitmap is exactly
 * the blocks written through it.
 */
class NbdBackendsTest
{
    private static final int BLOCK = 4096;
    private static final int BLOCKS = 96;
    private static final long SIZE = (long)BLOCK * BLOCKS;

    @TempDir
    Path dir;

    private ImageStore store;
    private long imageSeq;
    private byte[] image;
    private final List<NbdBackend> opened = new ArrayList<>();

    @BeforeEach
    void buildStoreWithAnImageAndLaterWrites() throws IOException
    {
        final Random random = new Random(42);
        final VolumeSpec spec = new VolumeSpec("data", dir.resolve("source.img"), SIZE, BLOCK);
        store = ImageStore.open(dir.resolve("group"), List.of(spec));
        image = new byte[(int)SIZE];
        long seq = 0;
        // Blocks 0..63 get data, 64..95 stay zero (holes in the replica).
        for (int b = 0; b < 64; b++)
        {
            final byte[] block = new byte[BLOCK];
            random.nextBytes(block);
            store.applyBlock(++seq, 0, b, ByteBuffer.wrap(block));
            System.arraycopy(block, 0, image, b * BLOCK, BLOCK);
        }
        store.commit(seq);
        imageSeq = ++seq;
        store.addCheckpoint(imageSeq, System.currentTimeMillis(), "image");
        store.commit(imageSeq);
        // The replica moves on after the image: the views must not show these.
        for (int b = 0; b < 80; b += 3)
        {
            final byte[] block = new byte[BLOCK];
            Arrays.fill(block, (byte)0x5A);
            store.applyBlock(++seq, 0, b, ByteBuffer.wrap(block));
        }
        store.commit(seq);
    }

    @AfterEach
    void close() throws IOException
    {
        for (final NbdBackend backend : opened)
        {
            backend.close();
        }
        store.close();
    }

    @Test
    void imageExportReadsTheCheckpointAtAnyAlignmentAndRefusesWrites() throws IOException
    {
        final NbdBackend export = track(new ImageExportBackend(store.openImage(imageSeq), 0));
        assertThat(export.size()).isEqualTo(SIZE);
        assertThat(export.readOnly()).isTrue();
        assertThat(export.blockSize()).isEqualTo(BLOCK);
        assertThat(read(export, 0, (int)SIZE)).isEqualTo(image);
        final Random random = new Random(7);
        for (int i = 0; i < 200; i++)
        {
            final int offset = random.nextInt((int)SIZE);
            final int length = 1 + random.nextInt((int)Math.min(3 * BLOCK, SIZE - offset));
            assertThat(read(export, offset, length)).as("offset %d length %d", offset, length)
                .isEqualTo(Arrays.copyOfRange(image, offset, offset + length));
        }
        assertThatThrownBy(() -> export.write(0, ByteBuffer.allocate(BLOCK), false))
            .isInstanceOf(IOException.class).hasMessageContaining("read-only");
    }

    @Test
    void imageExportReportsZeroBlocksAsHoles() throws IOException
    {
        final NbdBackend export = track(new ImageExportBackend(store.openImage(imageSeq), 0));
        final List<long[]> extents = status(export, 0, SIZE);
        assertThat(extents).containsExactly(new long[] {64L * BLOCK, 0}, new long[] {32L * BLOCK, 1});
        // An unaligned start: the first extent is cut to it.
        assertThat(status(export, 63L * BLOCK + 100, BLOCK)).containsExactly(
            new long[] {BLOCK - 100, 0}, new long[] {100, 1});
    }

    @Test
    void overlayReadsTheImageUntilWrittenAndTracksExactlyTheWrittenBlocks() throws IOException
    {
        final RecoveryOverlayBackend backend = newOverlay();
        final byte[] expected = image.clone();
        assertThat(read(backend, 0, (int)SIZE)).isEqualTo(expected);

        // One aligned run, one write that starts and ends inside blocks, a write inside one block.
        write(backend, expected, 2L * BLOCK, filled(3 * BLOCK, 1), false);
        write(backend, expected, 10L * BLOCK + 512, filled(2 * BLOCK, 2), false);
        write(backend, expected, 70L * BLOCK + 7, filled(9, 3), true);
        assertThat(read(backend, 0, (int)SIZE)).isEqualTo(expected);
        assertThat(blocks(backend.overlay().written())).containsExactly(2L, 3L, 4L, 10L, 11L, 12L, 70L);

        // Zeroes and trim, aligned and not: written too (they change the volume).
        backend.writeZeroes(20L * BLOCK, 4L * BLOCK, false);
        Arrays.fill(expected, 20 * BLOCK, 24 * BLOCK, (byte)0);
        backend.trim(30L * BLOCK + 100, 200);
        Arrays.fill(expected, 30 * BLOCK + 100, 30 * BLOCK + 300, (byte)0);
        assertThat(read(backend, 0, (int)SIZE)).isEqualTo(expected);
        assertThat(blocks(backend.overlay().written())).containsExactly(2L, 3L, 4L, 10L, 11L, 12L, 20L, 21L, 22L,
            23L, 30L, 70L);

        // A data write over zeroed blocks reads the data again.
        write(backend, expected, 21L * BLOCK + 4000, filled(200, 4), false);
        assertThat(read(backend, 0, (int)SIZE)).isEqualTo(expected);
        final List<long[]> extents = status(backend, 20L * BLOCK, 4L * BLOCK);
        assertThat(extents).containsExactly(new long[] {BLOCK, 1}, new long[] {2L * BLOCK, 0},
            new long[] {BLOCK, 1});
    }

    @Test
    void overlayComesBackAsOfItsLastFlush() throws IOException
    {
        final Path failoverDir = Files.createDirectories(dir.resolve("failover"));
        final RecoveryOverlay overlay = RecoveryOverlay.create(store.openImage(imageSeq), 0, failoverDir);
        final RecoveryOverlayBackend backend = new RecoveryOverlayBackend(overlay);
        final byte[] flushed = image.clone();
        write(backend, flushed, 5L * BLOCK, filled(BLOCK, 9), false);
        backend.writeZeroes(6L * BLOCK, BLOCK, false);
        Arrays.fill(flushed, 6 * BLOCK, 7 * BLOCK, (byte)0);
        backend.flush();
        // Not flushed: a reopen from the files as they are now must not see it. The overlay is
        // abandoned without close (which would flush), as a crash would.
        backend.write(40L * BLOCK, ByteBuffer.wrap(filled(BLOCK, 8)), false);
        backend.writeZeroes(7L * BLOCK, BLOCK, false);

        final RecoveryOverlayBackend reopened = track(
            new RecoveryOverlayBackend(RecoveryOverlay.open(store.openImage(imageSeq), 0, failoverDir)));
        assertThat(read(reopened, 0, (int)SIZE)).isEqualTo(flushed);
        assertThat(blocks(reopened.overlay().written())).containsExactly(5L, 6L);
        overlay.close();
    }

    @Test
    void fuaMakesTheWriteDurableWithoutAFlush() throws IOException
    {
        final Path failoverDir = Files.createDirectories(dir.resolve("failover"));
        final RecoveryOverlay overlay = RecoveryOverlay.create(store.openImage(imageSeq), 0, failoverDir);
        final RecoveryOverlayBackend backend = new RecoveryOverlayBackend(overlay);
        final byte[] expected = image.clone();
        write(backend, expected, 90L * BLOCK - 10, filled(20, 6), true);
        final RecoveryOverlayBackend reopened = track(
            new RecoveryOverlayBackend(RecoveryOverlay.open(store.openImage(imageSeq), 0, failoverDir)));
        assertThat(read(reopened, 0, (int)SIZE)).isEqualTo(expected);
        assertThat(blocks(reopened.overlay().written())).containsExactly(89L, 90L);
        overlay.close();
    }

    private RecoveryOverlayBackend newOverlay() throws IOException
    {
        final Path failoverDir = Files.createDirectories(dir.resolve("failover"));
        return track(new RecoveryOverlayBackend(RecoveryOverlay.create(store.openImage(imageSeq), 0, failoverDir)));
    }

    private <T extends NbdBackend> T track(final T backend)
    {
        opened.add(backend);
        return backend;
    }

    private static byte[] read(final NbdBackend backend, final long offset, final int length) throws IOException
    {
        final ByteBuffer dst = ByteBuffer.allocate(length);
        backend.read(offset, dst);
        assertThat(dst.hasRemaining()).isFalse();
        return dst.array();
    }

    private static void write(final NbdBackend backend, final byte[] model, final long offset, final byte[] data,
        final boolean fua) throws IOException
    {
        final ByteBuffer src = ByteBuffer.wrap(data);
        backend.write(offset, src, fua);
        System.arraycopy(data, 0, model, (int)offset, data.length);
    }

    private static byte[] filled(final int length, final int seed)
    {
        final byte[] bytes = new byte[length];
        new Random(seed).nextBytes(bytes);
        return bytes;
    }

    /** Extents as {length, 1 if hole and zero else 0}; asserts hole and zero always agree. */
    private static List<long[]> status(final NbdBackend backend, final long offset, final long length)
        throws IOException
    {
        final List<long[]> extents = new ArrayList<>();
        backend.blockStatus(offset, length, (extentLength, hole, zero) ->
        {
            assertThat(hole).isEqualTo(zero);
            extents.add(new long[] {extentLength, hole ? 1 : 0});
            return true;
        });
        return extents;
    }

    private static List<Long> blocks(final BlockBitmap bitmap)
    {
        final List<Long> blocks = new ArrayList<>();
        bitmap.forEach(blocks::add);
        return blocks;
    }
}
