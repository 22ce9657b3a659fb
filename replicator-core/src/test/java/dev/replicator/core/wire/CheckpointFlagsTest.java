package dev.replicator.core.wire;

import dev.replicator.core.journal.Journal;
import dev.replicator.core.journal.JournalConfig;
import dev.replicator.core.journal.JournalEntryDescriptor;
import dev.replicator.core.journal.JournalEntryHandler;
import dev.replicator.core.journal.JournalReader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** A checkpoint's consistency flag survives the journal and the wire; old-style checkpoints read as 0. */
class CheckpointFlagsTest
{
    @TempDir
    Path dir;

    @Test
    void theApplicationConsistentFlagTravelsThroughTheJournal()
    {
        final List<Long> flags = new ArrayList<>();
        try (Journal journal = Journal.open(JournalConfig.builder(dir).build()))
        {
            journal.appendCheckpoint(1, "crash");
            journal.appendCheckpoint(2, "quiesced", JournalEntryDescriptor.CHECKPOINT_APP_CONSISTENT);
            try (JournalReader reader = journal.reader(0))
            {
                reader.poll(new JournalEntryHandler()
                {
                    @Override
                    public void onWrite(final long seq, final long timestampMs, final int volumeIndex,
                        final long firstBlock, final ByteBuffer payload)
                    {
                    }

                    @Override
                    public void onCheckpoint(final long seq, final long timestampMs, final String label)
                    {
                        throw new AssertionError("the four-argument form is called");
                    }

                    @Override
                    public void onCheckpoint(final long seq, final long timestampMs, final String label, final long f)
                    {
                        flags.add(f);
                    }
                }, 10);
            }
        }
        assertThat(flags).containsExactly(0L, JournalEntryDescriptor.CHECKPOINT_APP_CONSISTENT);
    }

    @Test
    void theApplicationConsistentFlagTravelsOnTheWire() throws Exception
    {
        final DataFrameEncoder encoder = new DataFrameEncoder();
        assertThat(encoder.tryAddCheckpoint(5, 100, "crash")).isTrue();
        assertThat(encoder.tryAddCheckpoint(6, 200, "quiesced", BlockRecordDescriptor.CHECKPOINT_APP_CONSISTENT))
            .isTrue();
        final ByteBuffer finished = encoder.finish(MessageType.DATA, 1);
        final ByteBuffer bytes = ByteBuffer.allocate(finished.remaining()).order(ByteOrder.LITTLE_ENDIAN);
        bytes.put(finished).flip();
        Frames.verify(bytes, bytes.limit());
        final Frame frame = new Frame();
        frame.wrap(bytes, bytes.limit());
        final DecodedBatch batch = new DataFrameDecoder(new int[] {4096}, new long[] {16}).decode(frame, 0);
        assertThat(batch.checkpointFlags(0)).isZero();
        assertThat(batch.checkpointFlags(1)).isEqualTo(BlockRecordDescriptor.CHECKPOINT_APP_CONSISTENT);
        assertThat(batch.label(1)).isEqualTo("quiesced");
    }
}
