package dev.replicator.core.journal;

import net.openhft.chronicle.bytes.Bytes;
import net.openhft.chronicle.queue.ExcerptTailer;
import net.openhft.chronicle.queue.RollCycle;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueue;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueueBuilder;
import net.openhft.chronicle.wire.DocumentContext;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Looks at and damages a journal's cycle files from the outside, as a test needs. */
final class JournalFiles
{
    /** An entry's document in a cycle file: Chronicle's 4-byte header at {@code start}, the entry after it. */
    record Document(long seq, Path file, long start, long end)
    {
        long entryStart()
        {
            return start + 4;
        }
    }

    private JournalFiles()
    {
    }

    static Path queueDirectory(final Path journalDirectory) throws IOException
    {
        try (DirectoryStream<Path> stream =
            Files.newDirectoryStream(journalDirectory, JournalDirectory.QUEUE_DIRECTORY_PREFIX + "*"))
        {
            return stream.iterator().next();
        }
    }

    /** Every document of the journal's queue, in queue order, read with a plain Chronicle tailer. */
    static List<Document> documents(final Path journalDirectory, final RollCycle rollCycle) throws IOException
    {
        final Path queueDirectory = queueDirectory(journalDirectory);
        final List<Document> documents = new ArrayList<>();
        try (SingleChronicleQueue queue = SingleChronicleQueueBuilder.binary(queueDirectory).rollCycle(rollCycle).build();
            ExcerptTailer tailer = queue.createTailer())
        {
            final Map<Integer, Path> files = new HashMap<>();
            for (final CycleFiles.CycleFile file : new CycleFiles(queueDirectory, queue).list())
            {
                files.put(file.cycle(), file.path());
            }
            while (true)
            {
                try (DocumentContext dc = tailer.readingDocument())
                {
                    if (!dc.isPresent())
                    {
                        return documents;
                    }
                    final Bytes<?> bytes = dc.wire().bytes();
                    final long position = bytes.readPosition();
                    documents.add(new Document(bytes.readLong(position), files.get(rollCycle.toCycle(dc.index())),
                        position - 4, position + bytes.readRemaining()));
                }
            }
        }
    }

    static void write(final Path file, final long position, final byte[] bytes) throws IOException
    {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE))
        {
            channel.write(ByteBuffer.wrap(bytes), position);
        }
    }

    static void flipByte(final Path file, final long position) throws IOException
    {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE))
        {
            final ByteBuffer one = ByteBuffer.allocate(1);
            channel.read(one, position);
            one.put(0, (byte)(one.get(0) ^ 0x24)).flip();
            channel.write(one, position);
        }
    }

    static void truncate(final Path file, final long length) throws IOException
    {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE))
        {
            channel.truncate(length);
        }
    }
}
