package dev.replicator.core.journal;

import dev.replicator.core.journal.JournalFiles.Document;
import dev.replicator.core.journal.JournalTestData.RecordingHandler;
import net.openhft.chronicle.core.time.SetTimeProvider;
import net.openhft.chronicle.queue.ExcerptAppender;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueue;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueueBuilder;
import net.openhft.chronicle.queue.rollcycles.TestRollCycles;
import net.openhft.chronicle.wire.DocumentContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static dev.replicator.core.journal.JournalTestData.range;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * One case of each kind of damage the journal must not pass off as data (see
 * {@link ChronicleDamageBehaviourTest} for what Chronicle does on its own, and
 * {@link JournalDamageFuzzTest} for random damage).
 */
class JournalDamageTest
{
    private static final int ENTRIES = 30;

    @TempDir
    Path directory;

    private final SetTimeProvider clock =
        new SetTimeProvider(TimeUnit.MILLISECONDS.toNanos(System.currentTimeMillis() - 3_600_000));

    private JournalConfig config()
    {
        return JournalConfig.builder(directory).rollCycle(TestRollCycles.TEST_SECONDLY).timeProvider(clock).build();
    }

    private List<Document> journalOf(final int entries) throws IOException
    {
        try (Journal journal = Journal.open(config()))
        {
            JournalTestData.appendNext(journal, entries);
        }
        return JournalFiles.documents(directory, TestRollCycles.TEST_SECONDLY);
    }

    @Test
    void aDamagedEntryFailsEveryPollAndNamesTheIntactPrefix() throws IOException
    {
        final Document seventh = journalOf(ENTRIES).get(6);
        JournalFiles.flipByte(seventh.file(), seventh.entryStart() + JournalEntryDescriptor.HEADER_LENGTH + 100);

        try (Journal journal = Journal.open(config()); JournalReader reader = journal.reader(0))
        {
            assertThat(journal.lastSeq()).isEqualTo(ENTRIES);
            final RecordingHandler handler = new RecordingHandler();
            for (int attempt = 0; attempt < 2; attempt++)
            {
                assertThatThrownBy(() -> reader.poll(handler, 100))
                    .isInstanceOf(JournalException.class)
                    .hasMessageContaining("after seq 6 fails its CRC32C")
                    .hasMessageContaining("entries up to seq 6 are intact");
            }
            assertThat(handler.seqs()).as("the entries before it, once").isEqualTo(range(1, 6));
            handler.entries.forEach(JournalTestData.Entry::assertIsExpected);
        }
    }

    @Test
    void aFormatByteDamagedToTheOldFormatCannotSwitchTheCheckOff() throws IOException
    {
        final Document fifth = journalOf(ENTRIES).get(4);
        JournalFiles.write(fifth.file(), fifth.entryStart() + JournalEntryDescriptor.FORMAT_OFFSET,
            new byte[] {JournalEntryDescriptor.FORMAT_UNCHECKED});

        try (Journal journal = Journal.open(config()); JournalReader reader = journal.reader(0))
        {
            final RecordingHandler handler = new RecordingHandler();
            assertThatThrownBy(() -> reader.poll(handler, 100))
                .isInstanceOf(JournalException.class)
                .hasMessageContaining("claims a payload of");
            assertThat(handler.seqs()).isEqualTo(range(1, 4));
        }
    }

    @Test
    void aReaderThatCanReadNothingMoreWhileNewerEntriesExistFailsInsteadOfWaitingForEver() throws IOException
    {
        final Document ninth = journalOf(ENTRIES).get(8);
        // A page that never reached the disk: Chronicle reads the zero header as the end of the data.
        JournalFiles.write(ninth.file(), ninth.start(), new byte[4]);

        try (Journal journal = Journal.open(config()); JournalReader reader = journal.reader(0))
        {
            assertThat(journal.lastSeq()).as("Chronicle's index still knows the newest entry").isEqualTo(ENTRIES);
            reader.stallLimitNs(0);
            final RecordingHandler handler = new RecordingHandler();
            assertThat(reader.poll(handler, 100)).isEqualTo(8);
            assertThat(reader.poll(handler, 100)).as("the first poll with nothing to read may be a moment's delay").isZero();
            assertThatThrownBy(() -> reader.poll(handler, 100))
                .isInstanceOf(JournalException.class)
                .hasMessageContaining("holds entries up to seq " + ENTRIES + " but none after seq 8 can be read");
        }
    }

    @Test
    void aReaderAtTheEndOfAnIntactJournalNeverReportsAStall() throws IOException
    {
        journalOf(ENTRIES);
        try (Journal journal = Journal.open(config()); JournalReader reader = journal.reader(0))
        {
            reader.stallLimitNs(0);
            final RecordingHandler handler = new RecordingHandler();
            assertThat(reader.poll(handler, 100)).isEqualTo(ENTRIES);
            for (int i = 0; i < 5; i++)
            {
                assertThat(reader.poll(handler, 100)).isZero();
            }
            JournalTestData.appendNext(journal);
            assertThat(reader.poll(handler, 100)).isEqualTo(1);
            assertThat(reader.poll(handler, 100)).isZero();
            assertThat(reader.poll(handler, 100)).isZero();
        }
    }

    @Test
    void openRefusesACycleFileWhoseIndexStopsShortOfItsDocuments() throws IOException
    {
        final Document twelfth = journalOf(ENTRIES).get(11);
        // Cut inside entry 12; Chronicle maps the file again extended with zeros.
        JournalFiles.truncate(twelfth.file(), twelfth.entryStart() + 50);

        assertThatThrownBy(() -> Journal.open(config()))
            .isInstanceOf(JournalException.class)
            .hasMessageContaining(directory.toString());
    }

    @Test
    void aTornTailLeftByACrashIsRecoveredAndAppendsAfterItAreRead() throws IOException
    {
        final List<Document> documents = journalOf(ENTRIES);
        final Document last = documents.get(ENTRIES - 1);
        // A writer that died after claiming the next header: not-complete bit, no length yet.
        final byte[] claimed = new byte[4];
        ByteBuffer.wrap(claimed).order(ByteOrder.LITTLE_ENDIAN).putInt(0, 0x8000_0000);
        JournalFiles.write(last.file(), (last.end() + 3) & ~3L, claimed);

        try (Journal journal = Journal.open(config()))
        {
            assertThat(journal.lastSeq()).isEqualTo(ENTRIES);
            JournalTestData.appendNext(journal, 3);
            try (JournalReader reader = journal.reader(0))
            {
                reader.stallLimitNs(0);
                final RecordingHandler handler = JournalTestData.drain(reader);
                assertThat(handler.seqs()).isEqualTo(range(1, ENTRIES + 3));
                handler.entries.forEach(JournalTestData.Entry::assertIsExpected);
            }
        }
    }

    @Test
    void entriesOfAJournalWrittenBeforeEntriesHadACrcAreStillRead() throws IOException
    {
        journalOf(0);
        // Entries as the journal wrote them before: Format (then Reserved) 0, no CRC after the payload.
        final ByteBuffer header = ByteBuffer.allocate(JournalEntryDescriptor.HEADER_LENGTH).order(ByteOrder.LITTLE_ENDIAN);
        try (SingleChronicleQueue queue = SingleChronicleQueueBuilder.binary(JournalFiles.queueDirectory(directory))
                .rollCycle(TestRollCycles.TEST_SECONDLY).timeProvider(clock).build();
            ExcerptAppender appender = queue.createAppender())
        {
            for (long seq = 1; seq <= 5; seq++)
            {
                final byte[] payload = JournalTestData.payload(seq);
                JournalEntryDescriptor.encodeHeader(header, seq, 0, JournalTestData.firstBlock(seq), payload.length,
                    JournalTestData.volumeIndex(seq), JournalEntryDescriptor.TYPE_WRITE);
                header.put(JournalEntryDescriptor.FORMAT_OFFSET, JournalEntryDescriptor.FORMAT_UNCHECKED);
                try (DocumentContext dc = appender.writingDocument())
                {
                    dc.wire().bytes().write(header.array()).write(payload);
                }
            }
        }

        try (Journal journal = Journal.open(config()))
        {
            assertThat(journal.lastSeq()).isEqualTo(5);
            JournalTestData.appendNext(journal, 4);
            try (JournalReader reader = journal.reader(0))
            {
                final RecordingHandler handler = JournalTestData.drain(reader);
                assertThat(handler.seqs()).isEqualTo(range(1, 9));
                handler.entries.forEach(JournalTestData.Entry::assertIsExpected);
            }
        }
    }
}
