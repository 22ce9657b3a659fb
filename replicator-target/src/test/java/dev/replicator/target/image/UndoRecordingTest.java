package dev.replicator.target.image;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

import static dev.replicator.target.image.ImageAssertions.assertMaterializes;
import static org.assertj.core.api.Assertions.assertThat;

/** Undo is written for the first overwrite of a block in each checkpoint interval only, never before the first. */
class UndoRecordingTest
{
    @TempDir
    Path dir;

    private final Random random = new Random(3);
    private final GroupModel model = new GroupModel(GroupModel.twoSmallVolumes());

    @Test
    void noUndoIsWrittenBeforeTheFirstCheckpoint() throws IOException
    {
        final Path groupDir = dir.resolve("g");
        try (ImageStore store = ImageStore.open(groupDir, model.specs()))
        {
            for (int round = 0; round < 3; round++)
            {
                for (long b = 0; b < 50; b++)
                {
                    GroupModel.feed(store, model.write(round % 2, b, GroupModel.randomContent(random, round % 2 == 0 ? 4096 : 1024)));
                }
                store.commit(lastSeq());
            }
            assertThat(store.undoRecordsWritten()).isZero();
            assertThat(UndoFiles.segmentBases(groupDir)).isEmpty();

            final long checkpointSeq = model.checkpoint().seq();
            GroupModel.feed(store, model.log().get(model.log().size() - 1));
            assertThat(store.checkpoint(checkpointSeq)).map(Checkpoint::blocksChanged).contains(100L);
            assertThat(UndoFiles.segmentBases(groupDir)).as("a segment is created on its first record").isEmpty();
            assertMaterializes(store.openImage(checkpointSeq), 0, model.image(checkpointSeq, 0), dir, "first checkpoint");
        }
    }

    @Test
    void onlyTheFirstOverwriteOfABlockInAnIntervalWritesUndo() throws IOException
    {
        final Path groupDir = dir.resolve("g");
        try (ImageStore store = ImageStore.open(groupDir, model.specs()))
        {
            write(store, 0, 5);
            write(store, 0, 6);
            store.commit(lastSeq());
            final long first = checkpoint(store);

            write(store, 0, 5);
            write(store, 0, 5);
            write(store, 0, 5);
            write(store, 0, 6);
            store.commit(lastSeq());
            assertThat(store.undoRecordsWritten()).isEqualTo(2);

            write(store, 0, 5);
            write(store, 0, 6);
            write(store, 0, 7);
            write(store, 1, 5);
            store.commit(lastSeq());
            assertThat(store.undoRecordsWritten()).isEqualTo(4);
            assertThat(UndoFiles.recordCount(groupDir, first, model.specs())).isEqualTo(4);
            final long firstSegmentBytes = Files.size(UndoFiles.segment(groupDir, first));

            final long second = checkpoint(store);
            assertThat(store.checkpoint(second)).map(Checkpoint::blocksChanged).contains(4L);
            write(store, 0, 5);
            write(store, 0, 5);
            store.commit(lastSeq());

            assertThat(store.undoRecordsWritten()).isEqualTo(5);
            assertThat(UndoFiles.segmentBases(groupDir)).containsExactly(first, second);
            assertThat(UndoFiles.recordCount(groupDir, second, model.specs())).isEqualTo(1);
            assertThat(Files.size(UndoFiles.segment(groupDir, first))).isEqualTo(firstSegmentBytes);
            for (final long checkpointSeq : model.images().keySet())
            {
                assertMaterializes(store.openImage(checkpointSeq), 0, model.image(checkpointSeq, 0), dir, "cp");
                assertMaterializes(store.openImage(checkpointSeq), 1, model.image(checkpointSeq, 1), dir, "cp");
            }
        }
    }

    @Test
    void zeroAndCompressibleOldContentIsStoredCompactly() throws IOException
    {
        final Path groupDir = dir.resolve("g");
        try (ImageStore store = ImageStore.open(groupDir, model.specs()))
        {
            final long checkpointSeq = checkpoint(store);
            for (long b = 0; b < 100; b++)
            {
                write(store, 0, b);
            }
            store.commit(lastSeq());
            final long bytesPerRecord = (Files.size(UndoFiles.segment(groupDir, checkpointSeq)) -
                UndoSegmentDescriptor.HEADER_LENGTH) / 100;
            assertThat(bytesPerRecord).as("old content was all zero: header only").isEqualTo(
                UndoRecordDescriptor.HEADER_LENGTH);
        }
    }

    @Test
    void resentWritesAtOrBelowLastSeqAreSkipped() throws IOException
    {
        final Path groupDir = dir.resolve("g");
        try (ImageStore store = ImageStore.open(groupDir, model.specs()))
        {
            write(store, 0, 1);
            final long oldWrite = lastSeq();
            write(store, 0, 1);
            final long checkpointSeq = checkpoint(store);
            write(store, 0, 1);
            store.commit(lastSeq());

            GroupModel.feed(store, model.log().get(model.indexAfter(oldWrite - 1)));
            GroupModel.feed(store, model.log().get(model.indexAfter(checkpointSeq - 1)));
            store.commit(oldWrite);

            assertThat(store.duplicateWritesSkipped()).isEqualTo(1);
            assertThat(store.lastSeq()).isEqualTo(lastSeq());
            assertThat(store.checkpoints()).hasSize(1);
            assertMaterializes(store.openLatest(), 0, model.current(0), dir, "latest");
            assertMaterializes(store.openImage(checkpointSeq), 0, model.image(checkpointSeq, 0), dir, "checkpoint");
        }
    }

    private void write(final ImageStore store, final int volumeIndex, final long blockIndex) throws IOException
    {
        final int blockSize = model.specs().get(volumeIndex).blockSize();
        GroupModel.feed(store, model.write(volumeIndex, blockIndex, GroupModel.randomContent(random, blockSize)));
    }

    private long checkpoint(final ImageStore store) throws IOException
    {
        final GroupModel.Op checkpoint = model.checkpoint();
        GroupModel.feed(store, checkpoint);
        return checkpoint.seq();
    }

    private long lastSeq()
    {
        return model.log().get(model.log().size() - 1).seq();
    }
}
