package dev.replicator.agent.failback;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Takes the cost of deleting a discarded journal off the role switch. Starting a fresh journal at
 * failback deletes the old queue's files, and unlinking the last name of a multi-GiB file the page
 * cache holds frees every page of it first: 1.7 s for the 4 GiB journal an initial sync leaves
 * (docs/PERFORMANCE.md), during which the target waited for the switch's acknowledgement.
 *
 * <p>{@link #keepAside} gives every file of the closed journal a second name (a hard link) under
 * {@code <state>/journal-discarded/}, so the journal's own delete only removes names; a daemon
 * thread then deletes the links, which frees the space. The journal's crash safety is untouched (its
 * own commit point decides which queue is live); a crash leaves only links, which the next
 * {@link #deleteLeftovers} removes. Falls back to nothing (the journal deletes the data itself) where
 * links cannot be made (another file system, no link support).
 */
public final class JournalDiscard
{
    static final String DIRECTORY_NAME = "journal-discarded";
    private static final Logger LOG = LoggerFactory.getLogger(JournalDiscard.class);
    private static final AtomicLong SEQUENCE = new AtomicLong();

    private final Path root;

    public JournalDiscard(final Path stateDir)
    {
        this.root = stateDir.toAbsolutePath().resolve(DIRECTORY_NAME);
    }

    /**
     * Links every file under the queue folders of {@code journalDir} (not its metadata file, which
     * the new journal rewrites) into a fresh folder of the discard directory. Call with the journal
     * closed, before the new one is created.
     *
     * @return the folder holding the links, for {@link #deleteInBackground}; null if nothing was linked.
     */
    public Path keepAside(final Path journalDir)
    {
        final Path aside = root.resolve(System.currentTimeMillis() + "-" + SEQUENCE.incrementAndGet());
        try
        {
            Files.createDirectories(aside);
            final long[] linked = new long[1];
            Files.walkFileTree(journalDir, new SimpleFileVisitor<>()
            {
                @Override
                public FileVisitResult visitFile(final Path file, final BasicFileAttributes attrs) throws IOException
                {
                    if (attrs.isRegularFile() && !file.getParent().equals(journalDir))
                    {
                        Files.createLink(aside.resolve(linked[0]++ + "-" + file.getFileName()), file);
                    }
                    return FileVisitResult.CONTINUE;
                }
            });
            return aside;
        }
        catch (final IOException | UnsupportedOperationException ex)
        {
            LOG.debug("journal files not kept aside for background deletion ({}); they are deleted in place", ex.toString());
            deleteQuietly(aside);
            return null;
        }
    }

    /** Deletes {@code aside} (from {@link #keepAside}) on a daemon thread; null does nothing. */
    public void deleteInBackground(final Path aside)
    {
        if (aside != null)
        {
            startDeleter(aside);
        }
    }

    /** Deletes whatever an earlier run left in the discard directory, on a daemon thread. */
    public void deleteLeftovers()
    {
        if (Files.isDirectory(root))
        {
            startDeleter(root);
        }
    }

    private static void startDeleter(final Path path)
    {
        final Thread thread = new Thread(() -> deleteQuietly(path), "journal-discard");
        thread.setDaemon(true);
        thread.start();
    }

    private static void deleteQuietly(final Path path)
    {
        if (!Files.exists(path))
        {
            return;
        }
        try
        {
            Files.walkFileTree(path, new SimpleFileVisitor<>()
            {
                @Override
                public FileVisitResult visitFile(final Path file, final BasicFileAttributes attrs) throws IOException
                {
                    Files.deleteIfExists(file);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult postVisitDirectory(final Path dir, final IOException ex) throws IOException
                {
                    Files.deleteIfExists(dir);
                    return FileVisitResult.CONTINUE;
                }
            });
        }
        catch (final IOException ex)
        {
            LOG.warn("could not delete discarded journal files in {}: {}", path, ex.toString());
        }
    }
}
