package dev.replicator.target.image;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/** What failback needs: the blocks the replica received after an image are exactly the ones written after it. */
class ChangedSinceImageTest
{
    @TempDir
    Path dir;

    @Test
    void changedSinceImageIsExactlyTheBlocksWrittenAfterTheCheckpoint() throws IOException
    {
        final Random random = new Random(77);
        final GroupModel model = new GroupModel(GroupModel.twoSmallVolumes());
        for (int i = 0; i < 800; i++)
        {
            if (i % 90 == 45)
            {
                model.checkpoint();
            }
            else
            {
                model.randomWrite(random);
            }
        }
        try (ImageStore store = ImageStore.open(dir.resolve("g"), model.specs()))
        {
            model.feedAllAndCommit(store);
            for (final long checkpointSeq : model.images().keySet())
            {
                final ImageView view = store.openImage(checkpointSeq);
                for (int v = 0; v < model.specs().size(); v++)
                {
                    assertThat(view.changedSinceImage(v))
                        .as("checkpoint %d volume %d", checkpointSeq, v)
                        .isEqualTo(model.writtenAfter(checkpointSeq, v));
                    assertThat(view.overriddenBlocks(v)).isEqualTo(model.writtenAfter(checkpointSeq, v).cardinality());
                }
            }
            assertThat(store.openLatest().changedSinceImage(0).isEmpty()).isTrue();
        }
    }

    @Test
    void changedSinceImageGrowsWithWritesAfterTheViewWasOpened() throws IOException
    {
        final Random random = new Random(78);
        final GroupModel model = new GroupModel(GroupModel.twoSmallVolumes());
        try (ImageStore store = ImageStore.open(dir.resolve("g"), model.specs()))
        {
            GroupModel.feed(store, model.write(0, 1, GroupModel.randomContent(random, 4096)));
            final GroupModel.Op checkpoint = model.checkpoint();
            GroupModel.feed(store, checkpoint);
            GroupModel.feed(store, model.write(0, 2, GroupModel.randomContent(random, 4096)));
            store.commit(checkpoint.seq() + 1);
            final ImageView view = store.openImage(checkpoint.seq());
            assertThat(view.changedSinceImage(0)).isEqualTo(model.writtenAfter(checkpoint.seq(), 0));

            GroupModel.feed(store, model.write(0, 3, GroupModel.randomContent(random, 4096)));
            GroupModel.feed(store, model.checkpoint());
            GroupModel.feed(store, model.write(0, 4, GroupModel.randomContent(random, 4096)));
            store.commit(checkpoint.seq() + 4);

            assertThat(view.changedSinceImage(0)).isEqualTo(model.writtenAfter(checkpoint.seq(), 0));
            assertThat(view.changedSinceImage(0).cardinality()).isEqualTo(3);
        }
    }
}
