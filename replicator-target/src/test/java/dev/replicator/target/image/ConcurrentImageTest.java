package dev.replicator.target.image;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static dev.replicator.target.image.ImageAssertions.assertMaterializes;
import static dev.replicator.target.image.ImageAssertions.assertSameContent;
import static org.assertj.core.api.Assertions.assertThat;

/** Image views stay exact while the writer goes on, on the same thread and on another one. */
class ConcurrentImageTest
{
    @TempDir
    Path dir;

    @Test
    void aViewStaysExactWhileLaterWritesAndCheckpointsArrive() throws IOException
    {
        final Random random = new Random(4);
        final GroupModel model = new GroupModel(GroupModel.twoSmallVolumes());
        try (ImageStore store = ImageStore.open(dir.resolve("g"), model.specs()))
        {
            feedRandom(store, model, random, 100);
            final long checkpointSeq = feed(store, model.checkpoint());
            feedRandom(store, model, random, 50);
            store.commit(lastSeq(model));
            final ImageView view = store.openImage(checkpointSeq);
            final long scannedAtOpen = view.undoRecordsScanned();

            for (int round = 0; round < 5; round++)
            {
                feedRandom(store, model, random, 60);
                feed(store, model.checkpoint());
                feedRandom(store, model, random, 20);
                store.commit(lastSeq(model));
            }

            assertMaterializes(view, 0, model.image(checkpointSeq, 0), dir, "view opened before later writes");
            assertMaterializes(view, 1, model.image(checkpointSeq, 1), dir, "view opened before later writes");
            assertThat(view.undoRecordsScanned()).isGreaterThan(scannedAtOpen);
        }
    }

    @Test
    void anImageMaterializedOnAnotherThreadWhileTheWriterRunsIsExact() throws Exception
    {
        final Random random = new Random(5);
        final GroupModel model = new GroupModel(GroupModel.twoSmallVolumes());
        final ExecutorService reader = Executors.newSingleThreadExecutor();
        try (ImageStore store = ImageStore.open(dir.resolve("g"), model.specs()))
        {
            feedRandom(store, model, random, 300);
            final long checkpointSeq = feed(store, model.checkpoint());
            store.commit(checkpointSeq);
            final ImageView view = store.openImage(checkpointSeq);
            final CountDownLatch writerRunning = new CountDownLatch(1);
            final Future<List<byte[]>> produced = reader.submit(() ->
            {
                writerRunning.await();
                final List<byte[]> outputs = new ArrayList<>();
                for (int round = 0; round < 20; round++)
                {
                    final int v = round % 2;
                    final Path out = dir.resolve("concurrent-" + round + ".img");
                    view.materialize(v, out, null);
                    outputs.add(Files.readAllBytes(out));
                }
                return outputs;
            });
            // The writer keeps going from before the first read until after the last one.
            int batches = 0;
            do
            {
                feedRandom(store, model, random, 10);
                if (random.nextInt(10) == 0)
                {
                    feed(store, model.checkpoint());
                }
                store.commit(lastSeq(model));
                writerRunning.countDown();
                batches++;
            }
            while (!produced.isDone());
            System.out.println("writer batches while reading: " + batches);
            final List<byte[]> outputs = produced.get(1, TimeUnit.MINUTES);
            for (int round = 0; round < outputs.size(); round++)
            {
                final int v = round % 2;
                assertSameContent(outputs.get(round), model.image(checkpointSeq, v), model.specs().get(v),
                    "materialized concurrently, round " + round);
            }
        }
        finally
        {
            reader.shutdownNow();
            assertThat(reader.awaitTermination(1, TimeUnit.MINUTES)).isTrue();
        }
    }

    private static void feedRandom(final ImageStore store, final GroupModel model, final Random random, final int count)
        throws IOException
    {
        for (int i = 0; i < count; i++)
        {
            GroupModel.feed(store, model.randomWrite(random));
        }
    }

    private static long feed(final ImageStore store, final GroupModel.Op op) throws IOException
    {
        GroupModel.feed(store, op);
        return op.seq();
    }

    private static long lastSeq(final GroupModel model)
    {
        return model.log().get(model.log().size() - 1).seq();
    }
}
