package dev.replicator.target.image;

import dev.replicator.core.codec.BlockData;
import dev.replicator.core.codec.BytesProcessed;
import dev.replicator.core.volume.VolumeSpec;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The target's apply path for one received frame: {@link ImageStore#applyBlock} for each of its
 * blocks, then {@link ImageStore#commit}, which writes undo records, the replica and the durable
 * seq with an fsync after each (the ordering an ACK promises). One operation is one frame.
 * <ul>
 *   <li>{@code blocksPerFrame=1}: a lone 4 KiB write (a frame sent because the journal ran dry):
 *       three fsyncs per 4 KiB.</li>
 *   <li>{@code blocksPerFrame=256}: a full 1 MiB frame of random 4 KiB blocks.</li>
 *   <li>{@code undo=true}: a checkpoint is taken at setup, so the first write of each block after
 *       it saves the old content first (undo record, fsync); with a 1 GiB volume most writes in a
 *       short run are first writes.</li>
 * </ul>
 * Secondary result {@code :bytes}: plain bytes per microsecond = MB/s. Files: the root disk (not
 * tmpfs) under {@code java.io.tmpdir}; the replica is sparse, so writes first allocate.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@State(Scope.Thread)
public class ImageStoreApplyBenchmark
{
    static final int BLOCK_BYTES = 4096;
    static final long VOLUME_BYTES = 1L << 30;

    @Param({"1", "256"})
    public int blocksPerFrame;

    @Param({"false", "true"})
    public boolean undo;

    private Path directory;
    private ImageStore store;
    private ByteBuffer blocks;
    private final SplittableRandom random = new SplittableRandom(42);
    private long seq;

    @Setup(Level.Trial)
    public void setUp() throws IOException
    {
        directory = Files.createTempDirectory("apply-bench");
        store = ImageStore.open(directory.resolve("group"),
            List.of(new VolumeSpec("disk0", directory.resolve("disk0"), VOLUME_BYTES, BLOCK_BYTES)));
        blocks = BlockData.directBuffer(256 * BLOCK_BYTES);
        BlockData.fillMixed(blocks, BLOCK_BYTES, 3);
        if (undo)
        {
            store.addCheckpoint(++seq, System.currentTimeMillis(), "bench");
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException
    {
        store.close();
        try (Stream<Path> files = Files.walk(directory))
        {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    @Benchmark
    public long applyFrame(final BytesProcessed processed) throws IOException
    {
        final long blockCount = VOLUME_BYTES / BLOCK_BYTES;
        for (int i = 0; i < blocksPerFrame; i++)
        {
            final ByteBuffer block = blocks.duplicate().position(i * BLOCK_BYTES).limit((i + 1) * BLOCK_BYTES);
            store.applyBlock(++seq, 0, random.nextLong(blockCount), block);
        }
        store.commit(seq);
        processed.bytes += (long)blocksPerFrame * BLOCK_BYTES;
        return store.lastSeq();
    }
}
