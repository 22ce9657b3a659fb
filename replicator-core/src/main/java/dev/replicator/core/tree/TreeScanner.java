package dev.replicator.core.tree;

import dev.replicator.core.codec.Checksums;
import dev.replicator.core.io.NativeFiles;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinWorkerThread;
import java.util.concurrent.RecursiveAction;

/**
 * Diffs a directory tree against its {@link TreeIndex} and emits the {@link TreeOp}s that turn the
 * indexed tree into the current one, updating the index as it goes (the caller saves it once the
 * ops are durable). Works with no events at all, so it also catches what happened while the agent
 * was stopped; events only make it run sooner.
 *
 * <p>Order of the ops (what a replica applying them in order needs):
 * <ol>
 *   <li>entries moved to another path (same inode, so no data is re-sent) go to a temporary name
 *   at the root, deepest first: swaps and moves into a path being vacated cannot collide;</li>
 *   <li>deleted entries, deepest first (a directory after its contents);</li>
 *   <li>new directories, files, symlinks and the moved entries' final paths, shallowest first;</li>
 *   <li>per file: TRUNCATE to the new size, WRITE of the changed blocks only (blocks of zeros in
 *   new space are left as holes), SETATTR;</li>
 *   <li>SETATTR of every directory whose attributes or entries changed, deepest first: nothing
 *   later in the scan touches them, so their mtimes stay as the source has them.</li>
 * </ol>
 * A directory moved with its parent needs no op of its own. Paths that share an inode (hard links)
 * are replicated as separate files. Not thread-safe.
 */
public final class TreeScanner
{
    /** Data per WRITE op: well under the journal's largest entry. */
    public static final int DEFAULT_MAX_WRITE_BYTES = 512 * 1024;
    /** Threads that list and stat a tree in a scan (shared by every scanner of the process). */
    private static final ForkJoinPool WALKERS = new ForkJoinPool(Math.min(4, Runtime.getRuntime().availableProcessors()),
        pool ->
        {
            final ForkJoinWorkerThread thread = ForkJoinPool.defaultForkJoinWorkerThreadFactory.newThread(pool);
            thread.setName("tree-walk-" + thread.getPoolIndex());
            thread.setDaemon(true);
            return thread;
        }, null, false);
    /** How many small files ahead of the one being read are already being read by the kernel. */
    private static final int READ_AHEAD_FILES = 64;
    /** Fingerprint granularity of files no larger than one volume block. */
    static final int SMALL_FILE_BLOCK = 1024;
    /** Larger files get the kernel's own sequential read-ahead; a hint for a sparse one would fill its holes. */
    private static final long READ_AHEAD_MAX_FILE_BYTES = 1 << 20;
    /** Name prefix, at the root, of an entry between the two RENAMEs of a move. */
    public static final String MOVE_PREFIX = ".replicator-move-";

    private final int maxWriteBytes;
    private final ByteBuffer readBuffer;
    private long opCount;
    private long dataBytes;
    private long filesRead;
    private long lastReadSize;
    private ByteBuffer zeros;
    private int zeroHashLength = -1;
    private long zeroHashValue;

    public TreeScanner(final int maxWriteBytes)
    {
        this.maxWriteBytes = maxWriteBytes;
        this.readBuffer = ByteBuffer.allocateDirect(maxWriteBytes);
    }

    /** Ops emitted by the last {@link #scan}. */
    public long opCount()
    {
        return opCount;
    }

    /** WRITE bytes emitted by the last {@link #scan}. */
    public long dataBytes()
    {
        return dataBytes;
    }

    /** Files whose content the last {@link #scan} read. */
    public long filesRead()
    {
        return filesRead;
    }

    /** Scans the whole tree under {@code root}. */
    public void scan(final Path root, final TreeIndex index, final TreeOpSink sink) throws IOException
    {
        opCount = 0;
        dataBytes = 0;
        filesRead = 0;
        if (!Files.isDirectory(root, java.nio.file.LinkOption.NOFOLLOW_LINKS))
        {
            // Unmounted, renamed or deleted: scanning it as an empty tree would send a delete of everything.
            throw new IOException("tree root " + root + " is missing or not a directory; nothing is sent until it " +
                "is back");
        }
        final TreeMap<String, FileStat> current = walk(root);
        // Lookups by path go to hash maps: the ordered maps are for walking parents before children.
        final Map<String, FileStat> currentByPath = new HashMap<>(current);
        final Map<String, TreeEntry> old = index.entries();

        final Map<Long, String> currentByInode = uniqueInodes(current, true);
        final Map<Long, String> oldByInode = uniqueInodes(old, false);

        // Decide each indexed entry's fate, parents first so a directory's move is known to its children.
        final Map<String, String> movedDirs = new HashMap<>(); // old path -> new path, explicit or implied
        final TreeMap<String, String> explicitMoves = new TreeMap<>(TreeIndex::compare); // old -> new
        final Map<String, String> destinationOf = new HashMap<>(); // old -> new, every move
        final List<String> deleted = new ArrayList<>();
        final Set<String> deletedSet = new HashSet<>();
        for (final Map.Entry<String, TreeEntry> e : old.entrySet())
        {
            final String path = e.getKey();
            final TreeEntry entry = e.getValue();
            final FileStat now = currentByPath.get(path);
            if (now != null && now.inode() == entry.inode() && now.type() == entry.type() && movedAncestor(path, movedDirs) == null)
            {
                continue;
            }
            final String newPath = oldByInode.containsKey(entry.inode()) ? currentByInode.get(entry.inode()) : null;
            final FileStat there = newPath == null ? null : currentByPath.get(newPath);
            if (there != null && there.type() == entry.type())
            {
                if (!mapThroughMoves(path, movedDirs).equals(newPath))
                {
                    explicitMoves.put(path, newPath);
                }
                destinationOf.put(path, newPath);
                if (entry.type() == TreeEntry.Type.DIRECTORY)
                {
                    movedDirs.put(path, newPath);
                }
            }
            else
            {
                deleted.add(path);
                deletedSet.add(path);
            }
        }

        final Set<String> touchedDirs = new HashSet<>();
        final Map<String, String> tempOf = new HashMap<>();
        final List<String> movesDeepestFirst = new ArrayList<>(explicitMoves.keySet());
        movesDeepestFirst.sort(Comparator.comparingInt(TreePaths::depth).reversed());
        for (final String from : movesDeepestFirst)
        {
            final String temp = MOVE_PREFIX + old.get(from).inode();
            emit(sink, TreeOp.rename(locationDuringDeletes(from, tempOf), temp));
            tempOf.put(from, temp);
            touch(touchedDirs, mapThroughMoves(TreePaths.parent(from), movedDirs));
            touch(touchedDirs, explicitMoves.get(from)); // a moved directory's ".." changed
        }

        deleted.sort(Comparator.comparingInt(TreePaths::depth).reversed());
        for (final String path : deleted)
        {
            emit(sink, TreeOp.delete(locationDuringDeletes(path, tempOf)));
            touch(touchedDirs, mapThroughMoves(TreePaths.parent(path), movedDirs));
        }

        // The new index: moved entries under their new paths, deleted ones gone.
        final Map<String, TreeEntry> next = new HashMap<>(old.size() * 2);
        for (final Map.Entry<String, TreeEntry> e : old.entrySet())
        {
            final String newPath = destinationOf.get(e.getKey());
            if (newPath != null)
            {
                next.put(newPath, e.getValue());
            }
            else if (!deletedSet.contains(e.getKey()))
            {
                next.put(e.getKey(), e.getValue());
            }
        }

        // Placements, shallowest first: moves out of their temporary names and new entries.
        final Map<String, String> tempByDestination = new HashMap<>();
        for (final Map.Entry<String, String> move : explicitMoves.entrySet())
        {
            tempByDestination.put(move.getValue(), tempOf.get(move.getKey()));
        }
        final List<String> files = new ArrayList<>();
        for (final Map.Entry<String, FileStat> e : current.entrySet())
        {
            final String path = e.getKey();
            final FileStat stat = e.getValue();
            final String temp = tempByDestination.get(path);
            final TreeEntry known = next.get(path);
            if (temp != null)
            {
                emit(sink, TreeOp.rename(temp, path));
                touch(touchedDirs, TreePaths.parent(path));
            }
            if (known == null)
            {
                switch (stat.type())
                {
                    case DIRECTORY -> emit(sink, TreeOp.mkdir(path));
                    case FILE -> emit(sink, TreeOp.create(path));
                    case SYMLINK -> emit(sink, TreeOp.symlink(path, stat.linkTarget()));
                }
                touch(touchedDirs, TreePaths.parent(path));
                if (stat.type() == TreeEntry.Type.DIRECTORY)
                {
                    touchedDirs.add(path);
                }
                next.put(path, stat.type() == TreeEntry.Type.FILE ? emptyFile(stat) : TreeEntry.of(stat, null));
            }
            else if (stat.type() == TreeEntry.Type.SYMLINK && !stat.linkTarget().equals(known.linkTarget()))
            {
                // Also a symlink "moved" by a reused inode: a new link in place of a deleted one.
                emit(sink, TreeOp.delete(path));
                emit(sink, TreeOp.symlink(path, stat.linkTarget()));
                touch(touchedDirs, TreePaths.parent(path));
                next.put(path, TreeEntry.of(stat, null));
            }
            if (stat.type() == TreeEntry.Type.FILE)
            {
                files.add(path);
            }
            else if (stat.type() == TreeEntry.Type.DIRECTORY && !next.get(path).sameAttributesAs(stat))
            {
                touchedDirs.add(path);
            }
        }

        final List<Path> toRead = new ArrayList<>();
        for (final String path : files)
        {
            final FileStat stat = currentByPath.get(path);
            if (!unchanged(next.get(path), stat, index.blockSize()) && stat.size() <= READ_AHEAD_MAX_FILE_BYTES)
            {
                toRead.add(root.resolve(path));
            }
        }
        int advised = 0;
        int read = 0;
        for (final String path : files)
        {
            final FileStat stat = currentByPath.get(path);
            final TreeEntry known = next.get(path);
            if (unchanged(known, stat, index.blockSize()))
            {
                if (!known.sameAttributesAs(stat))
                {
                    emitSetattr(sink, path, stat);
                    next.put(path, TreeEntry.of(stat, known.blockHashes()));
                }
                continue;
            }
            if (stat.size() <= READ_AHEAD_MAX_FILE_BYTES)
            {
                // Small files read cold cost a disk round trip each: keep the next ones already on their way.
                read++;
                for (; advised < toRead.size() && advised < read + READ_AHEAD_FILES; advised++)
                {
                    NativeFiles.adviseWillNeed(toRead.get(advised));
                }
            }
            final long[] hashes = sendChangedBlocks(root.resolve(path), path, known, stat, index.blockSize(), sink);
            if (hashes == null)
            {
                // Gone since the walk (deleted, or its directory moved): the target still has what the
                // index says, so the index keeps it and the next scan sends the delete or the move.
                continue;
            }
            emitSetattr(sink, path, stat);
            // The size read, not the walk's: the target has what was read. The walk's mtime is older
            // than the read, so a change in between is read again next scan.
            next.put(path, new TreeEntry(stat.type(), stat.inode(), lastReadSize, stat.mtimeNs(), stat.mode(), stat.uid(),
                stat.gid(), null, hashes));
        }

        final List<String> dirs = new ArrayList<>();
        for (final String dir : touchedDirs)
        {
            final FileStat stat = currentByPath.get(dir);
            if (stat != null && stat.type() == TreeEntry.Type.DIRECTORY)
            {
                dirs.add(dir);
            }
        }
        dirs.sort(Comparator.comparingInt(TreePaths::depth).reversed().thenComparing(Comparator.naturalOrder()));
        for (final String dir : dirs)
        {
            final FileStat stat = currentByPath.get(dir);
            emitSetattr(sink, dir, stat);
            next.put(dir, TreeEntry.of(stat, null));
        }
        old.clear();
        old.putAll(next);
    }

    private static boolean unchanged(final TreeEntry known, final FileStat stat, final int blockSize)
    {
        return known.sameContentAs(stat) && known.blockHashes().length == fileBlocks(stat.size(), blockSize);
    }

    private void emitSetattr(final TreeOpSink sink, final String path, final FileStat stat) throws IOException
    {
        emit(sink, TreeOp.setattr(path, stat.mode(), stat.uid(), stat.gid(), stat.mtimeNs()));
    }

    private void emit(final TreeOpSink sink, final TreeOp op) throws IOException
    {
        opCount++;
        dataBytes += op.data().length;
        sink.onOp(op);
    }

    /**
     * Reads the file block by block, sends blocks whose fingerprint differs from the index (blocks
     * of zeros in space the file did not have are left as holes), and returns the new fingerprints,
     * or null if the file vanished.
     */
    private long[] sendChangedBlocks(
        final Path file, final String path, final TreeEntry known, final FileStat stat, final int volumeBlockSize,
        final TreeOpSink sink)
        throws IOException
    {
        filesRead++;
        long[] oldHashes = known.blockHashes();
        long oldSize = known.size();
        if (oldSize < 0)
        {
            // Content unknown (a crash mid-scan): clear it at the target, then send every non-zero block.
            emit(sink, TreeOp.truncate(path, 0));
            oldSize = 0;
        }
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ);
            NativeFiles.DataSeeker seeker = NativeFiles.dataSeeker(file))
        {
            final long size = channel.size();
            lastReadSize = size;
            final int blockSize = fileBlockSize(size, volumeBlockSize);
            if (oldSize > 0 && (fileBlockSize(oldSize, volumeBlockSize) != blockSize ||
                oldHashes.length != fileBlocks(oldSize, volumeBlockSize)))
            {
                // The old fingerprints are of another granularity (the file crossed a volume block, or
                // an index written before small files had their own): they cannot say which new blocks
                // changed, and a zero block left unsent would keep old data. Send the file afresh.
                emit(sink, TreeOp.truncate(path, 0));
                oldSize = 0;
                oldHashes = new long[0];
            }
            if (size != oldSize)
            {
                emit(sink, TreeOp.truncate(path, size));
            }
            final int blockCount = blocks(size, blockSize);
            final long[] hashes = new long[blockCount];
            final int blocksPerRead = Math.max(1, maxWriteBytes / blockSize);
            long nextData = -1;
            for (int first = 0; first < blockCount; first += blocksPerRead)
            {
                final long position = (long)first * blockSize;
                final int length = (int)Math.min((long)blocksPerRead * blockSize, size - position);
                if (nextData < position)
                {
                    nextData = seeker.nextData(position);
                }
                // A hole reads as zeros: known without reading it (a sparse 4 GiB file is mostly holes).
                final boolean hole = nextData >= position + length;
                readBuffer.clear().limit(length);
                if (hole)
                {
                    readBuffer.position(length);
                }
                while (readBuffer.hasRemaining())
                {
                    if (channel.read(readBuffer, position + readBuffer.position()) < 0)
                    {
                        break; // shrank while read: the rest reads as zeros, the next scan sees the new size
                    }
                }
                readBuffer.flip();
                final int n = (length + blockSize - 1) / blockSize;
                int runStart = -1;
                for (int i = 0; i <= n; i++)
                {
                    boolean changed = false;
                    if (i < n)
                    {
                        final int off = i * blockSize;
                        final int len = Math.min(blockSize, readBuffer.limit() - off);
                        final int block = first + i;
                        hashes[block] = len <= 0 ? 0 : hole ? zeroHash(len) : Checksums.xxHash64(readBuffer, off, len);
                        final boolean hadBlock = block < oldHashes.length && (long)block * blockSize < oldSize;
                        changed = hadBlock ? oldHashes[block] != hashes[block] || (size != oldSize && (long)(block + 1) * blockSize > oldSize)
                            : !hole && !isZero(readBuffer, off, Math.max(len, 0));
                    }
                    if (changed && runStart < 0)
                    {
                        runStart = i;
                    }
                    else if (!changed && runStart >= 0)
                    {
                        final int from = runStart * blockSize;
                        final int to = Math.min(i * blockSize, readBuffer.limit());
                        if (to > from) // not when the file shrank while read: the next scan sees the new size
                        {
                            final byte[] data = new byte[to - from];
                            if (!hole)
                            {
                                readBuffer.get(from, data);
                            }
                            emit(sink, TreeOp.write(path, position + from, data));
                        }
                        runStart = -1;
                    }
                }
            }
            return hashes;
        }
        catch (final NoSuchFileException ex)
        {
            return null;
        }
    }

    /** The fingerprint of {@code length} zero bytes (a block in a hole); the last length asked is kept. */
    private long zeroHash(final int length)
    {
        if (length != zeroHashLength)
        {
            if (zeros == null || zeros.capacity() < length)
            {
                zeros = ByteBuffer.allocateDirect(length);
            }
            zeroHashValue = Checksums.xxHash64(zeros, 0, length);
            zeroHashLength = length;
        }
        return zeroHashValue;
    }

    private static boolean isZero(final ByteBuffer buffer, final int offset, final int length)
    {
        int i = 0;
        for (; i + 8 <= length; i += 8)
        {
            if (buffer.getLong(offset + i) != 0)
            {
                return false;
            }
        }
        for (; i < length; i++)
        {
            if (buffer.get(offset + i) != 0)
            {
                return false;
            }
        }
        return true;
    }

    static int blocks(final long size, final int blockSize)
    {
        return (int)((size + blockSize - 1) / blockSize);
    }

    /**
     * The fingerprinted block of a file of {@code size} bytes: a file that fits in one volume block is
     * fingerprinted in {@link #SMALL_FILE_BLOCK} pieces, so a small edit of a small file (a mail, a
     * config) sends about a kilobyte, not the file. Larger files use the volume's block size.
     */
    public static int fileBlockSize(final long size, final int volumeBlockSize)
    {
        return size <= volumeBlockSize ? Math.min(SMALL_FILE_BLOCK, volumeBlockSize) : volumeBlockSize;
    }

    /** How many fingerprints the index holds for a file of {@code size} bytes. */
    public static int fileBlocks(final long size, final int volumeBlockSize)
    {
        return blocks(size, fileBlockSize(size, volumeBlockSize));
    }

    /** Where an entry is while deletes run: under the temporary name of its nearest moved ancestor. */
    private static String locationDuringDeletes(final String path, final Map<String, String> tempOf)
    {
        for (String ancestor = TreePaths.parent(path); ancestor != null; ancestor = TreePaths.parent(ancestor))
        {
            final String temp = tempOf.get(ancestor);
            if (temp != null)
            {
                return temp + path.substring(ancestor.length());
            }
        }
        return path;
    }

    private static String movedAncestor(final String path, final Map<String, String> movedDirs)
    {
        for (String ancestor = TreePaths.parent(path); ancestor != null; ancestor = TreePaths.parent(ancestor))
        {
            if (movedDirs.containsKey(ancestor))
            {
                return ancestor;
            }
        }
        return null;
    }

    /** {@code path} as it is after its ancestors' moves (null stays null). */
    private static String mapThroughMoves(final String path, final Map<String, String> movedDirs)
    {
        if (path == null)
        {
            return null;
        }
        final String ancestor = movedAncestor(path, movedDirs);
        return ancestor == null ? path : movedDirs.get(ancestor) + path.substring(ancestor.length());
    }

    private static void touch(final Set<String> touchedDirs, final String dir)
    {
        if (dir != null)
        {
            touchedDirs.add(dir);
        }
    }

    private static Map<Long, String> uniqueInodes(final Map<String, ?> entries, final boolean stats)
    {
        final Map<Long, String> byInode = new HashMap<>();
        final Set<Long> shared = new HashSet<>();
        for (final Map.Entry<String, ?> e : entries.entrySet())
        {
            final long inode = stats ? ((FileStat)e.getValue()).inode() : ((TreeEntry)e.getValue()).inode();
            if (byInode.putIfAbsent(inode, e.getKey()) != null)
            {
                shared.add(inode);
            }
        }
        byInode.keySet().removeAll(shared);
        return byInode;
    }

    /**
     * Every replicated entry under {@code root} (not the root itself), without following symlinks:
     * directories are listed and their entries stat'ed by up to {@link #WALKERS} threads, since a
     * tree of a hundred thousand entries is a hundred thousand lstat calls (and, cold, disk reads).
     */
    static TreeMap<String, FileStat> walk(final Path root) throws IOException
    {
        final ConcurrentHashMap<String, FileStat> found = new ConcurrentHashMap<>();
        try
        {
            WALKERS.invoke(new DirectoryWalk(root, root, found));
        }
        catch (final UncheckedIOException ex)
        {
            throw ex.getCause();
        }
        final TreeMap<String, FileStat> entries = new TreeMap<>(TreeIndex::compare);
        entries.putAll(found);
        return entries;
    }

    /** Lists one directory, stats its entries, and walks its subdirectories as tasks of their own. */
    private static final class DirectoryWalk extends RecursiveAction
    {
        private static final long serialVersionUID = 1L;

        private final transient Path root;
        private final transient Path dir;
        private final transient Map<String, FileStat> found;

        DirectoryWalk(final Path root, final Path dir, final Map<String, FileStat> found)
        {
            this.root = root;
            this.dir = dir;
            this.found = found;
        }

        @Override
        protected void compute()
        {
            final List<DirectoryWalk> subdirectories = new ArrayList<>();
            try (DirectoryStream<Path> children = Files.newDirectoryStream(dir))
            {
                for (final Path child : children)
                {
                    if (child.getFileName().toString().startsWith(MOVE_PREFIX))
                    {
                        continue;
                    }
                    final FileStat stat = FileStat.read(child);
                    if (stat == null)
                    {
                        continue; // gone since listed, or a kind a tree does not replicate
                    }
                    found.put(TreePaths.relative(root, child), stat);
                    if (stat.type() == TreeEntry.Type.DIRECTORY)
                    {
                        subdirectories.add(new DirectoryWalk(root, child, found));
                    }
                }
            }
            catch (final NoSuchFileException ex)
            {
                return; // deleted while walked: the next scan agrees
            }
            catch (final IOException ex)
            {
                throw new UncheckedIOException(ex);
            }
            invokeAll(subdirectories);
        }
    }

    /**
     * As {@link #walk}, on the calling thread with the JDK's file tree walker: an independent
     * implementation, for {@link TreeDigest} (what tests compare trees with).
     */
    static TreeMap<String, FileStat> walkSequentially(final Path root) throws IOException
    {
        final TreeMap<String, FileStat> entries = new TreeMap<>(TreeIndex::compare);
        Files.walkFileTree(root, new SimpleFileVisitor<>()
        {
            @Override
            public FileVisitResult preVisitDirectory(final Path dir, final BasicFileAttributes attrs) throws IOException
            {
                if (!dir.equals(root))
                {
                    if (!add(dir))
                    {
                        return FileVisitResult.SKIP_SUBTREE;
                    }
                }
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(final Path file, final BasicFileAttributes attrs) throws IOException
            {
                add(file);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFileFailed(final Path file, final IOException ex) throws IOException
            {
                if (ex instanceof NoSuchFileException)
                {
                    return FileVisitResult.CONTINUE; // deleted while walked: the next scan agrees
                }
                throw ex;
            }

            private boolean add(final Path path) throws IOException
            {
                final String name = path.getFileName().toString();
                if (name.startsWith(MOVE_PREFIX))
                {
                    return false;
                }
                final FileStat stat = FileStat.read(path);
                if (stat != null)
                {
                    entries.put(TreePaths.relative(root, path), stat);
                }
                return stat != null;
            }
        });
        return entries;
    }

    /** A file just created: empty, with an mtime no real file has, so its content is read and sent. */
    private static TreeEntry emptyFile(final FileStat stat)
    {
        return new TreeEntry(TreeEntry.Type.FILE, stat.inode(), 0, Long.MIN_VALUE, 0, 0, 0, null, new long[0]);
    }
}
