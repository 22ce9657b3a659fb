package dev.replicator.target.image;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static dev.replicator.target.image.ImageAssertions.assertMaterializes;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RetentionTest
{
    @TempDir
    Path dir;

    private final Random random = new Random(21);
    private final GroupModel model = new GroupModel(GroupModel.twoSmallVolumes());
    private final List<Long> checkpoints = new ArrayList<>();

    @Test
    void retentionDeletesTheSegmentsOfDroppedCheckpointsAndKeepsTheOthersExact() throws IOException
    {
        final Path groupDir = dir.resolve("g");
        buildHistory(6);
        try (ImageStore store = ImageStore.open(groupDir, model.specs()))
        {
            model.feedAllAndCommit(store);
            assertThat(UndoFiles.segmentBases(groupDir)).containsExactlyElementsOf(checkpoints);

            store.retainLast(3);

            final List<Long> kept = checkpoints.subList(3, 6);
            assertThat(store.checkpoints()).extracting(Checkpoint::seq).containsExactlyElementsOf(kept);
            assertThat(UndoFiles.segmentBases(groupDir)).containsExactlyElementsOf(kept);
            assertThat(store.checkpoint(checkpoints.get(0))).isEmpty();
            assertRetainedImagesExact(store, kept);
        }
        try (ImageStore store = ImageStore.open(groupDir, model.specs()))
        {
            assertThat(store.checkpoints()).extracting(Checkpoint::seq).containsExactlyElementsOf(checkpoints.subList(3, 6));
            assertRetainedImagesExact(store, checkpoints.subList(3, 6));
        }
    }

    @Test
    void openingADroppedOrUnknownCheckpointFailsWithAClearMessage() throws IOException
    {
        final Path groupDir = dir.resolve("g");
        buildHistory(4);
        try (ImageStore store = ImageStore.open(groupDir, model.specs()))
        {
            model.feedAllAndCommit(store);
            final ImageView openBeforeRetention = store.openImage(checkpoints.get(0));
            store.retainLast(2);

            assertThatThrownBy(() -> store.openImage(checkpoints.get(1)))
                .isInstanceOf(UnknownImageException.class)
                .hasMessageContaining("checkpoint seq " + checkpoints.get(1))
                .hasMessageContaining("dropped by retention")
                .hasMessageContaining("seq " + checkpoints.get(2) + " to " + checkpoints.get(3));
            assertThatThrownBy(() -> store.openImage(123_456_789))
                .isInstanceOf(UnknownImageException.class)
                .hasMessageContaining("no checkpoint with seq 123456789");
            assertThatThrownBy(() -> openBeforeRetention.readBlock(0, 0, ByteBuffer.allocate(4096)))
                .isInstanceOf(UnknownImageException.class)
                .hasMessageContaining("dropped by retention while its image was open");
            assertThatThrownBy(() -> store.retainLast(0)).isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void retentionInterruptedBeforeDeletingSegmentsIsFinishedOnOpen() throws IOException
    {
        final Path groupDir = dir.resolve("g");
        buildHistory(4);
        try (ImageStore store = ImageStore.open(groupDir, model.specs()))
        {
            model.feedAllAndCommit(store);
        }
        // What a crash between persisting the new first retained seq and deleting the files leaves.
        try (StateFile state = StateFile.openOrCreate(groupDir.resolve(StoreLayout.STATE_FILE)))
        {
            state.write(state.lastSeq(), checkpoints.get(2), state.undoBaseSeq(), state.undoLength());
        }
        assertThat(UndoFiles.segmentBases(groupDir)).hasSize(4);

        try (ImageStore store = ImageStore.open(groupDir, model.specs()))
        {
            assertThat(UndoFiles.segmentBases(groupDir)).containsExactlyElementsOf(checkpoints.subList(2, 4));
            assertThat(store.checkpoints()).extracting(Checkpoint::seq).containsExactlyElementsOf(checkpoints.subList(2, 4));
            assertRetainedImagesExact(store, checkpoints.subList(2, 4));
        }
    }

    @Test
    void aDamagedNewestStateSlotAfterRetentionNeverBringsDroppedCheckpointsBack() throws IOException
    {
        final Path groupDir = dir.resolve("g");
        buildHistory(5);
        try (ImageStore store = ImageStore.open(groupDir, model.specs()))
        {
            model.feedAllAndCommit(store);
            store.retainLast(2);
        }
        // The newest slot is the one retention wrote last: damage it, so recovery takes the other.
        final Path stateFile = groupDir.resolve(StoreLayout.STATE_FILE);
        final ByteBuffer slots = ByteBuffer.wrap(java.nio.file.Files.readAllBytes(stateFile));
        final int newest = StateFileDescriptor.generation(slots, StateFileDescriptor.SLOT_LENGTH) >
            StateFileDescriptor.generation(slots, 0) ? StateFileDescriptor.SLOT_LENGTH : 0;
        slots.put(newest + StateFileDescriptor.LAST_SEQ_OFFSET, (byte)~slots.get(newest + StateFileDescriptor.LAST_SEQ_OFFSET));
        java.nio.file.Files.write(stateFile, slots.array());

        try (ImageStore store = ImageStore.open(groupDir, model.specs()))
        {
            final List<Long> kept = checkpoints.subList(3, 5);
            assertThat(store.checkpoints()).extracting(Checkpoint::seq).containsExactlyElementsOf(kept);
            assertThatThrownBy(() -> store.openImage(checkpoints.get(2))).isInstanceOf(UnknownImageException.class);
            assertRetainedImagesExact(store, kept);
        }
    }

    private void buildHistory(final int checkpointCount)
    {
        for (int c = 0; c < checkpointCount; c++)
        {
            for (int i = 0; i < 40; i++)
            {
                model.randomWrite(random);
            }
            checkpoints.add(model.checkpoint().seq());
        }
        for (int i = 0; i < 40; i++)
        {
            model.randomWrite(random);
        }
    }

    private void assertRetainedImagesExact(final ImageStore store, final List<Long> retained) throws IOException
    {
        for (final long checkpointSeq : retained)
        {
            final ImageView view = store.openImage(checkpointSeq);
            for (int v = 0; v < model.specs().size(); v++)
            {
                assertMaterializes(view, v, model.image(checkpointSeq, v), dir, "retained checkpoint " + checkpointSeq);
            }
        }
    }
}
