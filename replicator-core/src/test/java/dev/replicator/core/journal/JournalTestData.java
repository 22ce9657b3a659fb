package dev.replicator.core.journal;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Entries whose every field derives from their seq, so a test (or a child JVM) can append them and
 * another process can check each one byte for byte knowing only the seq.
 */
final class JournalTestData
{
    static final int BLOCK_SIZE = 512;
    static final int CHECKPOINT_EVERY = 10;

    private JournalTestData()
    {
    }

    static boolean isCheckpoint(final long seq)
    {
        return seq % CHECKPOINT_EVERY == 0;
    }

    static int volumeIndex(final long seq)
    {
        return (int)(seq % 3);
    }

    static long firstBlock(final long seq)
    {
        return seq * 7 + 3;
    }

    static long checkpointTimestampMs(final long seq)
    {
        return 1_700_000_000_000L + seq;
    }

    static String label(final long seq)
    {
        return seq % 20 == 0 ? "" : "cp-" + seq + "-\u00e9t\u00e9";
    }

    /** 1 to 4 blocks, pseudo-random bytes (xorshift seeded by seq: no two entries alike). */
    static byte[] payload(final long seq)
    {
        final byte[] bytes = new byte[BLOCK_SIZE * (int)(1 + seq % 4)];
        long x = seq * 0x9E3779B97F4A7C15L + 1;
        for (int i = 0; i < bytes.length; i++)
        {
            x ^= x << 13;
            x ^= x >>> 7;
            x ^= x << 17;
            bytes[i] = (byte)x;
        }
        return bytes;
    }

    /** Appends the entry for the journal's next seq and checks the seq it got. */
    static long appendNext(final Journal journal)
    {
        final long seq = journal.lastSeq() + 1;
        final long appended;
        if (isCheckpoint(seq))
        {
            appended = journal.appendCheckpoint(checkpointTimestampMs(seq), label(seq));
        }
        else
        {
            final byte[] payload = payload(seq);
            // Direct buffer with the payload at an offset: the journal must honour srcOffset.
            final ByteBuffer src = ByteBuffer.allocateDirect(payload.length + 5);
            src.position(5);
            src.put(payload);
            src.position(2);
            appended = journal.appendWrite(volumeIndex(seq), firstBlock(seq), src, 5, payload.length);
            assertThat(src.position()).as("appendWrite must not move the source buffer").isEqualTo(2);
        }
        assertThat(appended).isEqualTo(seq);
        return appended;
    }

    static void appendNext(final Journal journal, final int count)
    {
        for (int i = 0; i < count; i++)
        {
            appendNext(journal);
        }
    }

    /** What a handler received: one entry, payload copied out of the reused buffer. */
    record Entry(long seq, long timestampMs, boolean checkpoint, int volumeIndex, long firstBlock, byte[] payload, String label)
    {
        void assertIsExpected()
        {
            assertThat(checkpoint).as("type of seq %d", seq).isEqualTo(JournalTestData.isCheckpoint(seq));
            if (checkpoint)
            {
                assertThat(label).as("label of seq %d", seq).isEqualTo(JournalTestData.label(seq));
                assertThat(timestampMs).as("timestamp of seq %d", seq).isEqualTo(JournalTestData.checkpointTimestampMs(seq));
            }
            else
            {
                assertThat(volumeIndex).as("volumeIndex of seq %d", seq).isEqualTo(JournalTestData.volumeIndex(seq));
                assertThat(firstBlock).as("firstBlock of seq %d", seq).isEqualTo(JournalTestData.firstBlock(seq));
                assertThat(Arrays.equals(payload, JournalTestData.payload(seq))).as("payload bytes of seq %d", seq).isTrue();
            }
        }
    }

    /** Collects what a reader delivers. */
    static final class RecordingHandler implements JournalEntryHandler
    {
        final List<Entry> entries = new ArrayList<>();

        @Override
        public void onWrite(final long seq, final long timestampMs, final int volumeIndex, final long firstBlock,
            final ByteBuffer payload)
        {
            assertThat(payload.position()).isZero();
            final byte[] bytes = new byte[payload.remaining()];
            payload.get(payload.position(), bytes);
            entries.add(new Entry(seq, timestampMs, false, volumeIndex, firstBlock, bytes, null));
        }

        @Override
        public void onCheckpoint(final long seq, final long timestampMs, final String label)
        {
            entries.add(new Entry(seq, timestampMs, true, 0, 0, null, label));
        }

        List<Long> seqs()
        {
            final List<Long> seqs = new ArrayList<>();
            for (final Entry entry : entries)
            {
                seqs.add(entry.seq());
            }
            return seqs;
        }
    }

    /** Polls until the reader has nothing more; returns everything it delivered. */
    static RecordingHandler drain(final JournalReader reader)
    {
        final RecordingHandler handler = new RecordingHandler();
        while (reader.poll(handler, 7) > 0)
        {
            // keep polling: 7 per poll exercises the batch limit
        }
        return handler;
    }

    static List<Long> range(final long fromInclusive, final long toInclusive)
    {
        final List<Long> seqs = new ArrayList<>();
        for (long seq = fromInclusive; seq <= toInclusive; seq++)
        {
            seqs.add(seq);
        }
        return seqs;
    }
}
