package dev.replicator.target.image;

import dev.replicator.core.volume.VolumeSpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Damaged store files, in a seeded loop: a group's history (writes, checkpoints, commits per frame,
 * retention as the receiver applies it) is written and the store closed; then garbage, zeros or a
 * flipped bit lands at a random offset of the newest undo segment (or an older one), the checkpoint
 * catalog, or the state file (the newest slot, the older slot, or both), or a segment or the catalog is
 * truncated; the store is opened again, the "agent" resends everything after the store's lastSeq, and
 * every image is read back.
 *
 * <p>Property: opening either refuses with an {@link ImageStoreException}, or recovers: lastSeq never
 * moves forward, and after the resend the store holds exactly the checkpoints the agent sent (within
 * retention), each image and the latest content byte for byte as the model says, or an image refuses
 * to open with an {@link ImageStoreException}. A wrong image is never served.
 *
 * <p>Replay a run with {@code -Dfuzz.seed=N}; run longer with {@code -Dfuzz.iterations=N}.
 */
class ImageStoreDamageFuzzTest
{
    private static final long SEED = Long.getLong("fuzz.seed", System.nanoTime());
    private static final int ITERATIONS = Integer.getInteger("fuzz.iterations", 120);

    private enum Target
    {
        NEWEST_UNDO_SEGMENT, OLDER_UNDO_SEGMENT, CATALOG, STATE_NEWEST_SLOT, STATE_OLDER_SLOT, STATE_BOTH_SLOTS
    }

    @TempDir
    Path dir;

    private final Random random = new Random(SEED);
    private final Map<String, Integer> outcomes = new TreeMap<>();

    @Test
    void aDamagedStoreFileIsRecoveredExactlyOrRefusedNeverServedWrong() throws IOException
    {
        System.out.printf("ImageStoreDamageFuzzTest seed=%d iterations=%d (replay: -Dfuzz.seed=%d)%n",
            SEED, ITERATIONS, SEED);
        for (int iteration = 0; iteration < ITERATIONS; iteration++)
        {
            final Path groupDir = dir.resolve("g" + iteration);
            final GroupModel model = new GroupModel(GroupModel.twoSmallVolumes());
            final int ops = 40 + random.nextInt(160);
            for (int i = 0; i < ops; i++)
            {
                if (random.nextInt(12) == 0)
                {
                    model.checkpoint();
                }
                else
                {
                    model.randomWrite(random);
                }
            }
            // Ending on a checkpoint leaves it without an undo segment: only the catalog and the state hold it.
            if (random.nextBoolean())
            {
                model.checkpoint();
            }
            else
            {
                model.randomWrite(random);
            }
            final int retain = random.nextInt(3) == 0 ? 2 + random.nextInt(3) : 0;
            final long lastSeq;
            try (ImageStore store = ImageStore.open(groupDir, model.specs()))
            {
                receive(store, model, 0, retain);
                lastSeq = store.lastSeq();
            }
            final Target target = Target.values()[random.nextInt(Target.values().length)];
            final String damage = damage(groupDir, target);
            final String context = "seed " + SEED + " iteration " + iteration + " (" + model.log().size() + " ops, " +
                model.images().size() + " checkpoints, retain " + retain + "; " + target + ": " + damage + ")";
            outcomes.merge(target + " " + reopen(groupDir, model, retain, lastSeq, context), 1, Integer::sum);
            deleteTree(groupDir);
        }
        System.out.printf("ImageStoreDamageFuzzTest fuzzed %d damaged stores: %s%n", ITERATIONS, outcomes);
    }

    private String reopen(
        final Path groupDir, final GroupModel model, final int retain, final long lastSeq, final String context)
        throws IOException
    {
        final ImageStore store;
        try
        {
            store = ImageStore.open(groupDir, model.specs());
        }
        catch (final ImageStoreException ex)
        {
            assertThat(ex.getMessage()).as(context).contains(groupDir.toString());
            return "refused";
        }
        catch (final IOException | RuntimeException ex)
        {
            throw new AssertionError(context + ": open: " + ex, ex);
        }
        try (store)
        {
            final long recoveredSeq = store.lastSeq();
            assertThat(recoveredSeq).as(context + ": lastSeq never moves forward").isLessThanOrEqualTo(lastSeq);
            receive(store, model, model.indexAfter(recoveredSeq), retain);
            final List<Long> expected = new ArrayList<>(model.images().keySet());
            final List<Long> retained = retain == 0 || expected.size() <= retain ?
                expected : expected.subList(expected.size() - retain, expected.size());
            assertThat(store.checkpoints()).extracting(Checkpoint::seq)
                .as(context + ": the checkpoints after the resend").containsExactlyElementsOf(retained);
            int refusedImages = 0;
            for (final long checkpointSeq : retained)
            {
                final ImageView view;
                try
                {
                    view = store.openImage(checkpointSeq);
                    for (int v = 0; v < model.specs().size(); v++)
                    {
                        assertVolume(view, v, model.image(checkpointSeq, v), context + ": image " + checkpointSeq);
                    }
                }
                catch (final ImageStoreException ex)
                {
                    assertThat(ex.getMessage()).as(context).contains(groupDir.toString());
                    refusedImages++;
                }
            }
            for (int v = 0; v < model.specs().size(); v++)
            {
                assertVolume(store.openLatest(), v, model.current(v), context + ": latest");
            }
            return (recoveredSeq < lastSeq ? "recovered, lastSeq dropped back" : "recovered") +
                (refusedImages > 0 ? ", an image refused" : "");
        }
    }

    /** Feeds the log from {@code from} in frames as the receiver does: commit per frame, retention after a checkpoint. */
    private void receive(final ImageStore store, final GroupModel model, final int from, final int retain)
        throws IOException
    {
        final List<GroupModel.Op> log = model.log();
        int i = from;
        while (i < log.size())
        {
            final int end = Math.min(log.size(), i + 1 + random.nextInt(20));
            boolean checkpointed = false;
            for (; i < end; i++)
            {
                GroupModel.feed(store, log.get(i));
                checkpointed |= log.get(i).isCheckpoint();
            }
            store.commit(log.get(end - 1).seq());
            if (checkpointed && retain > 0)
            {
                store.retainLast(retain);
            }
        }
    }

    private String damage(final Path groupDir, final Target target) throws IOException
    {
        final StoreLayout layout = new StoreLayout(groupDir);
        switch (target)
        {
            case NEWEST_UNDO_SEGMENT ->
            {
                final List<Long> bases = UndoFiles.segmentBases(groupDir);
                if (bases.isEmpty())
                {
                    return "no undo segment";
                }
                final Path segment = layout.undoSegment(bases.get(bases.size() - 1));
                return damageFile(segment, random.nextInt(10) == 0 ? 0 : UndoSegmentDescriptor.HEADER_LENGTH, true);
            }
            case OLDER_UNDO_SEGMENT ->
            {
                final List<Long> bases = UndoFiles.segmentBases(groupDir);
                if (bases.size() < 2)
                {
                    return "no older undo segment";
                }
                final Path segment = layout.undoSegment(bases.get(random.nextInt(bases.size() - 1)));
                return damageFile(segment, random.nextInt(10) == 0 ? 0 : UndoSegmentDescriptor.HEADER_LENGTH, true);
            }
            case CATALOG ->
            {
                return damageFile(layout.catalog(), random.nextInt(10) == 0 ? 0 : CheckpointCatalogDescriptor.FILE_HEADER_LENGTH,
                    true);
            }
            default ->
            {
                final ByteBuffer state = ByteBuffer.wrap(Files.readAllBytes(layout.stateFile()));
                final long generation0 = StateFileDescriptor.isValid(state, 0) ? StateFileDescriptor.generation(state, 0) : 0;
                final long generation1 = StateFileDescriptor.isValid(state, StateFileDescriptor.SLOT_LENGTH) ?
                    StateFileDescriptor.generation(state, StateFileDescriptor.SLOT_LENGTH) : 0;
                final int newest = generation1 > generation0 ? 1 : 0;
                final StringBuilder what = new StringBuilder();
                if (target != Target.STATE_OLDER_SLOT)
                {
                    what.append("newest slot ").append(damageSlot(layout.stateFile(), newest));
                }
                if (target != Target.STATE_NEWEST_SLOT)
                {
                    what.append(" older slot ").append(damageSlot(layout.stateFile(), 1 - newest));
                }
                return what.toString();
            }
        }
    }

    private String damageSlot(final Path file, final int slot) throws IOException
    {
        final long start = (long)slot * StateFileDescriptor.SLOT_LENGTH;
        final long offset = start + random.nextInt(StateFileDescriptor.ENCODED_LENGTH);
        return overwrite(file, offset, random.nextInt(3));
    }

    /** Damages {@code file} at or after {@code from}; returns what was done. */
    private String damageFile(final Path file, final long from, final boolean mayTruncate) throws IOException
    {
        final long size = Files.size(file);
        if (size <= from)
        {
            return "nothing to damage";
        }
        final long offset = from + (long)(random.nextDouble() * (size - from));
        final int kind = random.nextInt(mayTruncate ? 4 : 3);
        if (kind == 3)
        {
            try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE))
            {
                channel.truncate(offset);
            }
            return "truncated at " + offset + " of " + size;
        }
        return overwrite(file, offset, kind) + " of " + size;
    }

    private String overwrite(final Path file, final long offset, final int kind) throws IOException
    {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE))
        {
            if (kind == 0)
            {
                final byte[] garbage = new byte[1 + random.nextInt(64)];
                random.nextBytes(garbage);
                channel.write(ByteBuffer.wrap(garbage), offset);
                return garbage.length + " random bytes at " + offset;
            }
            if (kind == 1)
            {
                final int length = 1 + random.nextInt(64);
                channel.write(ByteBuffer.allocate(length), offset);
                return length + " zeros at " + offset;
            }
            final ByteBuffer one = ByteBuffer.allocate(1);
            channel.read(one, offset);
            one.put(0, (byte)(one.get(0) ^ (1 << random.nextInt(8)))).flip();
            channel.write(one, offset);
            return "a bit flipped at " + offset;
        }
    }

    private static void assertVolume(final ImageView view, final int volumeIndex, final byte[] expected, final String what)
        throws IOException
    {
        final VolumeSpec spec = view.volumes().get(volumeIndex);
        final ByteBuffer actual = ByteBuffer.allocate((int)spec.sizeBytes());
        view.readBlocks(volumeIndex, 0, actual);
        ImageAssertions.assertSameContent(actual.array(), expected, spec, what);
    }

    private static void deleteTree(final Path root) throws IOException
    {
        try (var paths = Files.walk(root))
        {
            final List<Path> all = new ArrayList<>();
            paths.forEach(all::add);
            for (int i = all.size() - 1; i >= 0; i--)
            {
                Files.delete(all.get(i));
            }
        }
    }
}
