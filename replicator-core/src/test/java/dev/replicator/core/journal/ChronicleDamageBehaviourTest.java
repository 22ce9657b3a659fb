package dev.replicator.core.journal;

import net.openhft.chronicle.bytes.Bytes;
import net.openhft.chronicle.queue.ExcerptAppender;
import net.openhft.chronicle.queue.ExcerptTailer;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueue;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueueBuilder;
import net.openhft.chronicle.wire.DocumentContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * What Chronicle Queue (2026.4) does with a cycle file damaged under it, on its own, without the
 * journal's checks. These are the reasons the journal checks a CRC32C per entry, refuses to open when
 * Chronicle's index stops short of the documents, and fails a reader that can read nothing more while
 * newer entries exist. If an upgrade of Chronicle changes any of this, this test says so.
 *
 * <p>Cycle file layout seen here: a header document (the store's metadata: write position, index
 * settings) at 0, then the index-of-indices and the first index array (about 64 KiB), then the data
 * documents, each a 4-byte header (30 bits of length, a not-complete bit and a metadata bit) and its
 * bytes; the file is pre-sized and sparse (about 80 MiB with the default block size).
 */
class ChronicleDamageBehaviourTest
{
    private static final int DOCUMENTS = 20;
    private static final int DOCUMENT_LENGTH = 200;

    @TempDir
    Path directory;

    /** Where each document's bytes start in the cycle file. */
    private final List<Long> positions = new ArrayList<>();

    @Test
    void aDocumentWithDamagedBytesIsReturnedAsWholeAndValid() throws IOException
    {
        final Path file = writeQueue();
        final long damaged = positions.get(7) + 50;
        flipByte(file, damaged);

        final List<byte[]> read = readAll();
        assertThat(read).hasSize(DOCUMENTS);
        assertThat(read.get(7)).as("Chronicle has no checksum: the damaged byte is delivered").isNotEqualTo(document(7));
        for (int i = 0; i < DOCUMENTS; i++)
        {
            if (i != 7)
            {
                assertThat(read.get(i)).isEqualTo(document(i));
            }
        }
    }

    @Test
    void aTruncatedCycleFileIsExtendedWithZerosAndTheCutDocumentReturnedWhole() throws IOException
    {
        final Path file = writeQueue();
        final long cut = positions.get(12) + 100;
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE))
        {
            channel.truncate(cut);
        }

        final List<byte[]> read = readAll();
        assertThat(read).as("documents up to and including the cut one").hasSize(13);
        final byte[] expected = document(12);
        Arrays.fill(expected, 100, DOCUMENT_LENGTH, (byte)0);
        assertThat(read.get(12)).as("the cut document, its tail now zeros, delivered as valid").isEqualTo(expected);

        // The header's write position lies beyond the cut. With assertions on (as in tests) Chronicle's
        // own check fails; without (as in production) its last index falls back to the first document,
        // so a writer trusting it would reuse the seqs of the documents that follow.
        try (SingleChronicleQueue queue = SingleChronicleQueueBuilder.binary(directory).build())
        {
            if (SingleChronicleQueue.class.desiredAssertionStatus())
            {
                assertThatThrownBy(queue::lastIndex).isInstanceOf(AssertionError.class);
            }
            else
            {
                assertThat(queue.lastIndex()).isEqualTo(queue.firstIndex());
            }
        }
    }

    @Test
    void aZeroedDocumentHeaderEndsReadingThoughTheIndexKnowsLaterDocuments() throws IOException
    {
        final Path file = writeQueue();
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE))
        {
            channel.write(ByteBuffer.allocate(4), positions.get(9) - 4);
        }

        final long lastIndexSeqNo;
        try (SingleChronicleQueue queue = SingleChronicleQueueBuilder.binary(directory).build())
        {
            lastIndexSeqNo = queue.rollCycle().toSequenceNumber(queue.lastIndex());
        }
        assertThat(readAll()).as("a tailer stops at the zero header, as at the end of the data").hasSize(9);
        assertThat(lastIndexSeqNo).as("while the queue's last index is still the real last document")
            .isEqualTo(DOCUMENTS - 1);
    }

    @Test
    void anIncompleteHeaderLeftByACrashAfterTheLastDocumentIsRecoveredOnTheNextAppend() throws IOException
    {
        final Path file = writeQueue();
        // A writer that died after claiming the next header: not-complete bit set, no length yet.
        final long next = positions.get(DOCUMENTS - 1) + DOCUMENT_LENGTH;
        final ByteBuffer header = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0, 0x8000_0000);
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE))
        {
            channel.write(header, (next + 3) & ~3L);
        }

        try (SingleChronicleQueue queue = SingleChronicleQueueBuilder.binary(directory).build();
            ExcerptAppender appender = queue.createAppender())
        {
            appender.writeBytes(Bytes.wrapForRead(document(DOCUMENTS)));
        }
        final List<byte[]> read = readAll();
        assertThat(read).hasSize(DOCUMENTS + 1);
        assertThat(read.get(DOCUMENTS)).isEqualTo(document(DOCUMENTS));
    }

    private Path writeQueue() throws IOException
    {
        try (SingleChronicleQueue queue = SingleChronicleQueueBuilder.binary(directory).build();
            ExcerptAppender appender = queue.createAppender();
            ExcerptTailer tailer = queue.createTailer())
        {
            for (int i = 0; i < DOCUMENTS; i++)
            {
                appender.writeBytes(Bytes.wrapForRead(document(i)));
            }
            while (true)
            {
                try (DocumentContext dc = tailer.readingDocument())
                {
                    if (!dc.isPresent())
                    {
                        break;
                    }
                    positions.add(dc.wire().bytes().readPosition());
                }
            }
        }
        assertThat(positions).hasSize(DOCUMENTS);
        try (DirectoryStream<Path> files = Files.newDirectoryStream(directory, "*.cq4"))
        {
            return files.iterator().next();
        }
    }

    private List<byte[]> readAll()
    {
        final List<byte[]> read = new ArrayList<>();
        try (SingleChronicleQueue queue = SingleChronicleQueueBuilder.binary(directory).build();
            ExcerptTailer tailer = queue.createTailer())
        {
            while (true)
            {
                try (DocumentContext dc = tailer.readingDocument())
                {
                    if (!dc.isPresent())
                    {
                        return read;
                    }
                    final Bytes<?> bytes = dc.wire().bytes();
                    final byte[] copy = new byte[(int)bytes.readRemaining()];
                    bytes.read(copy);
                    read.add(copy);
                }
            }
        }
    }

    private static byte[] document(final int i)
    {
        final byte[] bytes = new byte[DOCUMENT_LENGTH];
        for (int b = 0; b < bytes.length; b++)
        {
            bytes[b] = (byte)(i * 31 + b + 1);
        }
        return bytes;
    }

    private static void flipByte(final Path file, final long position) throws IOException
    {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE))
        {
            final ByteBuffer one = ByteBuffer.allocate(1);
            channel.read(one, position);
            one.put(0, (byte)(one.get(0) ^ 0x10)).flip();
            channel.write(one, position);
        }
    }
}
