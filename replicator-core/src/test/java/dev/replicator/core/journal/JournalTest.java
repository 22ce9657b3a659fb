package dev.replicator.core.journal;

import dev.replicator.core.journal.JournalTestData.Entry;
import dev.replicator.core.journal.JournalTestData.RecordingHandler;
import dev.replicator.core.test.ChildJvm;
import net.openhft.chronicle.core.time.SetTimeProvider;
import net.openhft.chronicle.queue.rollcycles.TestRollCycles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static dev.replicator.core.journal.JournalTestData.appendNext;
import static dev.replicator.core.journal.JournalTestData.drain;
import static dev.replicator.core.journal.JournalTestData.range;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class JournalTest
{
    private static final int ENTRIES_PER_CYCLE = 10;

    @TempDir
    Path directory;

    /** Starts at the real time so that a reopen on the system clock never goes back in time. */
    private final SetTimeProvider clock =
        new SetTimeProvider(TimeUnit.MILLISECONDS.toNanos(System.currentTimeMillis() - 3_600_000));

    private JournalConfig secondlyConfig()
    {
        return JournalConfig.builder(directory).rollCycle(TestRollCycles.TEST_SECONDLY).timeProvider(clock).build();
    }

    /** Appends {@code cycles} cycles of {@link #ENTRIES_PER_CYCLE} entries, one cycle file each. */
    private void appendCycles(final Journal journal, final int cycles)
    {
        for (int c = 0; c < cycles; c++)
        {
            appendNext(journal, ENTRIES_PER_CYCLE);
            clock.advanceMillis(1000);
        }
    }

    private static List<Path> cycleFiles(final Journal journal) throws IOException
    {
        final List<Path> files = new ArrayList<>();
        final Path queueDirectory = journal.directory().resolve(JournalDirectory.QUEUE_DIRECTORY_PREFIX + journal.journalId());
        try (DirectoryStream<Path> stream = Files.newDirectoryStream(queueDirectory, "*.cq4"))
        {
            stream.forEach(files::add);
        }
        return files;
    }

    private static void assertReadsExactly(final Journal journal, final long afterSeq, final List<Long> expectedSeqs)
    {
        try (JournalReader reader = journal.reader(afterSeq))
        {
            final RecordingHandler handler = drain(reader);
            assertThat(handler.seqs()).as("seqs read after %d", afterSeq).isEqualTo(expectedSeqs);
            handler.entries.forEach(Entry::assertIsExpected);
            assertThat(reader.lastReadSeq()).isEqualTo(expectedSeqs.isEmpty() ? afterSeq : expectedSeqs.get(expectedSeqs.size() - 1));
        }
    }

    @Test
    void shouldReadBackWritesAndCheckpointsAfterReopen()
    {
        final String journalId;
        try (Journal journal = Journal.open(JournalConfig.builder(directory).build()))
        {
            assertThat(journal.baseSeq()).isZero();
            assertThat(journal.lastSeq()).isZero();
            assertThat(journal.firstRetainedSeq()).isEqualTo(1);
            journalId = journal.journalId();
            appendNext(journal, 45);
            journal.sync();
            assertThat(journal.lastSeq()).isEqualTo(45);
            assertThat(journal.sizeBytes()).isPositive();
        }

        try (Journal journal = Journal.open(JournalConfig.builder(directory).build()))
        {
            assertThat(journal.journalId()).isEqualTo(journalId);
            assertThat(journal.baseSeq()).isZero();
            assertThat(journal.lastSeq()).isEqualTo(45);
            assertThat(journal.firstRetainedSeq()).isEqualTo(1);
            assertReadsExactly(journal, 0, range(1, 45));

            final List<Entry> checkpoints = new ArrayList<>();
            try (JournalReader reader = journal.reader(0))
            {
                final RecordingHandler handler = drain(reader);
                handler.entries.stream().filter(Entry::checkpoint).forEach(checkpoints::add);
            }
            assertThat(checkpoints).extracting(Entry::seq).containsExactly(10L, 20L, 30L, 40L);
            assertThat(checkpoints).extracting(Entry::label).containsExactly("cp-10-\u00e9t\u00e9", "", "cp-30-\u00e9t\u00e9", "");

            assertThat(appendNext(journal)).as("seq after reopen").isEqualTo(46);
        }
    }

    @Test
    void shouldStampWritesWithTheConfiguredClock()
    {
        try (Journal journal = Journal.open(secondlyConfig()))
        {
            final long seq = journal.appendWrite(2, 9, ByteBuffer.wrap(new byte[] {1, 2, 3}), 1, 2);
            try (JournalReader reader = journal.reader(seq - 1))
            {
                final RecordingHandler handler = drain(reader);
                assertThat(handler.entries).hasSize(1);
                final Entry entry = handler.entries.get(0);
                assertThat(entry.timestampMs()).isEqualTo(clock.currentTimeMillis());
                assertThat(entry.volumeIndex()).isEqualTo(2);
                assertThat(entry.firstBlock()).isEqualTo(9);
                assertThat(entry.payload()).containsExactly(2, 3);
            }
        }
    }

    @Test
    void shouldStartReaderRightAfterAnySeqAcrossCycles() throws IOException
    {
        try (Journal journal = Journal.open(secondlyConfig()))
        {
            appendCycles(journal, 5);
            appendNext(journal, 3);
            final long lastSeq = journal.lastSeq();
            assertThat(lastSeq).isEqualTo(53);
            assertThat(cycleFiles(journal)).hasSize(6);

            for (long afterSeq = 0; afterSeq <= lastSeq; afterSeq++)
            {
                assertReadsExactly(journal, afterSeq, range(afterSeq + 1, lastSeq));
            }
        }
    }

    @Test
    void shouldDeliverEntriesAppendedAfterReaderWasPositionedAtTheEnd()
    {
        try (Journal journal = Journal.open(secondlyConfig()))
        {
            try (JournalReader emptyJournalReader = journal.reader(0))
            {
                final RecordingHandler handler = new RecordingHandler();
                assertThat(emptyJournalReader.poll(handler, 10)).isZero();
                appendCycles(journal, 2);
                assertThat(drain(emptyJournalReader).seqs()).isEqualTo(range(1, 20));
            }

            try (JournalReader atEnd = journal.reader(journal.lastSeq()))
            {
                final RecordingHandler handler = new RecordingHandler();
                assertThat(atEnd.poll(handler, 10)).as("nothing after lastSeq yet").isZero();
                appendNext(journal, 2);
                clock.advanceMillis(1000);
                appendNext(journal, 1);
                assertThat(atEnd.poll(handler, 10)).isEqualTo(3);
                assertThat(handler.seqs()).containsExactly(21L, 22L, 23L);
                handler.entries.forEach(Entry::assertIsExpected);
            }
        }
    }

    @Test
    void shouldFailReaderPollAfterJournalIsClosed()
    {
        final Journal journal = Journal.open(secondlyConfig());
        appendNext(journal, 3);
        try (JournalReader reader = journal.reader(0))
        {
            assertThat(reader.poll(new RecordingHandler(), 1)).isEqualTo(1);
            journal.close();
            assertThatThrownBy(() -> reader.poll(new RecordingHandler(), 10)).isInstanceOf(JournalException.class);
            assertThatThrownBy(() -> journal.appendCheckpoint(0, "late")).isInstanceOf(JournalException.class)
                .hasMessageContaining("closed");
            assertThatThrownBy(journal::sync).isInstanceOf(JournalException.class);
        }
    }

    @Test
    void shouldRefuseReaderBeyondLastSeq()
    {
        try (Journal journal = Journal.open(secondlyConfig()))
        {
            appendNext(journal, 5);
            assertThatThrownBy(() -> journal.reader(6))
                .isInstanceOf(JournalException.class)
                .hasMessageContaining("ends at seq 5")
                .hasMessageContaining(directory.toString());
        }
    }

    @Test
    void shouldRedeliverEntryWhenHandlerThrows()
    {
        try (Journal journal = Journal.open(secondlyConfig()))
        {
            appendNext(journal, 3);
            try (JournalReader reader = journal.reader(0))
            {
                final RecordingHandler recording = new RecordingHandler();
                final JournalEntryHandler failingOnSeq2 = new JournalEntryHandler()
                {
                    @Override
                    public void onWrite(final long seq, final long timestampMs, final int volumeIndex,
                        final long firstBlock, final ByteBuffer payload)
                    {
                        if (seq == 2)
                        {
                            throw new IllegalStateException("handler failed on seq 2");
                        }
                        recording.onWrite(seq, timestampMs, volumeIndex, firstBlock, payload);
                    }

                    @Override
                    public void onCheckpoint(final long seq, final long timestampMs, final String label)
                    {
                        recording.onCheckpoint(seq, timestampMs, label);
                    }
                };
                assertThatThrownBy(() -> reader.poll(failingOnSeq2, 10)).hasMessage("handler failed on seq 2");
                assertThat(reader.lastReadSeq()).isEqualTo(1);
                assertThat(drain(reader).seqs()).containsExactly(2L, 3L);
                assertThat(recording.seqs()).containsExactly(1L);
            }
        }
    }

    @Test
    void shouldKeepEntriesWhenChildJvmIsKilledRightAfterAppend() throws IOException
    {
        final int count = 250;
        final int entriesPerCycle = 60;
        try (ChildJvm child = ChildJvm.start(JournalAppenderMain.class, directory.resolve("child"),
            directory.toString(), Integer.toString(count), Integer.toString(entriesPerCycle)))
        {
            child.awaitOutput(JournalAppenderMain.APPENDED_LINE_PREFIX + count, Duration.ofSeconds(60));
            child.killHard();
            assertThat(child.isAlive()).isFalse();
        }

        final JournalConfig config = JournalConfig.builder(directory).rollCycle(TestRollCycles.TEST_SECONDLY).build();
        try (Journal journal = Journal.open(config))
        {
            assertThat(journal.lastSeq()).isEqualTo(count);
            assertThat(journal.firstRetainedSeq()).isEqualTo(1);
            assertThat(cycleFiles(journal)).hasSize((count + entriesPerCycle - 1) / entriesPerCycle);
            assertReadsExactly(journal, 0, range(1, count));
            // Where a shipper resumes after the target acknowledged k.
            for (final long acked : new long[] {1, 59, 60, 61, 200, count - 1, count})
            {
                assertReadsExactly(journal, acked, range(acked + 1, count));
            }
            assertThat(appendNext(journal)).as("first seq appended after the crash").isEqualTo(count + 1);
            journal.sync();
        }
    }

    @Test
    void shouldReleaseOnlyCyclesWhoseEntriesAreAllAcknowledged() throws IOException
    {
        try (Journal journal = Journal.open(secondlyConfig()))
        {
            appendCycles(journal, 5);
            assertThat(cycleFiles(journal)).hasSize(5);

            assertThat(journal.release(0)).isZero();
            assertThat(journal.release(19)).as("cycle 2 holds 11..20, 20 unacknowledged").isEqualTo(1);
            assertThat(cycleFiles(journal)).hasSize(4);
            assertThat(journal.firstRetainedSeq()).isEqualTo(11);

            assertThat(journal.release(25)).isEqualTo(1);
            assertThat(cycleFiles(journal)).hasSize(3);
            assertThat(journal.firstRetainedSeq()).isEqualTo(21);
            assertThat(journal.lastSeq()).isEqualTo(50);

            assertReadsExactly(journal, 25, range(26, 50));
            assertReadsExactly(journal, 20, range(21, 50));
            assertThatThrownBy(() -> journal.reader(19))
                .isInstanceOf(JournalException.class)
                .hasMessageContaining("released the entries up to seq 20");

            appendNext(journal, 4);
            assertReadsExactly(journal, 25, range(26, 54));
        }

        try (Journal journal = Journal.open(secondlyConfig()))
        {
            assertThat(journal.firstRetainedSeq()).as("after reopen").isEqualTo(21);
            assertThat(journal.lastSeq()).isEqualTo(54);
            assertReadsExactly(journal, 20, range(21, 54));
        }
    }

    @Test
    void shouldNeverReleaseAnUnacknowledgedEntry() throws IOException
    {
        try (Journal journal = Journal.open(secondlyConfig()))
        {
            appendCycles(journal, 6);
            final long lastSeq = journal.lastSeq();
            for (final long acked : new long[] {3, 9, 10, 11, 29, 30, 31, 44, 59, 60})
            {
                journal.release(acked);
                final long expectedFirst = Math.min((acked / ENTRIES_PER_CYCLE) * ENTRIES_PER_CYCLE + 1, 51);
                assertThat(journal.firstRetainedSeq()).as("first retained after release(%d)", acked).isEqualTo(expectedFirst);
                assertThat(cycleFiles(journal)).hasSize((int)((lastSeq - expectedFirst + 1) / ENTRIES_PER_CYCLE));
                assertReadsExactly(journal, acked, range(acked + 1, lastSeq));
            }
            assertThat(journal.lastSeq()).isEqualTo(lastSeq);
            assertThat(cycleFiles(journal)).as("the newest cycle stays though fully acknowledged").hasSize(1);
            assertReadsExactly(journal, lastSeq, List.of());
        }
    }

    @Test
    void shouldFailLaggingReaderInsteadOfSkippingReleasedEntries()
    {
        try (Journal journal = Journal.open(secondlyConfig()))
        {
            appendCycles(journal, 4);
            try (JournalReader lagging = journal.reader(0))
            {
                final RecordingHandler handler = new RecordingHandler();
                assertThat(lagging.poll(handler, 3)).isEqualTo(3);

                journal.release(30);

                assertThatThrownBy(() -> drain(lagging))
                    .isInstanceOf(JournalException.class)
                    .hasMessageContaining("released");
                assertThat(lagging.lastReadSeq()).as("never skipped past a released entry").isLessThanOrEqualTo(10);
            }
            assertReadsExactly(journal, 30, range(31, 40));
        }
    }

    @Test
    void shouldStartFreshJournalAtBaseSeqWithNewId() throws IOException
    {
        final String oldId;
        final Path oldQueue;
        try (Journal journal = Journal.open(secondlyConfig()))
        {
            appendCycles(journal, 2);
            oldId = journal.journalId();
            oldQueue = directory.resolve(JournalDirectory.QUEUE_DIRECTORY_PREFIX + oldId);
            assertThat(oldQueue).isDirectory();
        }

        final String newId;
        try (Journal journal = Journal.create(secondlyConfig(), 1000))
        {
            newId = journal.journalId();
            assertThat(newId).isNotEqualTo(oldId);
            assertThat(journal.baseSeq()).isEqualTo(1000);
            assertThat(journal.lastSeq()).isEqualTo(1000);
            assertThat(journal.firstRetainedSeq()).isEqualTo(1001);
            assertThat(oldQueue).doesNotExist();
            assertThatThrownBy(() -> journal.reader(20)).isInstanceOf(JournalException.class);

            assertThat(journal.appendWrite(0, 0, ByteBuffer.allocate(512), 0, 512)).isEqualTo(1001);
            assertThat(journal.appendCheckpoint(1, "after failback")).isEqualTo(1002);
            try (JournalReader reader = journal.reader(1000))
            {
                assertThat(drain(reader).seqs()).containsExactly(1001L, 1002L);
            }
        }

        try (Journal journal = Journal.open(secondlyConfig()))
        {
            assertThat(journal.journalId()).isEqualTo(newId);
            assertThat(journal.baseSeq()).isEqualTo(1000);
            assertThat(journal.lastSeq()).isEqualTo(1002);
            assertThat(journal.firstRetainedSeq()).isEqualTo(1001);
        }
    }

    @Test
    void shouldDeleteQueueOfAJournalReplacedByACrashedCreate() throws IOException
    {
        final String keptId;
        try (Journal journal = Journal.open(secondlyConfig()))
        {
            appendNext(journal, 3);
            keptId = journal.journalId();
        }
        // As if create() wrote journal.meta for keptId and crashed before deleting an older queue.
        final Path staleQueue = directory.resolve(JournalDirectory.QUEUE_DIRECTORY_PREFIX + "0f0e0d0c-0000-4000-8000-000000000000");
        Files.createDirectories(staleQueue);
        Files.write(staleQueue.resolve("20240101-000000T.cq4"), new byte[] {1, 2, 3});

        try (Journal journal = Journal.open(secondlyConfig()))
        {
            assertThat(journal.journalId()).isEqualTo(keptId);
            assertThat(journal.lastSeq()).isEqualTo(3);
            assertThat(staleQueue).doesNotExist();
        }
    }

    @Test
    void shouldRefuseToOpenQueueDataWithoutMetadata() throws IOException
    {
        try (Journal journal = Journal.open(secondlyConfig()))
        {
            appendNext(journal, 3);
        }
        Files.delete(directory.resolve(JournalMetaFile.FILE_NAME));

        assertThatThrownBy(() -> Journal.open(secondlyConfig()))
            .isInstanceOf(JournalException.class)
            .hasMessageContaining("no " + JournalMetaFile.FILE_NAME)
            .hasMessageContaining(directory.toString());
    }

    @Test
    void shouldRefusePayloadLargerThanMaxPayloadBytes()
    {
        final JournalConfig config = JournalConfig.builder(directory).maxPayloadBytes(4096).build();
        try (Journal journal = Journal.open(config))
        {
            final ByteBuffer src = ByteBuffer.allocateDirect(8192);
            assertThat(journal.appendWrite(0, 0, src, 0, 4096)).isEqualTo(1);

            assertThatThrownBy(() -> journal.appendWrite(0, 8, src, 0, 4097))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("4097 bytes")
                .hasMessageContaining("maxPayloadBytes=4096");
            assertThatThrownBy(() -> journal.appendCheckpoint(0, "x".repeat(4097)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("maxPayloadBytes=4096");
            assertThatThrownBy(() -> journal.appendWrite(0, 0, src, 8000, 512))
                .isInstanceOf(IndexOutOfBoundsException.class);

            assertThat(journal.lastSeq()).as("nothing journaled by a refused append").isEqualTo(1);
            assertThat(journal.appendCheckpoint(0, "ok")).isEqualTo(2);
        }
    }

    @Test
    void shouldRejectMaxPayloadBytesOutOfRange()
    {
        assertThatThrownBy(() -> JournalConfig.builder(directory).maxPayloadBytes(0).build())
            .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> JournalConfig.builder(directory).maxPayloadBytes(JournalConfig.MAX_PAYLOAD_BYTES_LIMIT + 1).build())
            .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void shouldJournalTheLargestPayloadAcrossMappedBlocks()
    {
        final int maxPayloadBytes = JournalConfig.MAX_PAYLOAD_BYTES_DEFAULT;
        final byte[] payload = new byte[maxPayloadBytes];
        final int entries = 80; // 80 MiB: crosses the 64 MiB mapped block of the cycle file
        try (Journal journal = Journal.open(JournalConfig.builder(directory).build()))
        {
            final ByteBuffer src = ByteBuffer.wrap(payload);
            for (int i = 1; i <= entries; i++)
            {
                payload[0] = (byte)i;
                payload[maxPayloadBytes / 2] = (byte)(i * 3);
                payload[maxPayloadBytes - 1] = (byte)(i * 7);
                journal.appendWrite(1, i, src, 0, maxPayloadBytes);
            }
            try (JournalReader reader = journal.reader(0))
            {
                final int[] read = new int[1];
                final JournalEntryHandler check = new JournalEntryHandler()
                {
                    @Override
                    public void onWrite(final long seq, final long timestampMs, final int volumeIndex,
                        final long firstBlock, final ByteBuffer buffer)
                    {
                        assertThat(buffer.remaining()).isEqualTo(maxPayloadBytes);
                        assertThat(buffer.get(0)).isEqualTo((byte)seq);
                        assertThat(buffer.get(maxPayloadBytes / 2)).isEqualTo((byte)(seq * 3));
                        assertThat(buffer.get(maxPayloadBytes - 1)).isEqualTo((byte)(seq * 7));
                        assertThat(buffer.get(1)).isZero();
                        read[0]++;
                    }

                    @Override
                    public void onCheckpoint(final long seq, final long timestampMs, final String label)
                    {
                        throw new AssertionError("no checkpoint was appended");
                    }
                };
                while (reader.poll(check, 16) > 0)
                {
                    // drain
                }
                assertThat(read[0]).isEqualTo(entries);
            }
        }
    }

    @Test
    void shouldAssignContiguousSeqsToConcurrentAppenders() throws InterruptedException
    {
        final int threads = 4;
        final int perThread = 500;
        try (Journal journal = Journal.open(secondlyConfig()))
        {
            final List<Thread> writers = new ArrayList<>();
            final List<Throwable> failures = new ArrayList<>();
            for (int t = 0; t < threads; t++)
            {
                final int writerId = t;
                final Thread writer = new Thread(() ->
                {
                    final ByteBuffer src = ByteBuffer.allocate(16);
                    for (int i = 0; i < perThread; i++)
                    {
                        src.putInt(0, writerId).putInt(4, i);
                        journal.appendWrite(writerId, i, src, 0, 8);
                    }
                }, "writer-" + t);
                writer.setUncaughtExceptionHandler((thread, ex) ->
                {
                    synchronized (failures)
                    {
                        failures.add(ex);
                    }
                });
                writers.add(writer);
                writer.start();
            }
            for (final Thread writer : writers)
            {
                writer.join(TimeUnit.SECONDS.toMillis(30));
                assertThat(writer.isAlive()).isFalse();
            }
            assertThat(failures).isEmpty();
            assertThat(journal.lastSeq()).isEqualTo((long)threads * perThread);

            try (JournalReader reader = journal.reader(0))
            {
                final RecordingHandler handler = drain(reader);
                assertThat(handler.seqs()).isEqualTo(range(1, (long)threads * perThread));
                final int[] nextPerWriter = new int[threads];
                for (final Entry entry : handler.entries)
                {
                    final ByteBuffer payload = ByteBuffer.wrap(entry.payload());
                    final int writerId = payload.getInt(0);
                    assertThat(entry.volumeIndex()).isEqualTo(writerId);
                    assertThat(payload.getInt(4)).as("writer %d order", writerId).isEqualTo(nextPerWriter[writerId]);
                    assertThat(entry.firstBlock()).isEqualTo(nextPerWriter[writerId]);
                    nextPerWriter[writerId]++;
                }
            }
        }
    }

    @Test
    void shouldSyncAcrossCycleRolls() throws IOException
    {
        try (Journal journal = Journal.open(secondlyConfig()))
        {
            appendCycles(journal, 3);
            journal.sync();
            journal.sync();
            appendNext(journal);
            journal.sync();
            journal.release(25);
            clock.advanceMillis(1000);
            appendNext(journal);
            journal.sync();
            assertThat(cycleFiles(journal)).hasSize(3);
        }
        try (Journal journal = Journal.open(secondlyConfig()))
        {
            journal.sync();
            assertThat(journal.lastSeq()).isEqualTo(32);
        }
    }
}
