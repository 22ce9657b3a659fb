package dev.replicator.agent.tree;

import dev.replicator.core.tree.TreeVolumeSpec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.FileSystems;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Watches every directory of the trees (inotify through {@link WatchService}) and says when
 * something changed, so the scanner runs at once instead of at its next interval. Events only
 * trigger; the scan finds what changed, so an overflow or a lost event costs nothing but latency.
 * New directories are registered as their creation is seen.
 */
final class TreeWatcher implements AutoCloseable
{
    private static final Logger LOG = LoggerFactory.getLogger(TreeWatcher.class);

    private final WatchService service;
    private final Runnable onChange;
    private final AtomicBoolean pending = new AtomicBoolean();
    private final Thread thread;

    private TreeWatcher(final WatchService service, final Runnable onChange)
    {
        this.service = service;
        this.onChange = onChange;
        this.thread = new Thread(this::run, "tree-watcher");
        this.thread.setDaemon(true);
    }

    static TreeWatcher start(final List<TreeVolumeSpec> trees, final Runnable onChange) throws IOException
    {
        final TreeWatcher watcher = new TreeWatcher(FileSystems.getDefault().newWatchService(), onChange);
        for (final TreeVolumeSpec tree : trees)
        {
            try
            {
                watcher.registerAll(tree.root());
            }
            catch (final IOException ex)
            {
                LOG.warn("tree volume {}: cannot watch all of {} ({}); changes there are found by the periodic scan",
                    tree.name(), tree.root(), ex.getMessage());
            }
        }
        watcher.thread.start();
        return watcher;
    }

    boolean pending()
    {
        return pending.get();
    }

    void drain()
    {
        pending.set(false);
    }

    private void run()
    {
        try
        {
            while (true)
            {
                final WatchKey key = service.take();
                final Path dir = (Path)key.watchable();
                for (final WatchEvent<?> event : key.pollEvents())
                {
                    if (event.kind() == StandardWatchEventKinds.ENTRY_CREATE)
                    {
                        final Path child = dir.resolve((Path)event.context());
                        if (Files.isDirectory(child, java.nio.file.LinkOption.NOFOLLOW_LINKS))
                        {
                            registerAll(child);
                        }
                    }
                }
                key.reset();
                pending.set(true);
                onChange.run();
            }
        }
        catch (final InterruptedException | ClosedWatchServiceException ex)
        {
            // closed: the agent stops
        }
        catch (final IOException ex)
        {
            LOG.warn("tree watcher stopped ({}); changes are found by the periodic scan", ex.getMessage());
        }
    }

    private void registerAll(final Path root) throws IOException
    {
        Files.walkFileTree(root, new SimpleFileVisitor<>()
        {
            @Override
            public FileVisitResult preVisitDirectory(final Path dir, final BasicFileAttributes attrs) throws IOException
            {
                dir.register(service, StandardWatchEventKinds.ENTRY_CREATE, StandardWatchEventKinds.ENTRY_DELETE,
                    StandardWatchEventKinds.ENTRY_MODIFY);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFileFailed(final Path file, final IOException ex)
            {
                return FileVisitResult.CONTINUE;
            }
        });
    }

    @Override
    public void close()
    {
        try
        {
            service.close();
        }
        catch (final IOException ex)
        {
            LOG.debug("closing the tree watcher: {}", ex.getMessage());
        }
        thread.interrupt();
    }
}
