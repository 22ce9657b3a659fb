package dev.replicator.target.image;

import dev.replicator.core.volume.VolumeSpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/** Opening an image costs the undo records written since its checkpoint, not the volume size. */
class ImageCostTest
{
    private static final int BLOCK_SIZE = 4096;
    private static final long BLOCKS = 262_144;

    @TempDir
    Path dir;

    @Test
    void openingAnImageOfAOneGibVolumeReadsOnlyTheRecordsWrittenSinceItsCheckpoint() throws IOException
    {
        final List<VolumeSpec> specs = List.of(new VolumeSpec("big", Path.of("/dev/null"), BLOCKS * BLOCK_SIZE, BLOCK_SIZE));
        final Random random = new Random(8);
        long seq = 0;
        try (ImageStore store = ImageStore.open(dir.resolve("g"), specs))
        {
            for (int i = 0; i < 100; i++)
            {
                store.applyBlock(++seq, 0, random.nextInt((int)BLOCKS), block(random));
            }
            final long first = ++seq;
            store.addCheckpoint(first, 0, "first");
            final long[] changedAfterFirst = {7, 70_000, 150_000, 262_143, 9};
            final ByteBuffer[] contentAtFirst = new ByteBuffer[changedAfterFirst.length];
            final ImageView latestBefore = store.openLatest();
            for (int i = 0; i < changedAfterFirst.length; i++)
            {
                contentAtFirst[i] = ByteBuffer.allocate(BLOCK_SIZE);
                latestBefore.readBlock(0, changedAfterFirst[i], contentAtFirst[i]);
                contentAtFirst[i].flip();
                store.applyBlock(++seq, 0, changedAfterFirst[i], block(random));
            }
            store.commit(seq);
            final long second = ++seq;
            store.addCheckpoint(second, 0, "second");
            store.applyBlock(++seq, 0, 7, block(random));
            store.applyBlock(++seq, 0, 1000, block(random));
            store.applyBlock(++seq, 0, 1001, block(random));
            final long third = ++seq;
            store.addCheckpoint(third, 0, "third");
            store.commit(seq);

            final ImageView ofFirst = store.openImage(first);
            assertThat(ofFirst.undoRecordsScanned()).isEqualTo(5 + 3);
            assertThat(ofFirst.overriddenBlocks(0)).as("block 7 counts once").isEqualTo(7);
            assertThat(store.openImage(second).undoRecordsScanned()).isEqualTo(3);
            assertThat(store.openImage(third).undoRecordsScanned()).isZero();

            final ByteBuffer read = ByteBuffer.allocate(BLOCK_SIZE);
            for (int i = 0; i < changedAfterFirst.length; i++)
            {
                read.clear();
                ofFirst.readBlock(0, changedAfterFirst[i], read);
                read.flip();
                assertThat(read).as("block %d as of the first checkpoint", changedAfterFirst[i])
                    .isEqualTo(contentAtFirst[i]);
            }
        }
    }

    private static ByteBuffer block(final Random random)
    {
        final byte[] bytes = new byte[BLOCK_SIZE];
        random.nextBytes(bytes);
        return ByteBuffer.wrap(bytes);
    }
}
