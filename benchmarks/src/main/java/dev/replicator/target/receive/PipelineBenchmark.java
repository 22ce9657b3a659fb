package dev.replicator.target.receive;

import dev.replicator.core.codec.BlockData;
import dev.replicator.core.codec.BytesProcessed;
import dev.replicator.core.journal.Journal;
import dev.replicator.core.journal.JournalConfig;
import dev.replicator.core.journal.JournalEntryHandler;
import dev.replicator.core.journal.JournalReader;
import dev.replicator.core.volume.VolumeSpec;
import dev.replicator.core.wire.CorruptFrameException;
import dev.replicator.core.wire.DataFrameDecoder;
import dev.replicator.core.wire.DataFrameEncoder;
import dev.replicator.core.wire.DecodedBatch;
import dev.replicator.core.wire.Frame;
import dev.replicator.core.wire.FrameFixtures;
import dev.replicator.core.wire.MessageType;
import dev.replicator.target.image.ImageStore;
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
 * The whole data path in one thread, no socket: 256 writes of 4 KiB appended to the journal, read
 * back, encoded into one frame (LZ4 + xxHash64 per block, CRC32C per frame), the frame checked and
 * decoded (every record's xxHash64), applied to the image store and committed (fsyncs). One
 * operation is one 1 MiB frame.
 * <ul>
 *   <li>{@code commit=true}: as the target does it, fsyncs included.</li>
 *   <li>{@code commit=false}: the replica writes and fsyncs are left out (blocks decoded into the
 *       batch but not applied): the CPU cost of the pipeline, to compare with the codec ceiling.</li>
 * </ul>
 * Data: {@code MIXED} (a quarter random, half text, a quarter zero), {@code RANDOM}, {@code TEXT}.
 * Warm: the source blocks and every buffer are reused; journal pages are first-touched as the
 * queue grows.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@State(Scope.Thread)
public class PipelineBenchmark
{
    static final int BLOCK_BYTES = 4096;
    static final int BLOCKS_PER_FRAME = 256;
    static final long VOLUME_BYTES = 1L << 30;

    /** What the written blocks hold. */
    public enum Data
    {
        MIXED, RANDOM, TEXT
    }

    @Param({"MIXED", "RANDOM", "TEXT"})
    public Data data;

    @Param({"true", "false"})
    public boolean commit;

    private Path directory;
    private Journal journal;
    private JournalReader reader;
    private ImageStore store;
    private ByteBuffer blocks;
    private final DataFrameEncoder encoder = new DataFrameEncoder();
    private DataFrameDecoder decoder;
    private final Frame frame = new Frame();
    private final SplittableRandom random = new SplittableRandom(42);
    private final JournalEntryHandler filler = new JournalEntryHandler()
    {
        @Override
        public void onWrite(final long seq, final long timestampMs, final int volumeIndex, final long firstBlock,
            final ByteBuffer payload)
        {
            encoder.addBlock(seq, volumeIndex, firstBlock, payload, 0, BLOCK_BYTES);
        }

        @Override
        public void onCheckpoint(final long seq, final long timestampMs, final String label)
        {
        }
    };

    @Setup(Level.Trial)
    public void setUp() throws IOException
    {
        directory = Files.createTempDirectory("pipeline-bench");
        journal = Journal.open(JournalConfig.builder(directory.resolve("journal")).build());
        reader = journal.reader(journal.lastSeq());
        final VolumeSpec spec = new VolumeSpec("disk0", directory.resolve("disk0"), VOLUME_BYTES, BLOCK_BYTES);
        store = ImageStore.open(directory.resolve("group"), List.of(spec));
        decoder = new DataFrameDecoder(new int[] {BLOCK_BYTES}, new long[] {spec.blockCount()});
        blocks = BlockData.directBuffer(BLOCKS_PER_FRAME * BLOCK_BYTES);
        switch (data)
        {
            case MIXED -> BlockData.fillMixed(blocks, BLOCK_BYTES, 5);
            case RANDOM -> BlockData.fillRandom(blocks, 5);
            case TEXT -> BlockData.fillText(blocks, 5);
            default -> throw new IllegalStateException("no filler for " + data);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException
    {
        reader.close();
        journal.close();
        store.close();
        try (Stream<Path> files = Files.walk(directory))
        {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    @Benchmark
    public long journalFrameDecodeApply(final BytesProcessed processed) throws IOException, CorruptFrameException
    {
        final long blockCount = VOLUME_BYTES / BLOCK_BYTES;
        for (int i = 0; i < BLOCKS_PER_FRAME; i++)
        {
            journal.appendWrite(0, random.nextLong(blockCount), blocks, i * BLOCK_BYTES, BLOCK_BYTES);
        }
        encoder.begin();
        int polled = 0;
        while (polled < BLOCKS_PER_FRAME)
        {
            polled += reader.poll(filler, BLOCKS_PER_FRAME - polled);
        }
        final ByteBuffer finished = encoder.finish(MessageType.DATA, 1);
        final DecodedBatch batch = decoder.decode(FrameFixtures.received(finished, frame), store.lastSeq());
        if (commit)
        {
            for (int i = 0; i < batch.size(); i++)
            {
                store.applyBlock(batch.seq(i), batch.volumeIndex(i), batch.blockIndex(i), batch.block(i));
            }
            store.commit(encoder.lastSeq());
        }
        processed.bytes += (long)BLOCKS_PER_FRAME * BLOCK_BYTES;
        return batch.size();
    }
}
