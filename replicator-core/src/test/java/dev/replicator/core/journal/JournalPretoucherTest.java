package dev.replicator.core.journal;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static dev.replicator.core.journal.JournalTestData.appendNext;
import static dev.replicator.core.journal.JournalTestData.drain;
import static dev.replicator.core.journal.JournalTestData.range;
import static org.assertj.core.api.Assertions.assertThat;

/** The pre-toucher reads ahead of the appender: entries stay exact, and closing the journal stops it. */
class JournalPretoucherTest
{
    @TempDir
    Path directory;

    @Test
    void shouldReadBackEveryEntryWhilePagesAreTouchedAhead()
    {
        try (Journal journal = Journal.open(JournalConfig.builder(directory).build()))
        {
            // Several MiB: the pre-toucher runs ahead and behind the appender many times over.
            appendNext(journal, 20_000);
            try (JournalReader reader = journal.reader(0))
            {
                final JournalTestData.RecordingHandler handler = drain(reader);
                assertThat(handler.seqs()).isEqualTo(range(1, 20_000));
                handler.entries.forEach(JournalTestData.Entry::assertIsExpected);
            }
        }
    }

    @Test
    void shouldStopItsThreadWhenTheJournalCloses()
    {
        final String journalId;
        try (Journal journal = Journal.open(JournalConfig.builder(directory).build()))
        {
            journalId = journal.journalId();
            appendNext(journal, 10);
            assertThat(pretouchThreads(journalId)).isEqualTo(1);
        }
        assertThat(pretouchThreads(journalId)).isZero();
    }

    private static long pretouchThreads(final String journalId)
    {
        return Thread.getAllStackTraces().keySet().stream()
            .filter(t -> t.getName().equals("journal-pretouch-" + journalId) && t.isAlive())
            .count();
    }
}
