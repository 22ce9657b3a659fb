package dev.replicator.core.journal;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;

/**
 * Layout of a group's journal directory:
 *
 * <pre>
 * &lt;directory&gt;/
 *   journal.meta                 journalId and baseSeq ({@link JournalMetaFile})
 *   queue-&lt;journalId&gt;/          the Chronicle Queue: cycle files *.cq4 and metadata.cq4t
 * </pre>
 *
 * The queue lives in a folder named after the journal id so that starting a fresh journal is
 * crash-safe: {@code journal.meta} naming the new id is the commit point, and a {@code queue-*}
 * folder of any other id is garbage, deleted at the next open. Deleting old queue files first and
 * then writing the metadata would leave, after a crash between the two, either an old journal with a
 * new baseSeq or a new journal with old entries.
 */
final class JournalDirectory
{
    static final String QUEUE_DIRECTORY_PREFIX = "queue-";

    private final Path root;

    JournalDirectory(final Path root)
    {
        this.root = root.toAbsolutePath();
    }

    Path root()
    {
        return root;
    }

    Path metaFile()
    {
        return root.resolve(JournalMetaFile.FILE_NAME);
    }

    Path queueDirectory(final String journalId)
    {
        return root.resolve(QUEUE_DIRECTORY_PREFIX + journalId);
    }

    List<Path> queueDirectories() throws IOException
    {
        final List<Path> directories = new ArrayList<>();
        if (!Files.isDirectory(root))
        {
            return directories;
        }
        try (DirectoryStream<Path> stream = Files.newDirectoryStream(root, QUEUE_DIRECTORY_PREFIX + "*"))
        {
            for (final Path path : stream)
            {
                if (Files.isDirectory(path))
                {
                    directories.add(path);
                }
            }
        }
        return directories;
    }

    /** Deletes the queue folders of every journal but {@code journalId}. */
    void deleteQueueDirectoriesExcept(final String journalId) throws IOException
    {
        final Path keep = queueDirectory(journalId);
        for (final Path directory : queueDirectories())
        {
            if (!directory.equals(keep))
            {
                deleteTree(directory);
            }
        }
    }

    private static void deleteTree(final Path directory) throws IOException
    {
        Files.walkFileTree(directory, new SimpleFileVisitor<>()
        {
            @Override
            public FileVisitResult visitFile(final Path file, final BasicFileAttributes attrs) throws IOException
            {
                Files.delete(file);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(final Path dir, final IOException ex) throws IOException
            {
                if (ex != null)
                {
                    throw ex;
                }
                Files.delete(dir);
                return FileVisitResult.CONTINUE;
            }
        });
    }
}
