package dev.replicator.target.tree;

import dev.replicator.core.io.AtomicFiles;
import dev.replicator.core.tree.FileStat;
import dev.replicator.core.tree.TreeApplier;
import dev.replicator.core.tree.TreeEntry;
import dev.replicator.core.tree.TreeOp;
import dev.replicator.core.tree.TreePaths;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * Point-in-time images of one tree volume, built like the block image store: {@code replica/} is
 * always the newest tree, and before an op changes it the ops that take it back go to the undo
 * segment of the current checkpoint interval. The image at checkpoint C is the replica with every
 * segment from C on rolled back, newest record first.
 *
 * <pre>
 * trees/VOL/
 *   replica/          the newest tree
 *   undo/BASE.undo    TreeUndoSegment: undo records of the interval after checkpoint BASE
 *   tree.state        "durableSeq currentBase" (atomic replace)
 * </pre>
 *
 * For each op, the undo records are: the attributes (SETATTR) of every directory or file the op
 * disturbs, saved the first time the interval touches it, then the inverse ops, stored reversed so
 * that reading the segment backwards applies each op's inverse and then restores the attributes it
 * disturbed. The undo records are fsynced before any op that destroys content (write-ahead); a crash
 * is rolled back at open with the records of seqs beyond the durable seq. Before the first
 * checkpoint there is no image to keep: no undo is written and a resend is replayed leniently.
 * Single writer (the group's receiving session, under the group lock).
 */
public final class TreeImageStore implements AutoCloseable
{
    private static final int UNDO_CHUNK_BYTES = 512 * 1024;

    private final Path dir;
    private final Path replica;
    private final Path undoDir;
    private final TreeApplier applier;
    private final Set<String> savedThisInterval = new HashSet<>();
    private TreeUndoSegment segment;
    private long durableSeq;
    private long currentBase;
    private long lastAppliedSeq;

    private TreeImageStore(final Path dir) throws IOException
    {
        this.dir = dir;
        this.replica = dir.resolve("replica");
        this.undoDir = dir.resolve("undo");
        Files.createDirectories(replica);
        Files.createDirectories(undoDir);
        this.applier = new TreeApplier(replica);
    }

    public static TreeImageStore open(final Path dir) throws IOException
    {
        final TreeImageStore store = new TreeImageStore(dir);
        store.recover();
        return store;
    }

    public Path replica()
    {
        return replica;
    }

    public long durableSeq()
    {
        return durableSeq;
    }

    /** Checkpoint seqs this store can produce images of, oldest first. */
    public List<Long> checkpoints() throws IOException
    {
        final TreeSet<Long> bases = new TreeSet<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(undoDir, "*.undo"))
        {
            for (final Path file : files)
            {
                final String name = file.getFileName().toString();
                bases.add(Long.parseLong(name.substring(0, name.length() - ".undo".length())));
            }
        }
        return new ArrayList<>(bases);
    }

    /** Applies one op of seq {@code seq}; resent ops at or below the durable seq are skipped. */
    public void apply(final long seq, final TreeOp op) throws IOException
    {
        if (seq <= durableSeq)
        {
            return;
        }
        if (segment != null)
        {
            writeUndo(seq, op);
            if (destroysContent(op) && segment.hasUnsynced())
            {
                segment.sync();
            }
        }
        applier.lenient(segment == null);
        applier.apply(op);
        lastAppliedSeq = seq;
    }

    /** Makes everything applied durable and records {@code seq} as the durable seq. */
    public void commit(final long seq) throws IOException
    {
        if (seq <= durableSeq)
        {
            return;
        }
        if (segment != null)
        {
            segment.sync();
        }
        applier.sync();
        durableSeq = seq;
        writeState();
    }

    /** A checkpoint at {@code seq}: everything before it durable, then a new undo interval. */
    public void checkpoint(final long seq) throws IOException
    {
        if (seq <= durableSeq)
        {
            return;
        }
        commit(seq);
        if (segment != null)
        {
            segment.close();
        }
        currentBase = seq;
        segment = TreeUndoSegment.openForAppend(undoDir.resolve(seq + ".undo"));
        AtomicFiles.fsyncDirectory(undoDir);
        savedThisInterval.clear();
        writeState();
    }

    /** Drops the undo of checkpoints before {@code firstRetainedSeq}: their images are gone. */
    public void retain(final long firstRetainedSeq) throws IOException
    {
        for (final long base : checkpoints())
        {
            if (base < firstRetainedSeq && base != currentBase)
            {
                Files.deleteIfExists(undoDir.resolve(base + ".undo"));
            }
        }
        AtomicFiles.fsyncDirectory(undoDir);
    }

    /**
     * Materialises the tree as of checkpoint {@code checkpointSeq} into {@code to}, which must not
     * exist or be empty: the replica is copied (sparse), then every undo segment from that checkpoint
     * on is rolled back, newest record first.
     */
    public void export(final long checkpointSeq, final Path to) throws IOException
    {
        final List<Long> bases = checkpoints();
        if (!bases.contains(checkpointSeq))
        {
            throw new IllegalArgumentException("tree volume " + dir.getFileName() + " has no image at checkpoint " + checkpointSeq);
        }
        if (segment != null)
        {
            segment.sync();
        }
        TreeCopy.copy(replica, to);
        try (TreeApplier out = new TreeApplier(to))
        {
            for (int i = bases.size() - 1; i >= 0 && bases.get(i) >= checkpointSeq; i--)
            {
                try (TreeUndoSegment undo = TreeUndoSegment.openForRead(undoDir.resolve(bases.get(i) + ".undo")))
                {
                    rollBack(undo, out, Long.MIN_VALUE);
                }
            }
            out.sync();
        }
    }

    @Override
    public void close() throws IOException
    {
        applier.close();
        if (segment != null)
        {
            segment.close();
        }
    }

    private void recover() throws IOException
    {
        final Path state = dir.resolve("tree.state");
        if (Files.exists(state))
        {
            final String[] fields = Files.readString(state, StandardCharsets.US_ASCII).trim().split(" ");
            durableSeq = Long.parseLong(fields[0]);
            currentBase = Long.parseLong(fields[1]);
        }
        lastAppliedSeq = durableSeq;
        if (currentBase > 0)
        {
            segment = TreeUndoSegment.openForAppend(undoDir.resolve(currentBase + ".undo"));
            // Records beyond the durable seq undo ops a crash may have applied in part: roll them back.
            final long keep = rollBack(segment, applier, durableSeq);
            applier.sync();
            segment.truncate(keep);
        }
    }

    /**
     * Applies the inverse records of {@code undo} with seq above {@code afterSeq}, newest first.
     * @return the segment length before the first record rolled back.
     */
    private static long rollBack(final TreeUndoSegment undo, final TreeApplier to, final long afterSeq) throws IOException
    {
        final List<TreeUndoSegment.Position> positions = undo.positions();
        long keep = undo.length();
        to.lenient(afterSeq != Long.MIN_VALUE);
        for (int i = positions.size() - 1; i >= 0 && positions.get(i).seq() > afterSeq; i--)
        {
            to.apply(undo.read(positions.get(i)));
            keep = positions.get(i).offset();
        }
        return keep;
    }

    private void writeUndo(final long seq, final TreeOp op) throws IOException
    {
        switch (op.kind())
        {
            case MKDIR, CREATE, SYMLINK ->
            {
                save(seq, TreePaths.parent(op.path()));
                final FileStat existing = FileStat.read(replica.resolve(op.path()));
                if (op.kind() == TreeOp.Kind.MKDIR && existing != null && existing.type() == TreeEntry.Type.DIRECTORY)
                {
                    save(seq, op.path()); // already there (a lenient replay): nothing to undo but its attributes
                    return;
                }
                // A creation over an existing entry (a lenient replay) replaces it: keep it whole.
                final List<TreeOp> inverse = new ArrayList<>();
                inverse.add(TreeOp.delete(op.path()));
                inverse.addAll(recreate(op.path()));
                for (int i = inverse.size() - 1; i >= 0; i--)
                {
                    segment.append(seq, inverse.get(i));
                }
            }
            case DELETE ->
            {
                save(seq, TreePaths.parent(op.path()));
                final List<TreeOp> inverse = recreate(op.path());
                for (int i = inverse.size() - 1; i >= 0; i--)
                {
                    segment.append(seq, inverse.get(i));
                }
            }
            case RENAME ->
            {
                save(seq, TreePaths.parent(op.path()));
                save(seq, TreePaths.parent(op.other()));
                save(seq, op.path());
                segment.append(seq, TreeOp.rename(op.other(), op.path()));
            }
            case TRUNCATE ->
            {
                save(seq, op.path());
                final long oldSize = Files.size(replica.resolve(op.path()));
                if (op.offset() < oldSize)
                {
                    final List<TreeOp> inverse = new ArrayList<>();
                    inverse.add(TreeOp.truncate(op.path(), oldSize));
                    readContent(op.path(), op.offset(), oldSize, inverse);
                    for (int i = inverse.size() - 1; i >= 0; i--)
                    {
                        segment.append(seq, inverse.get(i));
                    }
                }
                else if (op.offset() > oldSize)
                {
                    segment.append(seq, TreeOp.truncate(op.path(), oldSize));
                }
            }
            case WRITE ->
            {
                save(seq, op.path());
                final long oldSize = Files.size(replica.resolve(op.path()));
                final long end = op.offset() + op.data().length;
                if (end > oldSize)
                {
                    segment.append(seq, TreeOp.truncate(op.path(), oldSize));
                }
                if (op.offset() < oldSize)
                {
                    final byte[] old = new byte[(int)(Math.min(end, oldSize) - op.offset())];
                    try (FileChannel channel = FileChannel.open(replica.resolve(op.path()), StandardOpenOption.READ))
                    {
                        readFully(channel, ByteBuffer.wrap(old), op.offset());
                    }
                    segment.append(seq, TreeOp.write(op.path(), op.offset(), old));
                }
            }
            case SETATTR -> save(seq, op.path());
        }
    }

    /** Records the current attributes of {@code path} once per interval (null: the root, not kept). */
    private void save(final long seq, final String path) throws IOException
    {
        if (path == null || savedThisInterval.contains(path))
        {
            return;
        }
        final FileStat stat = FileStat.read(replica.resolve(path));
        if (stat != null && stat.type() != TreeEntry.Type.SYMLINK)
        {
            segment.append(seq, TreeOp.setattr(path, stat.mode(), stat.uid(), stat.gid(), stat.mtimeNs()));
            savedThisInterval.add(path);
        }
    }

    /** The ops that make {@code path} again as it is in the replica now (an empty directory for one). */
    private List<TreeOp> recreate(final String path) throws IOException
    {
        final List<TreeOp> ops = new ArrayList<>();
        final FileStat stat = FileStat.read(replica.resolve(path));
        if (stat == null)
        {
            return ops;
        }
        switch (stat.type())
        {
            case SYMLINK -> ops.add(TreeOp.symlink(path, stat.linkTarget()));
            case DIRECTORY -> ops.add(TreeOp.mkdir(path));
            case FILE ->
            {
                ops.add(TreeOp.create(path));
                ops.add(TreeOp.truncate(path, stat.size()));
                readContent(path, 0, stat.size(), ops);
            }
        }
        if (stat.type() != TreeEntry.Type.SYMLINK)
        {
            ops.add(TreeOp.setattr(path, stat.mode(), stat.uid(), stat.gid(), stat.mtimeNs()));
        }
        return ops;
    }

    /** Adds WRITE ops for the non-zero chunks of [from, to) of the replica file (zeros stay holes). */
    private void readContent(final String path, final long from, final long to, final List<TreeOp> ops) throws IOException
    {
        try (FileChannel channel = FileChannel.open(replica.resolve(path), StandardOpenOption.READ))
        {
            for (long offset = from; offset < to; offset += UNDO_CHUNK_BYTES)
            {
                final byte[] chunk = new byte[(int)Math.min(UNDO_CHUNK_BYTES, to - offset)];
                readFully(channel, ByteBuffer.wrap(chunk), offset);
                if (!isZero(chunk))
                {
                    ops.add(TreeOp.write(path, offset, chunk));
                }
            }
        }
    }

    private static boolean isZero(final byte[] bytes)
    {
        for (final byte b : bytes)
        {
            if (b != 0)
            {
                return false;
            }
        }
        return true;
    }

    private static void readFully(final FileChannel channel, final ByteBuffer buffer, final long offset) throws IOException
    {
        while (buffer.hasRemaining())
        {
            if (channel.read(buffer, offset + buffer.position()) < 0)
            {
                break; // beyond the end reads as zeros
            }
        }
    }

    private static boolean destroysContent(final TreeOp op)
    {
        return switch (op.kind())
        {
            case MKDIR, CREATE, SYMLINK -> false;
            default -> true;
        };
    }

    private void writeState() throws IOException
    {
        AtomicFiles.writeString(dir.resolve("tree.state"), durableSeq + " " + currentBase + "\n");
    }

    /** For tests: the seq of the last op applied (durable or not). */
    long lastAppliedSeq()
    {
        return lastAppliedSeq;
    }


}
