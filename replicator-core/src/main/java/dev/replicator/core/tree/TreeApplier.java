package dev.replicator.core.tree;

import dev.replicator.core.io.AtomicFiles;
import dev.replicator.core.io.NativeFiles;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * Applies {@link TreeOp}s to a directory and makes them durable on {@link #sync()}: every file
 * written and every directory whose entries or attributes changed is fsynced. Lenient mode (for
 * replays and roll-backs of ops that may have been applied already, in part) treats "already so"
 * as done: a missing entry to delete, an existing directory to make, a rename whose source is gone
 * and whose destination exists. Single-threaded.
 */
public final class TreeApplier implements AutoCloseable
{
    /** Dirty files and directories from which one syncfs costs less than an fsync each. */
    static final int SYNCFS_FROM = 64;

    /** I/O-bound fsyncs, shared by every applier of the process. */
    private static final ExecutorService SYNCERS = Executors.newFixedThreadPool(16, runnable ->
    {
        final Thread thread = new Thread(runnable, "tree-fsync");
        thread.setDaemon(true);
        return thread;
    });

    private final Path root;
    private final Set<String> dirtyFiles = new HashSet<>();
    private final Set<String> dirtyDirs = new HashSet<>();
    private String openPath;
    private FileChannel openChannel;
    private boolean lenient;

    public TreeApplier(final Path root)
    {
        this.root = root;
    }

    public Path root()
    {
        return root;
    }

    public void lenient(final boolean lenient)
    {
        this.lenient = lenient;
    }

    public void apply(final TreeOp op) throws IOException
    {
        final Path path = TreePaths.resolve(root, op.path());
        switch (op.kind())
        {
            case MKDIR ->
            {
                try
                {
                    Files.createDirectory(path);
                }
                catch (final FileAlreadyExistsException ex)
                {
                    if (!lenient || !Files.isDirectory(path, LinkOption.NOFOLLOW_LINKS))
                    {
                        throw ex;
                    }
                }
                entriesChanged(op.path());
                dirtyDirs.add(op.path());
            }
            case CREATE ->
            {
                closeOpen();
                Files.deleteIfExists(path);
                Files.createFile(path);
                entriesChanged(op.path());
                dirtyFiles.add(op.path());
            }
            case SYMLINK ->
            {
                if (lenient)
                {
                    Files.deleteIfExists(path);
                }
                Files.createSymbolicLink(path, Path.of(op.other()));
                entriesChanged(op.path());
            }
            case DELETE ->
            {
                closeOpen();
                try
                {
                    Files.delete(path);
                }
                catch (final NoSuchFileException ex)
                {
                    if (!lenient)
                    {
                        throw ex;
                    }
                }
                catch (final DirectoryNotEmptyException ex)
                {
                    throw new IOException("cannot delete directory " + op.path() + ": it is not empty", ex);
                }
                forget(op.path());
                entriesChanged(op.path());
            }
            case RENAME ->
            {
                closeOpen();
                final Path to = TreePaths.resolve(root, op.other());
                if (lenient && !Files.exists(path, LinkOption.NOFOLLOW_LINKS) && Files.exists(to, LinkOption.NOFOLLOW_LINKS))
                {
                    return;
                }
                Files.move(path, to, StandardCopyOption.ATOMIC_MOVE);
                rekey(op.path(), op.other());
                entriesChanged(op.path());
                entriesChanged(op.other());
                dirtyDirs.add(op.other());
            }
            case TRUNCATE ->
            {
                closeOpen();
                // setLength extends with a hole (ftruncate), so sparse files stay sparse.
                try (RandomAccessFile file = new RandomAccessFile(path.toFile(), "rw"))
                {
                    file.setLength(op.offset());
                }
                dirtyFiles.add(op.path());
            }
            case WRITE ->
            {
                final FileChannel channel = channel(op.path(), path);
                final ByteBuffer data = ByteBuffer.wrap(op.data());
                while (data.hasRemaining())
                {
                    channel.write(data, op.offset() + data.position());
                }
                dirtyFiles.add(op.path());
            }
            case SETATTR ->
            {
                closeOpen();
                setAttributes(path, op.mode(), op.uid(), op.gid(), op.mtimeNs());
                if (Files.isDirectory(path, LinkOption.NOFOLLOW_LINKS))
                {
                    dirtyDirs.add(op.path());
                }
                else
                {
                    dirtyFiles.add(op.path());
                }
            }
        }
    }

    /** Owner first (chown clears set-id bits), then mode, then mtime (atime set to the same). */
    public static void setAttributes(final Path path, final int mode, final int uid, final int gid, final long mtimeNs)
        throws IOException
    {
        if (Files.isSymbolicLink(path))
        {
            return; // Java cannot change a symlink's own attributes; they are not replicated
        }
        final FileStat stat = FileStat.read(path);
        if (stat == null)
        {
            throw new NoSuchFileException(path.toString());
        }
        if (stat.uid() != uid)
        {
            Files.setAttribute(path, "unix:uid", uid);
        }
        if (stat.gid() != gid)
        {
            Files.setAttribute(path, "unix:gid", gid);
        }
        Files.setAttribute(path, "unix:mode", mode);
        final FileTime time = FileTime.from(mtimeNs, TimeUnit.NANOSECONDS);
        Files.getFileAttributeView(path, BasicFileAttributeView.class).setTimes(time, time, null);
    }

    /**
     * Makes everything applied since the last sync durable. The fsyncs run in parallel: each is a
     * journal commit of the file system, and concurrent ones share commits (a frame of small files
     * otherwise costs one commit per file). From {@link #SYNCFS_FROM} paths on, one {@code syncfs} of
     * the file system replaces them: a frame of an initial sync holds thousands of small files.
     */
    public void sync() throws IOException
    {
        closeOpen();
        if (dirtyFiles.size() + dirtyDirs.size() >= SYNCFS_FROM && NativeFiles.available())
        {
            NativeFiles.syncFileSystem(root);
            dirtyFiles.clear();
            dirtyDirs.clear();
            return;
        }
        final List<Path> files = new ArrayList<>();
        final List<Path> dirs = new ArrayList<>();
        for (final String file : dirtyFiles)
        {
            final Path path = root.resolve(file);
            if (Files.isRegularFile(path, LinkOption.NOFOLLOW_LINKS))
            {
                files.add(path);
            }
        }
        for (final String dir : dirtyDirs)
        {
            final Path path = dir.isEmpty() ? root : root.resolve(dir);
            if (Files.isDirectory(path, LinkOption.NOFOLLOW_LINKS))
            {
                dirs.add(path);
            }
        }
        final List<Future<?>> pending = new ArrayList<>(files.size() + dirs.size());
        for (final Path file : files)
        {
            pending.add(SYNCERS.submit(() ->
            {
                try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ))
                {
                    channel.force(true);
                }
                return null;
            }));
        }
        for (final Path dir : dirs)
        {
            pending.add(SYNCERS.submit(() ->
            {
                AtomicFiles.fsyncDirectory(dir);
                return null;
            }));
        }
        IOException failure = null;
        for (final Future<?> future : pending)
        {
            try
            {
                future.get();
            }
            catch (final ExecutionException ex)
            {
                final IOException io = ex.getCause() instanceof IOException e ? e : new IOException(ex.getCause());
                if (failure == null)
                {
                    failure = io;
                }
                else
                {
                    failure.addSuppressed(io);
                }
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while making the tree durable", ex);
            }
        }
        if (failure != null)
        {
            throw failure;
        }
        dirtyFiles.clear();
        dirtyDirs.clear();
    }

    @Override
    public void close() throws IOException
    {
        closeOpen();
    }

    private FileChannel channel(final String relative, final Path path) throws IOException
    {
        if (!relative.equals(openPath))
        {
            closeOpen();
            openChannel = FileChannel.open(path, StandardOpenOption.WRITE);
            openPath = relative;
        }
        return openChannel;
    }

    private void closeOpen() throws IOException
    {
        if (openChannel != null)
        {
            final FileChannel channel = openChannel;
            openChannel = null;
            openPath = null;
            channel.close();
        }
    }

    private void entriesChanged(final String path)
    {
        final String parent = TreePaths.parent(path);
        dirtyDirs.add(parent == null ? "" : parent);
    }

    private void forget(final String path)
    {
        dirtyFiles.remove(path);
        dirtyDirs.remove(path);
        final String prefix = path + "/";
        dirtyFiles.removeIf(p -> p.startsWith(prefix));
        dirtyDirs.removeIf(p -> p.startsWith(prefix));
    }

    private void rekey(final String from, final String to)
    {
        rekey(dirtyFiles, from, to);
        rekey(dirtyDirs, from, to);
    }

    private static void rekey(final Set<String> paths, final String from, final String to)
    {
        final String prefix = from + "/";
        final Set<String> moved = new HashSet<>();
        paths.removeIf(p ->
        {
            if (p.equals(from) || p.startsWith(prefix))
            {
                moved.add(to + p.substring(from.length()));
                return true;
            }
            return false;
        });
        paths.addAll(moved);
    }
}
