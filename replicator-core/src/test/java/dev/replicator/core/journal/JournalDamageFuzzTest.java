package dev.replicator.core.journal;

import dev.replicator.core.journal.JournalFiles.Document;
import dev.replicator.core.journal.JournalTestData.Entry;
import dev.replicator.core.journal.JournalTestData.RecordingHandler;
import net.openhft.chronicle.core.time.SetTimeProvider;
import net.openhft.chronicle.queue.rollcycles.TestRollCycles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Torn and damaged journal files, in a seeded loop: a journal of a few dozen entries over one to three
 * cycle files is closed, then one cycle file is truncated at a random offset, or gets random bytes,
 * zeros (a page a power loss never wrote) or a flipped bit at a random offset (mostly among the
 * entries, sometimes in Chronicle's header and index), and the journal is opened and read again.
 *
 * <p>Property: opening either fails with a {@link JournalException} that names the journal, or
 * succeeds; then a reader delivers entries 1, 2, ... each byte for byte as appended, at least every
 * entry that lies wholly before the damage, and ends either cleanly, having read up to the journal's
 * lastSeq, or with a {@link JournalException}. It never delivers a damaged entry, never skips one,
 * never waits for ever, and a journal that opened never hands out a seq already in its files.
 *
 * <p>Replay a run with {@code -Dfuzz.seed=N}; run longer with {@code -Dfuzz.iterations=N}.
 */
class JournalDamageFuzzTest
{
    private static final long SEED = Long.getLong("fuzz.seed", System.nanoTime());
    private static final int ITERATIONS = Integer.getInteger("fuzz.iterations", 150);

    @TempDir
    Path root;

    private final Random random = new Random(SEED);
    private final Map<String, Integer> outcomes = new TreeMap<>();
    private int resumes;
    private int resumesRefused;

    @Test
    void aDamagedCycleFileNeverYieldsADamagedEntryAndLosesNothingBeforeTheDamage() throws IOException
    {
        System.out.printf("JournalDamageFuzzTest seed=%d iterations=%d (replay: -Dfuzz.seed=%d)%n", SEED, ITERATIONS, SEED);
        for (int iteration = 0; iteration < ITERATIONS; iteration++)
        {
            final Path directory = root.resolve("j" + iteration);
            final SetTimeProvider clock =
                new SetTimeProvider(TimeUnit.MILLISECONDS.toNanos(System.currentTimeMillis() - 3_600_000));
            final JournalConfig config = JournalConfig.builder(directory)
                .rollCycle(TestRollCycles.TEST_SECONDLY).timeProvider(clock).build();
            final int cycles = 1 + random.nextInt(3);
            final int entries;
            try (Journal journal = Journal.open(config))
            {
                for (int c = 0; c < cycles; c++)
                {
                    JournalTestData.appendNext(journal, 5 + random.nextInt(20));
                    clock.advanceMillis(1000);
                }
                entries = (int)journal.lastSeq();
            }
            final List<Document> documents = JournalFiles.documents(directory, TestRollCycles.TEST_SECONDLY);
            assertThat(documents).hasSize(entries);

            final StringBuilder damage = new StringBuilder();
            final int intactBefore = damage(documents, damage);
            final String context = "seed " + SEED + " iteration " + iteration + " (" + entries + " entries in " +
                cycles + " cycle files; " + damage + "; " + intactBefore + " entries wholly before it)";
            outcomes.merge(reopenAndRead(config, entries, intactBefore, context), 1, Integer::sum);
        }
        final int total = outcomes.values().stream().mapToInt(Integer::intValue).sum();
        System.out.printf("JournalDamageFuzzTest fuzzed %d damaged journals: %s; readers resumed after an intact " +
            "entry: %d read on, %d refused%n", total, outcomes, resumes, resumesRefused);
        assertThat(total).isEqualTo(ITERATIONS);
    }

    private String reopenAndRead(final JournalConfig config, final int entries, final int intactBefore, final String context)
    {
        final Journal journal;
        try
        {
            journal = Journal.open(config);
        }
        catch (final JournalException ex)
        {
            assertThat(ex.getMessage()).as(context).contains(config.directory().toString());
            return "open refused: " + kind(ex.getMessage());
        }
        catch (final RuntimeException | Error ex)
        {
            throw new AssertionError(context + ": open: " + ex, ex);
        }
        try (journal)
        {
            final long lastSeq = journal.lastSeq();
            final RecordingHandler handler = new RecordingHandler();
            String outcome = null;
            try (JournalReader reader = journal.reader(journal.baseSeq()))
            {
                reader.stallLimitNs(0);
                int emptyPolls = 0;
                while (emptyPolls < 3)
                {
                    emptyPolls = reader.poll(handler, 1 + random.nextInt(8)) == 0 ? emptyPolls + 1 : 0;
                }
                outcome = "read to the end";
            }
            catch (final JournalException ex)
            {
                assertThat(ex.getMessage()).as(context).contains(config.directory().toString());
                outcome = "reader stopped: " + kind(ex.getMessage());
            }
            catch (final RuntimeException | Error ex)
            {
                throw new AssertionError(context + ": read: " + ex, ex);
            }
            for (int i = 0; i < handler.entries.size(); i++)
            {
                final Entry entry = handler.entries.get(i);
                assertThat(entry.seq()).as(context + ": entries in order, none skipped").isEqualTo(i + 1);
                try
                {
                    entry.assertIsExpected();
                }
                catch (final AssertionError ex)
                {
                    throw new AssertionError(context + ": a damaged entry was delivered: " + ex.getMessage(), ex);
                }
            }
            final int delivered = handler.entries.size();
            assertThat(delivered).as(context + ": entries before the damage are read back").isGreaterThanOrEqualTo(intactBefore);
            if (outcome.equals("read to the end"))
            {
                assertThat(delivered).as(context + ": a clean end reads up to lastSeq").isEqualTo(lastSeq);
                if (delivered < entries)
                {
                    outcome = "read to the end, later entries cleanly absent";
                }
            }
            assertThat(lastSeq).as(context + ": lastSeq covers every entry read").isGreaterThanOrEqualTo(delivered);
            resumeAfterAnIntactEntry(journal, delivered, context);
            return outcome;
        }
    }

    /**
     * What the shipper does on reconnect: a reader after the target's acknowledged seq, found by search.
     * It reads on from there up to where the first reader stopped, or refuses if the search itself met
     * the damage.
     */
    private void resumeAfterAnIntactEntry(final Journal journal, final int readable, final String context)
    {
        final long afterSeq = random.nextInt(readable + 1);
        final RecordingHandler handler = new RecordingHandler();
        try (JournalReader reader = journal.reader(afterSeq))
        {
            reader.stallLimitNs(0);
            int emptyPolls = 0;
            // Read only up to where the first reader stopped: beyond lies the damage it met.
            int remaining = (int)(readable - afterSeq);
            while (emptyPolls < 3 && remaining > 0)
            {
                final int read = reader.poll(handler, Math.min(remaining, 8));
                remaining -= read;
                emptyPolls = read == 0 ? emptyPolls + 1 : 0;
            }
            assertThat(handler.entries).as(context + ": resumed after seq " + afterSeq).hasSize((int)(readable - afterSeq));
            resumes++;
        }
        catch (final JournalException ex)
        {
            assertThat(ex.getMessage()).as(context).contains(journal.directory().toString());
            resumesRefused++;
        }
        catch (final RuntimeException | Error ex)
        {
            throw new AssertionError(context + ": resume after seq " + afterSeq + ": " + ex, ex);
        }
        for (int i = 0; i < handler.entries.size(); i++)
        {
            assertThat(handler.entries.get(i).seq()).as(context).isEqualTo(afterSeq + 1 + i);
            handler.entries.get(i).assertIsExpected();
        }
    }

    /** Damages one cycle file at random; returns how many entries lie wholly before the damage. */
    private int damage(final List<Document> documents, final StringBuilder what) throws IOException
    {
        final List<Path> files = new ArrayList<>();
        for (final Document document : documents)
        {
            if (!files.contains(document.file()))
            {
                files.add(document.file());
            }
        }
        final Path file = files.get(random.nextInt(files.size()));
        long firstStart = Long.MAX_VALUE;
        long lastEnd = 0;
        for (final Document document : documents)
        {
            if (document.file().equals(file))
            {
                firstStart = Math.min(firstStart, document.start());
                lastEnd = Math.max(lastEnd, document.end());
            }
        }
        final long offset = random.nextInt(4) == 0 ?
            random.nextInt((int)firstStart) : firstStart + random.nextInt((int)(lastEnd - firstStart + 64));
        final int kind = random.nextInt(4);
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE))
        {
            switch (kind)
            {
                case 0 ->
                {
                    channel.truncate(offset);
                    what.append("truncated at ").append(offset);
                }
                case 1 ->
                {
                    final byte[] garbage = new byte[1 + random.nextInt(64)];
                    random.nextBytes(garbage);
                    channel.write(ByteBuffer.wrap(garbage), offset);
                    what.append(garbage.length).append(" random bytes at ").append(offset);
                }
                case 2 ->
                {
                    final int length = random.nextBoolean() ? 4096 - (int)(offset & 4095) : 1 + random.nextInt(64);
                    channel.write(ByteBuffer.allocate(length), offset);
                    what.append(length).append(" zeros at ").append(offset);
                }
                default ->
                {
                    final ByteBuffer one = ByteBuffer.allocate(1);
                    channel.read(one, offset);
                    one.put(0, (byte)(one.get(0) ^ (1 << random.nextInt(8)))).flip();
                    channel.write(one, offset);
                    what.append("a bit flipped at ").append(offset);
                }
            }
        }
        what.append(" of cycle file ").append(files.indexOf(file) + 1).append(" of ").append(files.size());
        int intactBefore = 0;
        for (final Document document : documents)
        {
            final boolean earlierFile = files.indexOf(document.file()) < files.indexOf(file);
            if (!earlierFile && !(document.file().equals(file) && document.end() <= offset))
            {
                break;
            }
            intactBefore++;
        }
        return intactBefore;
    }

    /** The kind of failure, without numbers and paths, to count how many different checks were reached. */
    private static String kind(final String message)
    {
        return message.replaceAll("/\\S*", "DIR").replaceAll("\\(stored [0-9a-f]+, computed [0-9a-f]+\\)", "")
            .replaceAll("0x[0-9a-f]+", "X").replaceAll("(?<![A-Za-z0-9])-?\\d+", "N");
    }
}
