package dev.replicator.target.image;

import dev.replicator.core.codec.Checksums;
import dev.replicator.core.volume.VolumeSpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ImageViewTest
{
    @TempDir
    Path dir;

    private final Random random = new Random(12);
    private final GroupModel model = new GroupModel(GroupModel.twoSmallVolumes());

    @Test
    void readBlockAndFingerprintAgreeWithTheModel() throws IOException
    {
        try (ImageStore store = openWithHistory())
        {
            final long checkpointSeq = model.images().keySet().iterator().next();
            final ImageView view = store.openImage(checkpointSeq);
            for (int v = 0; v < model.specs().size(); v++)
            {
                final VolumeSpec spec = model.specs().get(v);
                final ByteBuffer block = ByteBuffer.allocate(spec.blockSize() + 10);
                block.position(10);
                for (long b = 0; b < spec.blockCount(); b += 7)
                {
                    final byte[] expected = model.block(model.image(checkpointSeq, v), v, b);
                    block.clear().position(10);
                    view.readBlock(v, b, block);
                    assertThat(block.position()).isEqualTo(10 + spec.blockSize());
                    final byte[] actual = new byte[spec.blockSize()];
                    block.get(10, actual);
                    assertThat(actual).as("volume %d block %d", v, b).isEqualTo(expected);
                    assertThat(view.fingerprint(v, b)).isEqualTo(Checksums.xxHash64(expected, 0, expected.length));
                }
            }
        }
    }

    @Test
    void materializeReportsProgressToTheVolumeSizeAndRefusesAnExistingFile() throws IOException
    {
        try (ImageStore store = openWithHistory())
        {
            final ImageView latest = store.openLatest();
            final List<long[]> progress = new ArrayList<>();
            final Path out = dir.resolve("out.img");
            latest.materialize(0, out, (done, total) -> progress.add(new long[] {done, total}));
            assertThat(progress).isNotEmpty();
            assertThat(progress.get(progress.size() - 1)).containsExactly(256L * 4096, 256L * 4096);
            assertThat(Files.size(out)).isEqualTo(256L * 4096);

            assertThatThrownBy(() -> latest.materialize(0, out, null))
                .isInstanceOf(ImageStoreException.class)
                .hasMessageContaining("already exists");
        }
    }

    @Test
    void aClosedStoreMakesItsViewsFailClearly() throws IOException
    {
        final ImageStore store = openWithHistory();
        final ImageView view = store.openImage(model.images().keySet().iterator().next());
        store.close();
        assertThatThrownBy(() -> view.fingerprint(0, 0))
            .isInstanceOf(ImageStoreException.class)
            .hasMessageContaining("is closed");
        assertThatThrownBy(store::openLatest).isInstanceOf(ImageStoreException.class);
    }

    @Test
    void badArgumentsAreRefusedWithoutHarm() throws IOException
    {
        try (ImageStore store = openWithHistory())
        {
            assertThatThrownBy(() -> store.applyBlock(10_000, 2, 0, ByteBuffer.allocate(4096)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("volume index 2");
            assertThatThrownBy(() -> store.applyBlock(10_000, 0, 256, ByteBuffer.allocate(4096)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("outside volume 'data'");
            assertThatThrownBy(() -> store.applyBlock(10_000, 0, 0, ByteBuffer.allocate(100)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("4096 bytes");
            assertThatThrownBy(() -> store.addCheckpoint(10_000, 0, "x".repeat(2000)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("label");
            final long latestCheckpoint = store.checkpoints().get(store.checkpoints().size() - 1).seq();
            store.addCheckpoint(latestCheckpoint, 0, "resent after a crash: ignored");
            assertThat(store.checkpoints()).extracting(Checkpoint::label).doesNotContain("resent after a crash: ignored");
            store.applyBlock(latestCheckpoint + 1, 0, 0, ByteBuffer.allocate(4096));
            store.applyBlock(latestCheckpoint + 3, 0, 0, ByteBuffer.allocate(4096));
            assertThatThrownBy(() -> store.addCheckpoint(latestCheckpoint + 2, 0, "inside the batch"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not above the writes before it");
            store.commit(latestCheckpoint + 3);
            assertThatThrownBy(() -> store.addCheckpoint(latestCheckpoint + 2, 0, "below lastSeq"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not above lastSeq");
            store.addCheckpoint(10_000, 5, null);
            store.commit(10_000);
            assertThat(store.checkpoint(10_000)).map(Checkpoint::label).contains("");
            assertThat(store.lastSeq()).isEqualTo(10_000);
        }
    }

    private ImageStore openWithHistory() throws IOException
    {
        for (int i = 0; i < 200; i++)
        {
            if (i % 50 == 49)
            {
                model.checkpoint();
            }
            else
            {
                model.randomWrite(random);
            }
        }
        final ImageStore store = ImageStore.open(dir.resolve("g"), model.specs());
        model.feedAllAndCommit(store);
        return store;
    }
}
