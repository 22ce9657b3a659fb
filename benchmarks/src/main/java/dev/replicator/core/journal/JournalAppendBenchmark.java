package dev.replicator.core.journal;

import dev.replicator.core.codec.BlockData;
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
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * {@link Journal#appendWrite} of one 4 KiB entry, the cost a capture adds to every write, in
 * SampleTime mode so JMH prints the latency percentiles (p50, p99, p99.9, p99.99) and not only
 * the mean.
 * <ul>
 *   <li>{@code sync=false}: the default ({@code journal.sync = checkpoint}): the entry is in the
 *       page cache through mmap and survives a process crash.</li>
 *   <li>{@code sync=true}: {@link Journal#sync()} after every entry (an fsync of the cycle file),
 *       the cost of surviving a power loss per write.</li>
 * </ul>
 * Warm/cold: the payload is warm (one reused buffer). The queue's pages are not: each new 4 KiB of
 * the mapped cycle file is touched first by an append (the p99.9), unless {@code pretouch} has a
 * thread fault them in ahead ({@link JournalPretoucher}, the default). The
 * journal directory lives in {@code java.io.tmpdir} (the root disk here, not tmpfs).
 */
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@State(Scope.Thread)
public class JournalAppendBenchmark
{
    static final int ENTRY_BYTES = 4096;

    @Param({"false", "true"})
    public boolean sync;

    /** Whether the journal faults cycle-file pages in ahead of the appender ({@link JournalPretoucher}). */
    @Param({"true", "false"})
    public boolean pretouch;

    private Path directory;
    private Journal journal;
    private ByteBuffer payload;
    private long block;

    @Setup(Level.Trial)
    public void setUp() throws IOException
    {
        System.setProperty(JournalPretoucher.ENABLED_PROP_NAME, Boolean.toString(pretouch));
        directory = Files.createTempDirectory("journal-bench");
        journal = Journal.open(JournalConfig.builder(directory).build());
        payload = BlockData.directBuffer(ENTRY_BYTES);
        BlockData.fillText(payload, 7);
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException
    {
        journal.close();
        try (Stream<Path> files = Files.walk(directory))
        {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    @Benchmark
    public long append4KiB()
    {
        final long seq = journal.appendWrite(0, block++ & 0xFFFFF, payload, 0, ENTRY_BYTES);
        if (sync)
        {
            journal.sync();
        }
        return seq;
    }
}
