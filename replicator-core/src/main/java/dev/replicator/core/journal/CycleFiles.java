package dev.replicator.core.journal;

import net.openhft.chronicle.queue.impl.RollingResourcesCache;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueue;

import java.io.File;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The cycle files of one queue as they are on disk, named the way Chronicle names them (its own
 * {@link RollingResourcesCache} maps a file name to its cycle). The directory is the truth here, not
 * Chronicle's cached directory listing, which lags behind deletes until refreshed. Thread-safe
 * (stateless apart from the immutable name cache).
 */
final class CycleFiles
{
    /** One cycle file: Chronicle's cycle number (time since epoch in roll-cycle units) and its path. */
    record CycleFile(int cycle, Path path)
    {
    }

    private static final String SUFFIX = SingleChronicleQueue.SUFFIX;
    private static final Comparator<CycleFile> BY_CYCLE = Comparator.comparingInt(CycleFile::cycle);

    private final Path queueDirectory;
    private final RollingResourcesCache names;

    CycleFiles(final Path queueDirectory, final SingleChronicleQueue queue)
    {
        this.queueDirectory = queueDirectory;
        final File directory = queueDirectory.toFile();
        this.names = new RollingResourcesCache(
            queue.rollCycle(),
            queue.epoch(),
            name -> new File(directory, name + SUFFIX),
            file -> file.getName().substring(0, file.getName().length() - SUFFIX.length()));
    }

    Path queueDirectory()
    {
        return queueDirectory;
    }

    /** The cycle files now on disk, oldest first. */
    List<CycleFile> list() throws IOException
    {
        final List<CycleFile> files = new ArrayList<>();
        try (DirectoryStream<Path> stream = Files.newDirectoryStream(queueDirectory, "*" + SUFFIX))
        {
            for (final Path path : stream)
            {
                final String fileName = path.getFileName().toString();
                final String name = fileName.substring(0, fileName.length() - SUFFIX.length());
                final int cycle;
                try
                {
                    cycle = names.parseCount(name);
                }
                catch (final RuntimeException ex)
                {
                    // Not named by this queue's roll cycle (e.g. copied in by hand): not ours to read or delete.
                    continue;
                }
                files.add(new CycleFile(cycle, path));
            }
        }
        files.sort(BY_CYCLE);
        return files;
    }

    /** Bytes of all files of the queue (cycle files and Chronicle's metadata), as file lengths. */
    long sizeBytes() throws IOException
    {
        long totalBytes = 0;
        try (DirectoryStream<Path> stream = Files.newDirectoryStream(queueDirectory))
        {
            for (final Path path : stream)
            {
                try
                {
                    totalBytes += Files.size(path);
                }
                catch (final NoSuchFileException ex)
                {
                    // Released while we listed: it no longer counts.
                }
            }
        }
        return totalBytes;
    }
}
