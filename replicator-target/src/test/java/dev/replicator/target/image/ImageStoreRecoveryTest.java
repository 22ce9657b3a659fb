package dev.replicator.target.image;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Random;

import static dev.replicator.target.image.ImageAssertions.assertMaterializes;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Crashes at each point of the write ordering (stopping the writer with a {@link CrashingHook}), torn
 * tails (truncation mid-record) and garbage after the last record: recovery keeps exactly the whole
 * records before the damage, and once the agent has resent from the store's lastSeq every image is
 * byte-exact.
 */
class ImageStoreRecoveryTest
{
    @TempDir
    Path dir;

    private final Random random = new Random(99);
    private final GroupModel model = new GroupModel(GroupModel.twoSmallVolumes());
    private Path groupDir;

    @Test
    void garbageAfterTheLastRecordsIsTruncatedAndEveryImageSurvives() throws IOException
    {
        groupDir = dir.resolve("g");
        writes(40);
        final long first = checkpoint();
        writes(40);
        final long second = checkpoint();
        writes(40);
        try (ImageStore store = ImageStore.open(groupDir, model.specs()))
        {
            model.feedAllAndCommit(store);
        }
        final Path catalog = groupDir.resolve(StoreLayout.CATALOG_FILE);
        final Path segment = UndoFiles.segment(groupDir, second);
        final long catalogSize = Files.size(catalog);
        final long segmentSize = Files.size(segment);
        final int records = UndoFiles.recordCount(groupDir, second, model.specs());
        appendGarbage(catalog, 100);
        appendGarbage(segment, 5000);

        try (ImageStore store = ImageStore.open(groupDir, model.specs()))
        {
            assertThat(Files.size(catalog)).isEqualTo(catalogSize);
            assertThat(Files.size(segment)).isEqualTo(segmentSize);
            assertThat(UndoFiles.recordCount(groupDir, second, model.specs())).isEqualTo(records);
            assertThat(store.checkpoints()).extracting(Checkpoint::seq).containsExactly(first, second);
            assertEveryImageExact(store);
        }
    }

    @Test
    void anUndoRecordTornByACrashIsTruncatedAndTheResendRestoresExactImages() throws IOException
    {
        groupDir = dir.resolve("g");
        writes(30);
        checkpoint();
        final long checkpointSeq = model.log().get(model.log().size() - 1).seq();
        writes(30);
        final int committed = model.log().size();
        writes(30);
        checkpoint();
        writes(20);
        try (ImageStore store = ImageStore.open(groupDir, model.specs()))
        {
            model.feed(store, 0, committed);
            store.commit(model.log().get(committed - 1).seq());
            final int recordsCommitted = UndoFiles.recordCount(groupDir, checkpointSeq, model.specs());
            store.writeStageHook(CrashingHook.once(WriteStage.UNDO_DURABLE));
            model.feed(store, committed, committed + 30);
            assertThatThrownBy(() -> store.commit(model.log().get(committed + 29).seq()))
                .isInstanceOf(CrashingHook.SimulatedCrash.class);
            assertThatThrownBy(() -> store.commit(1)).isInstanceOf(ImageStoreException.class)
                .hasMessageContaining("failed earlier");
            assertThat(UndoFiles.recordCount(groupDir, checkpointSeq, model.specs())).isGreaterThan(recordsCommitted + 1);
        }
        final Path segment = UndoFiles.segment(groupDir, checkpointSeq);
        final List<Long> positions = UndoFiles.recordPositions(groupDir, checkpointSeq, model.specs());
        final long lastRecord = positions.get(positions.size() - 1);
        truncate(segment, lastRecord + 7);

        try (ImageStore store = ImageStore.open(groupDir, model.specs()))
        {
            assertThat(Files.size(segment)).isEqualTo(lastRecord);
            assertThat(UndoFiles.recordCount(groupDir, checkpointSeq, model.specs())).isEqualTo(positions.size() - 1);
            assertThat(store.lastSeq()).isEqualTo(model.log().get(committed - 1).seq());
            resendAndCommit(store);
            assertEveryImageExact(store);
        }
    }

    @Test
    void aDamagedCommittedRecordInTheNewestSegmentIsRefusedAndLeftAsItIs() throws IOException
    {
        groupDir = dir.resolve("g");
        writes(10);
        final long checkpointSeq = checkpoint();
        writes(60);
        try (ImageStore store = ImageStore.open(groupDir, model.specs()))
        {
            model.feedAllAndCommit(store);
        }
        final Path segment = UndoFiles.segment(groupDir, checkpointSeq);
        final List<Long> positions = UndoFiles.recordPositions(groupDir, checkpointSeq, model.specs());
        assertThat(positions.size()).isGreaterThan(10);
        final long size = Files.size(segment);
        flipByte(segment, positions.get(positions.size() / 2) + 20);

        // Every record was committed: the replica holds the overwrites, so the records are the only copy
        // of the checkpoint's content. Truncating them would serve a wrong image of the checkpoint.
        assertThatThrownBy(() -> ImageStore.open(groupDir, model.specs()))
            .isInstanceOf(ImageStoreException.class)
            .hasMessageContaining("undo segment " + segment + " is damaged at byte " + positions.get(positions.size() / 2))
            .hasMessageContaining("resynchronised");
        assertThat(Files.size(segment)).as("the damaged file is kept for inspection").isEqualTo(size);
    }

    @Test
    void aDamagedRecordNoCommitDependsOnEndsTheSegmentThereAndTheResendRestoresExactImages() throws IOException
    {
        groupDir = dir.resolve("g");
        writes(30);
        final long checkpointSeq = checkpoint();
        writes(30);
        final int committed = model.log().size();
        writes(30);
        try (ImageStore store = ImageStore.open(groupDir, model.specs()))
        {
            model.feed(store, 0, committed);
            store.commit(model.log().get(committed - 1).seq());
            store.writeStageHook(CrashingHook.once(WriteStage.UNDO_DURABLE));
            model.feed(store, committed, model.log().size());
            assertThatThrownBy(() -> store.commit(model.log().get(model.log().size() - 1).seq()))
                .isInstanceOf(CrashingHook.SimulatedCrash.class);
        }
        final Path segment = UndoFiles.segment(groupDir, checkpointSeq);
        final List<Long> positions = UndoFiles.recordPositions(groupDir, checkpointSeq, model.specs());
        final long damaged = positions.get(positions.size() - 2);
        flipByte(segment, damaged + 20);

        try (ImageStore store = ImageStore.open(groupDir, model.specs()))
        {
            assertThat(Files.size(segment)).isEqualTo(damaged);
            assertThat(store.lastSeq()).isEqualTo(model.log().get(committed - 1).seq());
            resendAndCommit(store);
            assertEveryImageExact(store);
        }
    }

    @Test
    void aCheckpointRecordTornByACrashIsTruncatedAndTheResentCheckpointIsRecordedAgain() throws IOException
    {
        groupDir = dir.resolve("g");
        writes(30);
        final long first = checkpoint();
        writes(30);
        final int beforeSecond = model.log().size();
        final long second = checkpoint();
        writes(30);
        try (ImageStore store = ImageStore.open(groupDir, model.specs()))
        {
            model.feed(store, 0, beforeSecond);
            store.writeStageHook(CrashingHook.once(WriteStage.CHECKPOINT_DURABLE));
            assertThatThrownBy(() -> GroupModel.feed(store, model.log().get(beforeSecond)))
                .isInstanceOf(CrashingHook.SimulatedCrash.class);
        }
        final Path catalog = groupDir.resolve(StoreLayout.CATALOG_FILE);
        truncate(catalog, Files.size(catalog) - 5);

        try (ImageStore store = ImageStore.open(groupDir, model.specs()))
        {
            assertThat(store.checkpoints()).extracting(Checkpoint::seq).containsExactly(first);
            assertThat(store.lastSeq()).isEqualTo(second - 1);
            resendAndCommit(store);
            assertThat(store.checkpoints()).extracting(Checkpoint::seq).containsExactly(first, second);
            assertEveryImageExact(store);
        }
    }

    @Test
    void aDamagedCheckpointRecordThatACommitFollowedIsRefusedNotTruncated() throws IOException
    {
        groupDir = dir.resolve("g");
        writes(30);
        final long first = checkpoint();
        writes(30);
        checkpoint();
        try (ImageStore store = ImageStore.open(groupDir, model.specs()))
        {
            model.feedAllAndCommit(store);
            assertThat(store.lastSeq()).isEqualTo(model.log().get(model.log().size() - 1).seq());
        }
        final Path catalog = groupDir.resolve(StoreLayout.CATALOG_FILE);
        final long size = Files.size(catalog);
        flipByte(catalog, size - 3);

        // The second checkpoint is at or below lastSeq: the agent will not send it again. Truncating its
        // record as a torn tail would lose it for good.
        assertThatThrownBy(() -> ImageStore.open(groupDir, model.specs()))
            .isInstanceOf(ImageStoreException.class)
            .hasMessageContaining("checkpoint catalog " + catalog + " is damaged: its readable records end at " +
                "checkpoint seq " + first)
            .hasMessageContaining("resynchronised");
        assertThat(Files.size(catalog)).as("the damaged file is kept for inspection").isEqualTo(size);
    }

    @Test
    void aSealedSegmentCutAtARecordBoundaryIsRefusedByTheImagesThatNeedIt() throws IOException
    {
        groupDir = dir.resolve("g");
        writes(30);
        final long first = checkpoint();
        writes(30);
        final long second = checkpoint();
        writes(30);
        try (ImageStore store = ImageStore.open(groupDir, model.specs()))
        {
            model.feedAllAndCommit(store);
        }
        final List<Long> positions = UndoFiles.recordPositions(groupDir, first, model.specs());
        truncate(UndoFiles.segment(groupDir, first), positions.get(positions.size() - 1));

        try (ImageStore store = ImageStore.open(groupDir, model.specs()))
        {
            assertThatThrownBy(() -> store.openImage(first))
                .isInstanceOf(ImageStoreException.class)
                .hasMessageContaining("holds " + (positions.size() - 1) + " undo records, but the catalog records " +
                    positions.size() + " blocks changed in its interval");
            final ImageView view = store.openImage(second);
            for (int v = 0; v < model.specs().size(); v++)
            {
                assertMaterializes(view, v, model.image(second, v), dir, "checkpoint " + second);
            }
        }
    }

    @Test
    void aMissingSealedSegmentIsRefusedOnOpen() throws IOException
    {
        groupDir = dir.resolve("g");
        writes(30);
        final long first = checkpoint();
        writes(30);
        checkpoint();
        writes(30);
        try (ImageStore store = ImageStore.open(groupDir, model.specs()))
        {
            model.feedAllAndCommit(store);
        }
        Files.delete(UndoFiles.segment(groupDir, first));

        assertThatThrownBy(() -> ImageStore.open(groupDir, model.specs()))
            .isInstanceOf(ImageStoreException.class)
            .hasMessageContaining("undo segment " + UndoFiles.segment(groupDir, first) + " is missing");
    }

    @ParameterizedTest
    @EnumSource(WriteStage.class)
    void aCrashAtAnyWriteStageLosesNothingOnceTheAgentResends(final WriteStage stage) throws IOException
    {
        groupDir = dir.resolve("g");
        writes(30);
        checkpoint();
        writes(30);
        final int committed = model.log().size();
        writes(30);
        checkpoint();
        writes(30);
        try (ImageStore store = ImageStore.open(groupDir, model.specs()))
        {
            model.feed(store, 0, committed);
            store.commit(model.log().get(committed - 1).seq());
            store.writeStageHook(CrashingHook.once(stage));
            assertThatThrownBy(() -> model.feedAllAndCommit(store)).isInstanceOf(CrashingHook.SimulatedCrash.class);
        }
        try (ImageStore store = ImageStore.open(groupDir, model.specs()))
        {
            resendAndCommit(store);
            assertEveryImageExact(store);
        }
    }

    @Test
    void undoRecordsAboveLastSeqSurviveACrashAndTheResentWritesMakeNoSecondOne() throws IOException
    {
        groupDir = dir.resolve("g");
        writes(30);
        final long checkpointSeq = checkpoint();
        final int afterCheckpoint = model.log().size();
        for (long b = 100; b < 120; b++)
        {
            model.write(0, b, GroupModel.randomContent(random, 4096));
        }
        try (ImageStore store = ImageStore.open(groupDir, model.specs()))
        {
            model.feed(store, 0, afterCheckpoint);
            store.commit(checkpointSeq);
            store.writeStageHook(CrashingHook.once(WriteStage.REPLICAS_WRITTEN));
            model.feed(store, afterCheckpoint, model.log().size());
            assertThatThrownBy(() -> store.commit(model.log().get(model.log().size() - 1).seq()))
                .isInstanceOf(CrashingHook.SimulatedCrash.class);
        }
        assertThat(UndoFiles.recordCount(groupDir, checkpointSeq, model.specs())).isEqualTo(20);
        try (ImageStore store = ImageStore.open(groupDir, model.specs()))
        {
            assertThat(store.lastSeq()).isEqualTo(checkpointSeq);
            resendAndCommit(store);
            assertThat(store.undoRecordsWritten()).isZero();
            assertThat(UndoFiles.recordCount(groupDir, checkpointSeq, model.specs())).isEqualTo(20);
            assertEveryImageExact(store);
        }
    }

    @Test
    void aFailedStoreRefusesWritesUntilReopened() throws IOException
    {
        groupDir = dir.resolve("g");
        writes(5);
        checkpoint();
        writes(5);
        try (ImageStore store = ImageStore.open(groupDir, model.specs()))
        {
            store.writeStageHook(CrashingHook.once(WriteStage.REPLICAS_DURABLE));
            assertThatThrownBy(() -> model.feedAllAndCommit(store)).isInstanceOf(CrashingHook.SimulatedCrash.class);
            assertThatThrownBy(() -> store.applyBlock(1000, 0, 0, ByteBuffer.allocate(4096)))
                .isInstanceOf(ImageStoreException.class)
                .hasMessageContaining("close it and open it again");
        }
    }

    private void writes(final int count)
    {
        for (int i = 0; i < count; i++)
        {
            model.randomWrite(random);
        }
    }

    private long checkpoint()
    {
        return model.checkpoint().seq();
    }

    /** What the agent does on reconnect: sends everything after the store's lastSeq, then commits. */
    private void resendAndCommit(final ImageStore store) throws IOException
    {
        model.feed(store, model.indexAfter(store.lastSeq()), model.log().size());
        store.commit(model.log().get(model.log().size() - 1).seq());
    }

    private void assertEveryImageExact(final ImageStore store) throws IOException
    {
        assertThat(store.checkpoints()).extracting(Checkpoint::seq).containsExactlyElementsOf(model.images().keySet());
        for (final long checkpointSeq : model.images().keySet())
        {
            final ImageView view = store.openImage(checkpointSeq);
            for (int v = 0; v < model.specs().size(); v++)
            {
                assertMaterializes(view, v, model.image(checkpointSeq, v), dir, "checkpoint " + checkpointSeq);
            }
        }
        for (int v = 0; v < model.specs().size(); v++)
        {
            assertMaterializes(store.openLatest(), v, model.current(v), dir, "latest");
        }
    }

    private static void appendGarbage(final Path file, final int length) throws IOException
    {
        final byte[] garbage = new byte[length];
        new Random(length).nextBytes(garbage);
        Files.write(file, garbage, StandardOpenOption.APPEND);
    }

    private static void truncate(final Path file, final long length) throws IOException
    {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE))
        {
            channel.truncate(length);
        }
    }

    private static void flipByte(final Path file, final long position) throws IOException
    {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE))
        {
            final ByteBuffer one = ByteBuffer.allocate(1);
            channel.read(one, position);
            one.put(0, (byte)(one.get(0) ^ 0x5A)).rewind();
            channel.write(one, position);
        }
    }
}
