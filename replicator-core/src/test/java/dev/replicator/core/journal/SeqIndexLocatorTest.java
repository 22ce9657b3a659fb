package dev.replicator.core.journal;

import net.openhft.chronicle.core.time.SetTimeProvider;
import net.openhft.chronicle.queue.ExcerptAppender;
import net.openhft.chronicle.queue.ExcerptTailer;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueue;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueueBuilder;
import net.openhft.chronicle.queue.rollcycles.TestRollCycles;
import net.openhft.chronicle.wire.DocumentContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32C;

import static org.assertj.core.api.Assertions.assertThat;

/** The search behind {@link Journal#reader(long)}, on raw queues shaped to stress it. */
class SeqIndexLocatorTest
{
    @TempDir
    Path directory;

    private final SetTimeProvider clock =
        new SetTimeProvider(TimeUnit.MILLISECONDS.toNanos(System.currentTimeMillis() - 3_600_000));
    private SingleChronicleQueue queue;
    private ExcerptAppender appender;
    private ExcerptTailer tailer;
    private final JournalEntryDecoder decoder = new JournalEntryDecoder(0);
    private final ByteBuffer header =
        ByteBuffer.allocate(JournalEntryDescriptor.HEADER_LENGTH).order(ByteOrder.LITTLE_ENDIAN);
    private final CRC32C crc = new CRC32C();

    @BeforeEach
    void openQueue()
    {
        queue = SingleChronicleQueueBuilder.binary(directory).rollCycle(TestRollCycles.TEST_SECONDLY).timeProvider(clock).build();
        appender = queue.createAppender();
        tailer = queue.createTailer();
    }

    @AfterEach
    void closeQueue()
    {
        tailer.close();
        appender.close();
        queue.close();
    }

    private void append(final long seq)
    {
        try (DocumentContext dc = appender.writingDocument())
        {
            JournalEntryDescriptor.encodeHeader(header, seq, 0, 0, 0, 0, JournalEntryDescriptor.TYPE_CHECKPOINT);
            JournalEntryDescriptor.write(dc.wire().bytes(), header, crc, ByteBuffer.allocate(0), 0, 0);
        }
    }

    private List<CycleFiles.CycleFile> cycles() throws IOException
    {
        return new CycleFiles(directory, queue).list();
    }

    private long seqAtLocatedIndex(final long seq) throws IOException
    {
        final SeqProbe probe = new SeqProbe(tailer, queue.rollCycle(), directory, decoder);
        final long index = SeqIndexLocator.indexOf(probe, cycles(), seq);
        return index == SeqIndexLocator.NOT_FOUND ? SeqProbe.NO_SEQ : new SeqProbe(tailer, queue.rollCycle(), directory, decoder).seqAt(index);
    }

    @Test
    void shouldFindAnySeqReadingOnlyAFewEntries() throws IOException
    {
        final int cycleCount = 64;
        final int perCycle = 200;
        long seq = 0;
        for (int c = 0; c < cycleCount; c++)
        {
            for (int i = 0; i < perCycle; i++)
            {
                append(++seq);
            }
            clock.advanceMillis(1000);
        }
        final List<CycleFiles.CycleFile> cycles = cycles();
        assertThat(cycles).hasSize(cycleCount);

        final long total = seq;
        for (final long target : new long[] {1, 2, perCycle - 1, perCycle, perCycle + 1, total / 2, total - 1, total})
        {
            final SeqProbe probe = new SeqProbe(tailer, queue.rollCycle(), directory, decoder);
            final long index = SeqIndexLocator.indexOf(probe, cycles, target);
            assertThat(index).isNotEqualTo(SeqIndexLocator.NOT_FOUND);
            // log2(64) = 6 cycle probes and 1 guess, where a scan from the start would read up to 12800.
            assertThat(probe.entriesRead()).as("entries read to find seq %d", target).isLessThanOrEqualTo(8);
            assertThat(new SeqProbe(tailer, queue.rollCycle(), directory, decoder).seqAt(index)).isEqualTo(target);
        }
        assertThat(seqAtLocatedIndex(0)).isEqualTo(SeqProbe.NO_SEQ);
        assertThat(seqAtLocatedIndex(total + 1)).isEqualTo(SeqProbe.NO_SEQ);
    }

    @Test
    void shouldFindSeqsInACycleWithAHoleByBinarySearch() throws IOException
    {
        for (long seq = 1; seq <= 50; seq++)
        {
            append(seq);
        }
        for (long seq = 60; seq <= 100; seq++)
        {
            append(seq);
        }
        clock.advanceMillis(1000);
        append(101);

        for (final long seq : new long[] {1, 50, 60, 61, 99, 100, 101})
        {
            assertThat(seqAtLocatedIndex(seq)).as("seq %d", seq).isEqualTo(seq);
        }
        assertThat(seqAtLocatedIndex(55)).as("a seq in the hole").isEqualTo(SeqProbe.NO_SEQ);
    }

    @Test
    void shouldStepOverEmptyCycleFiles() throws IOException
    {
        long seq = 0;
        for (int c = 0; c < 6; c++)
        {
            if (c % 2 == 1)
            {
                // A cycle file with no entry: the appender made the file, then the write was abandoned.
                try (DocumentContext dc = appender.writingDocument())
                {
                    dc.wire().bytes().writeLong(-1);
                    dc.rollbackOnClose();
                }
            }
            else
            {
                for (int i = 0; i < 5; i++)
                {
                    append(++seq);
                }
            }
            clock.advanceMillis(1000);
        }
        append(++seq);
        final List<CycleFiles.CycleFile> cycles = cycles();
        final SeqProbe probe = new SeqProbe(tailer, queue.rollCycle(), directory, decoder);
        assertThat(cycles.stream().filter(file -> probe.entriesInCycle(file.cycle()) == 0).count())
            .as("empty cycle files made by the test").isEqualTo(3);

        for (long target = 1; target <= seq; target++)
        {
            assertThat(seqAtLocatedIndex(target)).as("seq %d", target).isEqualTo(target);
        }
    }
}
