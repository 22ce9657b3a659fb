package dev.replicator.core.journal;

import dev.replicator.core.io.AtomicFiles;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * Makes the queue's appended entries durable against power loss by fsync of the cycle files written
 * since the last sync.
 *
 * <p>Chronicle writes through a shared memory mapping, so an entry is in the page cache as soon as it
 * is appended and survives a process crash without any call. Against power loss it must reach the
 * device: on Linux, fsync on any descriptor of a file writes back the dirty pages of every shared
 * mapping of it, so a plain {@link FileChannel#force} on the cycle file suffices. (Chronicle's own
 * {@code ExcerptAppender.sync()} does nothing unless the queue was built with a sync mode, and then
 * covers only the appender's current mapped chunk.) The channel of the current cycle stays open so
 * a frequent sync costs one system call.
 *
 * <p>Thread-safe: the appending thread reports new cycle files while any thread syncs.
 */
final class CycleFileSyncer implements AutoCloseable
{
    private final Path queueDirectory;
    private final Path queueMetadataFile;
    private final List<Path> pendingFiles = new ArrayList<>();
    private Path currentFile;
    private FileChannel currentChannel;
    private boolean directoryChanged;
    private boolean closed;

    CycleFileSyncer(final Path queueDirectory, final Path queueMetadataFile)
    {
        this.queueDirectory = queueDirectory;
        this.queueMetadataFile = queueMetadataFile;
    }

    /** A file to fsync at the next sync, e.g. one a previous process appended to before it crashed. */
    synchronized void addPending(final Path file)
    {
        if (!file.equals(currentFile) && !pendingFiles.contains(file))
        {
            pendingFiles.add(file);
        }
        directoryChanged = true;
    }

    /** The appender moved to a new cycle file; the previous one gets one last fsync. */
    synchronized void onCycleFile(final Path file) throws IOException
    {
        if (file.equals(currentFile))
        {
            return;
        }
        if (currentFile != null)
        {
            pendingFiles.add(currentFile);
            closeCurrentChannel();
        }
        pendingFiles.remove(file);
        currentFile = file;
        directoryChanged = true;
    }

    synchronized void sync() throws IOException
    {
        if (closed)
        {
            throw new IOException("sync after close");
        }
        while (!pendingFiles.isEmpty())
        {
            final Path file = pendingFiles.get(pendingFiles.size() - 1);
            try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ))
            {
                channel.force(true);
            }
            catch (final NoSuchFileException ex)
            {
                // Released after it was fully acknowledged: nothing left to make durable.
            }
            pendingFiles.remove(pendingFiles.size() - 1);
        }
        if (currentFile != null)
        {
            if (currentChannel == null)
            {
                currentChannel = FileChannel.open(currentFile, StandardOpenOption.READ);
            }
            currentChannel.force(true);
        }
        if (directoryChanged)
        {
            // New cycle files are directory entries, and Chronicle records the cycle range in its
            // metadata file; both must survive for the queue to find the new files after power loss.
            try (FileChannel channel = FileChannel.open(queueMetadataFile, StandardOpenOption.READ))
            {
                channel.force(true);
            }
            catch (final NoSuchFileException ex)
            {
                // Chronicle rebuilds its directory listing from the files when it has none.
            }
            AtomicFiles.fsyncDirectory(queueDirectory);
            directoryChanged = false;
        }
    }

    @Override
    public synchronized void close() throws IOException
    {
        closed = true;
        closeCurrentChannel();
    }

    private void closeCurrentChannel() throws IOException
    {
        if (currentChannel != null)
        {
            final FileChannel channel = currentChannel;
            currentChannel = null;
            channel.close();
        }
    }
}
