package dev.replicator.target.image;

import dev.replicator.core.codec.Checksums;
import dev.replicator.core.volume.VolumeSpec;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.LongStream;

import static dev.replicator.target.image.ImageAssertions.assertSameContent;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Seeded simulation: a random log of block writes and checkpoints over two small volumes is fed to the
 * store with commits at random points, random resends (lost acks), clean reopens and crashes at random
 * write stages (followed by a reopen and a resend from the store's lastSeq); image views are opened at
 * random moments and kept while writing goes on. At the end every checkpoint's image, every kept view
 * and the latest content must equal the model byte for byte.
 *
 * <p>Replay one seed with {@code -Dimagestore.seed=N}.
 */
class ImageStoreModelTest
{
    private static final int OPS = 1500;

    @TempDir
    Path dir;

    static LongStream seeds()
    {
        final String replay = System.getProperty("imagestore.seed");
        return replay != null ? LongStream.of(Long.parseLong(replay)) : LongStream.of(1, 7, 42, 1234, 98765, 0xC0FFEEL);
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    void everyImageMatchesTheModelThroughCommitsResendsReopensAndCrashes(final long seed) throws IOException
    {
        System.out.println("ImageStoreModelTest seed=" + seed + " (replay with -Dimagestore.seed=" + seed + ")");
        final Random random = new Random(seed);
        final GroupModel model = new GroupModel(GroupModel.twoSmallVolumes());
        for (int i = 0; i < OPS; i++)
        {
            if (random.nextInt(35) == 0)
            {
                model.checkpoint();
            }
            else
            {
                model.randomWrite(random);
            }
        }
        model.randomWrite(random);
        final List<GroupModel.Op> log = model.log();
        final long lastSeq = log.get(log.size() - 1).seq();

        final Path groupDir = dir.resolve("group");
        final CrashingHook hook = CrashingHook.random(random, 0.02);
        ImageStore store = ImageStore.open(groupDir, model.specs());
        store.writeStageHook(hook);
        final List<ImageView> keptViews = new ArrayList<>();
        int cursor = 0;
        int resends = 0;
        int reopens = 0;
        while (cursor < log.size())
        {
            try
            {
                GroupModel.feed(store, log.get(cursor++));
                final int action = random.nextInt(1000);
                if (action < 100)
                {
                    store.commit(log.get(cursor - 1).seq());
                }
                else if (action < 120)
                {
                    cursor = Math.max(0, cursor - 1 - random.nextInt(60));
                    resends++;
                }
                else if (action < 150 && !store.checkpoints().isEmpty())
                {
                    final List<Checkpoint> checkpoints = store.checkpoints();
                    keptViews.add(store.openImage(checkpoints.get(random.nextInt(checkpoints.size())).seq()));
                }
                else if (action < 154)
                {
                    store.commit(log.get(cursor - 1).seq());
                    store.close();
                    store = ImageStore.open(groupDir, model.specs());
                    store.writeStageHook(hook);
                    keptViews.clear();
                    reopens++;
                }
            }
            catch (final CrashingHook.SimulatedCrash crash)
            {
                store.close();
                store = ImageStore.open(groupDir, model.specs());
                store.writeStageHook(hook);
                keptViews.clear();
                cursor = model.indexAfter(store.lastSeq());
            }
        }
        store.writeStageHook(WriteStageHook.NONE);
        store.commit(lastSeq);
        System.out.println("seed=" + seed + ": " + model.images().size() + " checkpoints, " + hook.crashes() +
            " crashes, " + resends + " resends, " + reopens + " reopens, " + keptViews.size() + " kept views, " +
            store.duplicateWritesSkipped() + " duplicate writes skipped since the last open");

        try
        {
            assertThat(store.lastSeq()).isEqualTo(lastSeq);
            assertThat(store.checkpoints()).extracting(Checkpoint::seq).containsExactlyElementsOf(model.images().keySet());
            for (final long checkpointSeq : model.images().keySet())
            {
                final ImageView view = store.openImage(checkpointSeq);
                for (int v = 0; v < model.specs().size(); v++)
                {
                    assertImage(view, v, model.image(checkpointSeq, v), "seed " + seed + " checkpoint " + checkpointSeq);
                    assertThat(view.changedSinceImage(v).copy().andNot(model.writtenAfter(checkpointSeq, v)).isEmpty())
                        .as("seed %d checkpoint %d: blocks changed since the image are blocks written after it",
                            seed, checkpointSeq)
                        .isTrue();
                }
            }
            for (final ImageView view : keptViews)
            {
                final long checkpointSeq = view.checkpoint().orElseThrow().seq();
                for (int v = 0; v < model.specs().size(); v++)
                {
                    assertImage(view, v, model.image(checkpointSeq, v),
                        "seed " + seed + " view kept open at checkpoint " + checkpointSeq);
                }
            }
            final ImageView latest = store.openLatest();
            for (int v = 0; v < model.specs().size(); v++)
            {
                assertImage(latest, v, model.current(v), "seed " + seed + " latest");
            }
        }
        finally
        {
            store.close();
        }
    }

    /** Materializes and compares, and checks the fingerprints materialize reports against the model. */
    private void assertImage(final ImageView view, final int volumeIndex, final byte[] expected, final String what)
        throws IOException
    {
        final VolumeSpec spec = view.volumes().get(volumeIndex);
        final Path out = Files.createTempDirectory(dir, "image").resolve(spec.name() + ".img");
        final long[] fingerprints = new long[(int)spec.blockCount()];
        final long[] nextBlock = new long[1];
        view.materialize(volumeIndex, out, null, (blockIndex, xxHash64) ->
        {
            assertThat(blockIndex).as(what + ": fingerprints in block order").isEqualTo(nextBlock[0]++);
            fingerprints[(int)blockIndex] = xxHash64;
        });
        assertSameContent(Files.readAllBytes(out), expected, spec, what + " volume " + spec.name());
        assertThat(nextBlock[0]).isEqualTo(spec.blockCount());
        for (int b = 0; b < spec.blockCount(); b++)
        {
            final long expectedFingerprint = Checksums.xxHash64(expected, b * spec.blockSize(), spec.blockSize());
            if (fingerprints[b] != expectedFingerprint)
            {
                assertThat(fingerprints[b]).as(what + ": fingerprint of block " + b).isEqualTo(expectedFingerprint);
            }
        }
    }
}
