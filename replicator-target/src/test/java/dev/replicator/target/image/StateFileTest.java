package dev.replicator.target.image;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class StateFileTest
{
    @TempDir
    Path dir;

    @Test
    void theNewestValidSlotWinsAndATornSlotFallsBackToTheOther() throws IOException
    {
        final Path path = dir.resolve("store.state");
        try (StateFile state = StateFile.openOrCreate(path))
        {
            assertThat(state.lastSeq()).isZero();
            assertThat(state.firstRetainedSeq()).isZero();
            state.write(10, 0, 0, 0);
            state.write(20, 5, 3, 4096);
        }
        assertThat(Files.size(path)).isEqualTo(StateFileDescriptor.FILE_LENGTH);
        try (StateFile state = StateFile.openOrCreate(path))
        {
            assertThat(state.lastSeq()).isEqualTo(20);
            assertThat(state.firstRetainedSeq()).isEqualTo(5);
            assertThat(state.undoBaseSeq()).isEqualTo(3);
            assertThat(state.undoLength()).isEqualTo(4096);
        }

        // Generation 3 (lastSeq 20) is in slot 1: tear it.
        corrupt(path, StateFileDescriptor.slotPosition(3) + StateFileDescriptor.LAST_SEQ_OFFSET);
        try (StateFile state = StateFile.openOrCreate(path))
        {
            assertThat(state.lastSeq()).isEqualTo(10);
            assertThat(state.firstRetainedSeq()).isZero();
            state.write(30, 7, 7, 0);
        }
        try (StateFile state = StateFile.openOrCreate(path))
        {
            assertThat(state.lastSeq()).isEqualTo(30);
            assertThat(state.firstRetainedSeq()).isEqualTo(7);
        }
    }

    @Test
    void aStateFileWithNoValidSlotIsReportedAsDamaged() throws IOException
    {
        final Path path = dir.resolve("store.state");
        StateFile.openOrCreate(path).close();
        Files.write(path, new byte[StateFileDescriptor.FILE_LENGTH]);
        assertThatThrownBy(() -> StateFile.openOrCreate(path))
            .isInstanceOf(ImageStoreException.class)
            .hasMessageContaining("no valid slot");
    }

    @Test
    void aSlotWrittenBeforeTheUndoFieldsIsReadWithThemUnknown() throws IOException
    {
        final Path path = dir.resolve("store.state");
        // Version 1: magic 'IMS1', CRC32C of bytes 8 .. 32, no Undo Base or Undo Length.
        final ByteBuffer file = ByteBuffer.allocate(StateFileDescriptor.FILE_LENGTH);
        final int slot = (int)StateFileDescriptor.slotPosition(7);
        file.putInt(slot, StateFileDescriptor.MAGIC_V1).putLong(slot + 8, 7).putLong(slot + 16, 42).putLong(slot + 24, 3);
        file.putInt(slot + 4, dev.replicator.core.codec.Checksums.crc32c(file, slot + 8, 24));
        Files.write(path, file.array());

        try (StateFile state = StateFile.openOrCreate(path))
        {
            assertThat(state.lastSeq()).isEqualTo(42);
            assertThat(state.firstRetainedSeq()).isEqualTo(3);
            assertThat(state.undoBaseSeq()).isEqualTo(StateFileDescriptor.UNKNOWN);
            assertThat(state.undoLength()).isEqualTo(StateFileDescriptor.UNKNOWN);
            state.write(43, 3, 40, 4096);
        }
        try (StateFile state = StateFile.openOrCreate(path))
        {
            assertThat(state.lastSeq()).isEqualTo(43);
            assertThat(state.undoBaseSeq()).isEqualTo(40);
            assertThat(state.undoLength()).isEqualTo(4096);
        }
    }

    private static void corrupt(final Path path, final long position) throws IOException
    {
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.WRITE))
        {
            channel.write(ByteBuffer.wrap(new byte[] {(byte)0xFF}), position);
        }
    }
}
