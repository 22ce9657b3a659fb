package dev.replicator.target.failover;

import dev.replicator.core.bitmap.BlockBitmap;
import dev.replicator.core.codec.Checksums;
import dev.replicator.core.nbd.NbdBackend;
import dev.replicator.core.test.Await;
import dev.replicator.core.volume.VolumeSpec;
import dev.replicator.target.image.ImageStore;
import dev.replicator.target.nbd.NbdExporter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Failback's view of an NBD recovery export: one writable export per volume, written blocks exact
 * (no scan), scans report only what is new, fingerprints and reads come through the overlay, and
 * closing stops the server before the overlays.
 */
class OverlayRecoveryTest
{
    private static final int BLOCK = 4096;

    @TempDir
    Path dir;

    @Test
    void exportsEveryVolumeAndReportsExactlyTheBlocksWrittenThroughIt() throws IOException
    {
        final List<VolumeSpec> specs = List.of(new VolumeSpec("data", dir.resolve("a"), 64L * BLOCK, BLOCK),
            new VolumeSpec("log", dir.resolve("b"), 32L * BLOCK, BLOCK));
        try (ImageStore store = ImageStore.open(dir.resolve("group"), specs))
        {
            final byte[] block = new byte[BLOCK];
            Arrays.fill(block, (byte)7);
            store.applyBlock(1, 0, 5, ByteBuffer.wrap(block));
            store.applyBlock(2, 1, 6, ByteBuffer.wrap(block));
            store.commit(2);
            store.addCheckpoint(3, System.currentTimeMillis(), "image");
            store.commit(3);

            final Path failoverDir = Files.createDirectories(dir.resolve("failover"));
            final Map<String, NbdBackend> served = new LinkedHashMap<>();
            final List<String> events = new ArrayList<>();
            final NbdExporter exporter = (host, port, backends) ->
            {
                served.putAll(backends);
                return new NbdExporter.Served()
                {
                    @Override
                    public int port()
                    {
                        return 10809;
                    }

                    @Override
                    public void close()
                    {
                        events.add("server closed");
                    }
                };
            };
            final OverlayRecovery recovery = OverlayRecovery.create("g", store, 3, failoverDir);
            recovery.serve(exporter, "127.0.0.1", 10809);
            assertThat(served.keySet()).containsExactly("data", "log");
            assertThat(recovery.export()).isEqualTo("nbd://127.0.0.1:10809");

            served.get("data").write(10L * BLOCK + 100, ByteBuffer.wrap(new byte[] {1, 2, 3}), false);
            served.get("log").writeZeroes(6L * BLOCK, 2L * BLOCK, false);
            BlockBitmap[] delta = recovery.scanNow();
            assertThat(blocks(delta[0])).containsExactly(10L);
            assertThat(blocks(delta[1])).containsExactly(6L, 7L);

            served.get("data").write(5L * BLOCK, ByteBuffer.wrap(new byte[BLOCK]), false);
            delta = recovery.scanNow();
            assertThat(blocks(delta[0])).containsExactly(5L);
            assertThat(delta[1].isEmpty()).isTrue();
            assertThat(blocks(recovery.written(0))).containsExactly(5L, 10L);

            final ByteBuffer read = ByteBuffer.allocate(BLOCK);
            recovery.readBlocks(1, 6, read);
            assertThat(read.array()).isEqualTo(new byte[BLOCK]);
            assertThat(recovery.fingerprint(1, 6)).isEqualTo(Checksums.xxHash64(new byte[BLOCK], 0, BLOCK));
            final byte[] expected = new byte[BLOCK];
            expected[100] = 1;
            expected[101] = 2;
            expected[102] = 3;
            assertThat(recovery.fingerprint(0, 10)).isEqualTo(Checksums.xxHash64(expected, 0, BLOCK));

            recovery.close();
            assertThat(events).containsExactly("server closed");
        }
    }

    @Test
    void fingerprintsInRunsEqualTheBlocksReadThroughTheOverlay() throws IOException
    {
        final long seed = System.nanoTime();
        System.out.println("OverlayRecoveryTest.fingerprintsInRuns seed=" + seed);
        final Random random = new Random(seed);
        // Over two chunks' worth, so runs cross chunk boundaries.
        final int blocks = 2 * OverlayRecovery.FINGERPRINT_CHUNK_BYTES / BLOCK + 37;
        final List<VolumeSpec> specs = List.of(new VolumeSpec("data", dir.resolve("a"), (long)blocks * BLOCK, BLOCK));
        final byte[] model = new byte[blocks * BLOCK];
        try (ImageStore store = ImageStore.open(dir.resolve("group"), specs))
        {
            long seq = 0;
            for (int i = 0; i < 200; i++)
            {
                final int b = random.nextInt(blocks);
                final byte[] data = new byte[BLOCK];
                random.nextBytes(data);
                store.applyBlock(++seq, 0, b, ByteBuffer.wrap(data));
                System.arraycopy(data, 0, model, b * BLOCK, BLOCK);
            }
            store.commit(seq);
            store.addCheckpoint(++seq, System.currentTimeMillis(), "image");
            store.commit(seq);

            final Map<String, NbdBackend> served = new LinkedHashMap<>();
            final NbdExporter exporter = (host, port, backends) ->
            {
                served.putAll(backends);
                return new NbdExporter.Served()
                {
                    @Override
                    public int port()
                    {
                        return 10809;
                    }

                    @Override
                    public void close()
                    {
                    }
                };
            };
            final OverlayRecovery recovery =
                OverlayRecovery.create("g", store, seq, Files.createDirectories(dir.resolve("failover")));
            recovery.serve(exporter, "127.0.0.1", 10809);
            for (int i = 0; i < 300; i++)
            {
                final int b = random.nextInt(blocks - 3);
                final int count = 1 + random.nextInt(3);
                if (random.nextInt(5) == 0)
                {
                    served.get("data").writeZeroes((long)b * BLOCK, (long)count * BLOCK, false);
                    Arrays.fill(model, b * BLOCK, (b + count) * BLOCK, (byte)0);
                }
                else
                {
                    final byte[] data = new byte[count * BLOCK];
                    random.nextBytes(data);
                    served.get("data").write((long)b * BLOCK, ByteBuffer.wrap(data), false);
                    System.arraycopy(data, 0, model, b * BLOCK, data.length);
                }
            }

            final long[] whole = new long[blocks];
            recovery.fingerprints(0, 0, whole);
            for (int b = 0; b < blocks; b++)
            {
                final long expected = Checksums.xxHash64(model, b * BLOCK, BLOCK);
                assertThat(whole[b]).as("block %d (seed %d)", b, seed).isEqualTo(expected);
                assertThat(recovery.fingerprint(0, b)).as("block %d (seed %d)", b, seed).isEqualTo(expected);
            }
            final int first = 1 + random.nextInt(blocks / 2);
            final long[] run = new long[blocks - first];
            recovery.fingerprints(0, first, run);
            assertThat(run).isEqualTo(Arrays.copyOfRange(whole, first, blocks));

            // Once the image's fingerprints are all computed, unwritten blocks come from them: the same answer.
            Await.until(() -> recovery.imageFingerprintedBlocks(0) == blocks, Duration.ofSeconds(30),
                "the failover image was never fingerprinted in the background");
            final long[] fromTable = new long[blocks];
            recovery.fingerprints(0, 0, fromTable);
            assertThat(fromTable).as("seed %d", seed).isEqualTo(whole);
            recovery.close();
            assertThat(ImageFingerprints.tablePath(dir.resolve("failover"), "data")).as("deleted on close")
                .doesNotExist();
        }
    }

    private static List<Long> blocks(final BlockBitmap bitmap)
    {
        final List<Long> blocks = new ArrayList<>();
        bitmap.forEach(blocks::add);
        return blocks;
    }
}
