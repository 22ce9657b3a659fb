package dev.replicator.core.tree;

import dev.replicator.core.io.AtomicFiles;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.ToLongFunction;
import java.util.zip.CRC32C;

/**
 * The agent's per-file index of a tree volume: what the target has, or will have once the journal
 * ships. A scan diffs the tree against it; it is saved (atomically) only after the journal holding
 * the scan's ops is durable, so a crash re-sends, never forgets. Paths sort so that a directory
 * comes before everything under it. Single writer; not thread-safe.
 *
 * <pre>
 * file:   magic "RTIX" | version u32 = 1 | block size u32 | covered seq u64 | entry count u32 | entries |
 *         CRC32C u32 of all before
 * entry:  path length u16 | path UTF-8 | type u8 ('d','f','l') | inode u64 | size u64 | mtime ns u64 |
 *         mode u32 | uid u32 | gid u32 | link length i32 (-1 none) | link UTF-8 | hash count u32 | hashes u64...
 * </pre>
 * (big-endian: written by DataOutputStream.)
 */
public final class TreeIndex
{
    private static final int MAGIC = 0x52544958;
    private static final int VERSION = 1;

    private final int blockSize;
    private final TreeMap<String, TreeEntry> entries = new TreeMap<>(TreeIndex::compare);
    private long coveredSeq;

    public TreeIndex(final int blockSize)
    {
        this.blockSize = blockSize;
    }

    public int blockSize()
    {
        return blockSize;
    }

    /** The journal seq up to which this index's ops are journaled (what a crash may have gone past). */
    public long coveredSeq()
    {
        return coveredSeq;
    }

    public void coveredSeq(final long seq)
    {
        this.coveredSeq = seq;
    }

    /**
     * Brings the index up to an op journaled after {@link #coveredSeq()} (a scan the agent crashed
     * in before saving the index): namespace ops move entries; a file written or created gets an
     * unknown content (the next scan clears it at the target and sends it whole), an entry made
     * gets the inode the path has now ({@code inodeOf}, -1 if none) and unknown attributes.
     */
    public void replay(final TreeOp op, final ToLongFunction<String> inodeOf)
    {
        switch (op.kind())
        {
            case MKDIR -> entries.put(op.path(),
                new TreeEntry(TreeEntry.Type.DIRECTORY, inodeOf.applyAsLong(op.path()), 0, Long.MIN_VALUE, -1, -1, -1, null, new long[0]));
            case CREATE -> entries.put(op.path(), unknownFile(inodeOf.applyAsLong(op.path())));
            case SYMLINK -> entries.put(op.path(),
                new TreeEntry(TreeEntry.Type.SYMLINK, inodeOf.applyAsLong(op.path()), 0, Long.MIN_VALUE, -1, -1, -1, op.other(), new long[0]));
            case DELETE -> removeTree(op.path());
            case RENAME ->
            {
                final Map<String, TreeEntry> moved = new TreeMap<>(TreeIndex::compare);
                final String prefix = op.path() + "/";
                entries.entrySet().removeIf(e ->
                {
                    if (e.getKey().equals(op.path()) || e.getKey().startsWith(prefix))
                    {
                        moved.put(op.other() + e.getKey().substring(op.path().length()), e.getValue());
                        return true;
                    }
                    return false;
                });
                entries.putAll(moved);
            }
            case TRUNCATE, WRITE ->
            {
                final TreeEntry e = entries.get(op.path());
                if (e != null)
                {
                    entries.put(op.path(), unknownFile(e.inode()));
                }
            }
            case SETATTR ->
            {
                final TreeEntry e = entries.get(op.path());
                if (e != null)
                {
                    entries.put(op.path(), new TreeEntry(e.type(), e.inode(), e.size(), e.type() == TreeEntry.Type.FILE &&
                        e.size() < 0 ? Long.MIN_VALUE : op.mtimeNs(), op.mode(), op.uid(), op.gid(), e.linkTarget(), e.blockHashes()));
                }
            }
        }
    }

    /** A file whose content at the target is unknown: size -1 makes the scanner clear and resend it. */
    private static TreeEntry unknownFile(final long inode)
    {
        return new TreeEntry(TreeEntry.Type.FILE, inode, -1, Long.MIN_VALUE, -1, -1, -1, null, new long[0]);
    }

    private void removeTree(final String path)
    {
        final String prefix = path + "/";
        entries.keySet().removeIf(p -> p.equals(path) || p.startsWith(prefix));
    }

    public Map<String, TreeEntry> entries()
    {
        return entries;
    }

    public TreeEntry get(final String path)
    {
        return entries.get(path);
    }

    /** Orders paths segment by segment, so "a" < "a/b" < "a-c" (a parent before its children). */
    public static int compare(final String a, final String b)
    {
        final int n = Math.min(a.length(), b.length());
        for (int i = 0; i < n; i++)
        {
            final char ca = a.charAt(i);
            final char cb = b.charAt(i);
            if (ca != cb)
            {
                return ca == '/' ? -1 : cb == '/' ? 1 : Character.compare(ca, cb);
            }
        }
        return Integer.compare(a.length(), b.length());
    }

    public void save(final Path file) throws IOException
    {
        AtomicFiles.write(file, ByteBuffer.wrap(toBytes()));
    }

    /** An independent copy (entries are immutable, so they are shared). */
    public TreeIndex copy()
    {
        final TreeIndex copy = new TreeIndex(blockSize);
        copy.coveredSeq = coveredSeq;
        copy.entries.putAll(entries);
        return copy;
    }

    /** The index in its file format (what {@link #save} writes and {@link #fromBytes} reads). */
    public byte[] toBytes() throws IOException
    {
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream(64 + entries.size() * 64);
        final DataOutputStream out = new DataOutputStream(bytes);
        out.writeInt(MAGIC);
        out.writeInt(VERSION);
        out.writeInt(blockSize);
        out.writeLong(coveredSeq);
        out.writeInt(entries.size());
        for (final Map.Entry<String, TreeEntry> e : entries.entrySet())
        {
            final byte[] path = e.getKey().getBytes(StandardCharsets.UTF_8);
            final TreeEntry t = e.getValue();
            out.writeShort(path.length);
            out.write(path);
            out.writeByte(t.type().code());
            out.writeLong(t.inode());
            out.writeLong(t.size());
            out.writeLong(t.mtimeNs());
            out.writeInt(t.mode());
            out.writeInt(t.uid());
            out.writeInt(t.gid());
            if (t.linkTarget() == null)
            {
                out.writeInt(-1);
            }
            else
            {
                final byte[] link = t.linkTarget().getBytes(StandardCharsets.UTF_8);
                out.writeInt(link.length);
                out.write(link);
            }
            out.writeInt(t.blockHashes().length);
            for (final long hash : t.blockHashes())
            {
                out.writeLong(hash);
            }
        }
        final CRC32C crc = new CRC32C();
        crc.update(bytes.toByteArray());
        out.writeInt((int)crc.getValue());
        out.flush();
        return bytes.toByteArray();
    }

    /**
     * @return the index saved in {@code file}, or an empty one if there is none yet.
     * @throws IOException if the file is damaged (then the caller may start from an empty index: a
     *                     full resend is always correct).
     */
    public static TreeIndex load(final Path file, final int blockSize) throws IOException
    {
        if (!Files.exists(file))
        {
            return new TreeIndex(blockSize);
        }
        return fromBytes(Files.readAllBytes(file), blockSize, file.toString());
    }

    /** The block size an index in its file format was made with (the third field). */
    public static int blockSizeOf(final byte[] bytes) throws IOException
    {
        if (bytes.length < 28)
        {
            throw new IOException("tree index is cut short (" + bytes.length + " bytes)");
        }
        return ByteBuffer.wrap(bytes).getInt(8);
    }

    /**
     * Reads an index in its file format.
     *
     * @param what names the source in error messages.
     * @throws IOException if the bytes are damaged or made with another block size.
     */
    public static TreeIndex fromBytes(final byte[] all, final int blockSize, final String what) throws IOException
    {
        final TreeIndex index = new TreeIndex(blockSize);
        final String file = what;
        if (all.length < 28)
        {
            throw new IOException("tree index " + file + " is cut short (" + all.length + " bytes)");
        }
        final CRC32C crc = new CRC32C();
        crc.update(all, 0, all.length - 4);
        final ByteBuffer in = ByteBuffer.wrap(all);
        if (in.getInt(all.length - 4) != (int)crc.getValue() || in.getInt() != MAGIC || in.getInt() != VERSION)
        {
            throw new IOException("tree index " + file + " is damaged (bad magic, version or CRC)");
        }
        if (in.getInt() != blockSize)
        {
            throw new IOException("tree index " + file + " was made with another block size");
        }
        index.coveredSeq = in.getLong();
        final int count = in.getInt();
        for (int i = 0; i < count; i++)
        {
            final byte[] path = new byte[Short.toUnsignedInt(in.getShort())];
            in.get(path);
            final TreeEntry.Type type = TreeEntry.Type.of(in.get());
            final long inode = in.getLong();
            final long size = in.getLong();
            final long mtimeNs = in.getLong();
            final int mode = in.getInt();
            final int uid = in.getInt();
            final int gid = in.getInt();
            final int linkLength = in.getInt();
            String link = null;
            if (linkLength >= 0)
            {
                final byte[] l = new byte[linkLength];
                in.get(l);
                link = new String(l, StandardCharsets.UTF_8);
            }
            final long[] hashes = new long[in.getInt()];
            for (int h = 0; h < hashes.length; h++)
            {
                hashes[h] = in.getLong();
            }
            index.entries.put(new String(path, StandardCharsets.UTF_8),
                new TreeEntry(type, inode, size, mtimeNs, mode, uid, gid, link, hashes));
        }
        return index;
    }
}
