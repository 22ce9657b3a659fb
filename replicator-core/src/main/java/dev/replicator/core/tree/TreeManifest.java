package dev.replicator.core.tree;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Per-file fingerprint manifests of a tree (a {@link TreeIndex}: path, type, size, mode, owner,
 * mtime, xxHash64 per block) taken, refreshed and compared outside capture: what tree failover
 * records of the recovery tree and the replica, and what tree failback diffs and verifies with.
 * Stateless.
 */
public final class TreeManifest
{
    private static final TreeOpSink DISCARD = op -> { };

    private TreeManifest()
    {
    }

    /** Reads every file under {@code root}: a manifest that trusts nothing. */
    public static TreeIndex take(final Path root, final int blockSize) throws IOException
    {
        final TreeIndex index = new TreeIndex(blockSize);
        new TreeScanner(TreeScanner.DEFAULT_MAX_WRITE_BYTES).scan(root, index, DISCARD);
        return index;
    }

    /**
     * {@code known} brought up to the tree as it is now, without changing {@code known}: a file
     * whose size and mtime are unchanged keeps its fingerprints (the rsync quick check), except the
     * paths in {@code reread}, which are read again whatever their attributes say (files this side
     * wrote and then gave back their old mtime).
     */
    public static TreeIndex refresh(final Path root, final TreeIndex known, final Collection<String> reread)
        throws IOException
    {
        final TreeIndex index = known.copy();
        // By path and by inode: the index may hold a file written here under the path it had before a move.
        final Set<Long> inodes = new HashSet<>();
        for (final String path : reread)
        {
            final FileStat stat = FileStat.read(root.resolve(path));
            if (stat != null && stat.type() == TreeEntry.Type.FILE)
            {
                inodes.add(stat.inode());
            }
        }
        for (final Map.Entry<String, TreeEntry> entry : index.entries().entrySet())
        {
            final TreeEntry e = entry.getValue();
            if (e.type() == TreeEntry.Type.FILE && (inodes.contains(e.inode()) || reread.contains(entry.getKey())))
            {
                // Size unknown: the scanner reads the file whole (its TRUNCATE to 0 goes nowhere).
                entry.setValue(new TreeEntry(e.type(), e.inode(), -1, Long.MIN_VALUE, e.mode(), e.uid(), e.gid(), null,
                    new long[0]));
            }
        }
        new TreeScanner(TreeScanner.DEFAULT_MAX_WRITE_BYTES).scan(root, index, DISCARD);
        return index;
    }

    /**
     * {@code other} (a manifest of another copy of the tree, whose inodes mean nothing here) with
     * the identities of {@code local}: an entry whose path {@code local} holds with the same type
     * takes that entry's inode, so a scan of the local tree against the result sees a path moved
     * locally as a move, not as a delete and a create. A file at a path {@code local} lacks whose
     * content (size and fingerprints) equals a file {@code local} holds at a path the other copy lacks
     * takes that file's inode too: the other copy moved it, and the scan moves it back without data.
     * Every other entry gets an inode no file has.
     */
    public static TreeIndex withLocalIdentities(final TreeIndex other, final TreeIndex local)
    {
        final TreeIndex mapped = new TreeIndex(other.blockSize());
        mapped.coveredSeq(other.coveredSeq());
        // A file the other copy moved: its old path is gone there, its content is at a path local lacks.
        final Map<Content, TreeEntry> vacated = new HashMap<>();
        if (other.blockSize() == local.blockSize())
        {
            for (final Map.Entry<String, TreeEntry> e : local.entries().entrySet())
            {
                final TreeEntry t = e.getValue();
                if (t.type() == TreeEntry.Type.FILE && t.size() > 0 && !other.entries().containsKey(e.getKey()))
                {
                    vacated.putIfAbsent(new Content(t.size(), t.blockHashes()), t);
                }
            }
        }
        long unmatched = Long.MIN_VALUE;
        for (final Map.Entry<String, TreeEntry> e : other.entries().entrySet())
        {
            final TreeEntry t = e.getValue();
            TreeEntry here = local.entries().get(e.getKey());
            if (here == null && t.type() == TreeEntry.Type.FILE && t.size() > 0)
            {
                here = vacated.remove(new Content(t.size(), t.blockHashes()));
            }
            final long inode = here != null && here.type() == t.type() ? here.inode() : unmatched++;
            mapped.entries().put(e.getKey(), new TreeEntry(t.type(), inode, t.size(), t.mtimeNs(), t.mode(), t.uid(),
                t.gid(), t.linkTarget(), t.blockHashes()));
        }
        return mapped;
    }

    /**
     * Makes a scan against {@code source} read every file whose content {@code local} (a fresh
     * manifest of the local tree, same inodes) says differs: such an entry keeps its size and
     * fingerprints (so only differing blocks are sent) but gets an mtime no file has. Without it, a
     * file changed on both sides within one mtime tick, to the same size, would pass the quick check.
     */
    public static void readWhereContentDiffers(final TreeIndex source, final TreeIndex local)
    {
        final Map<Long, TreeEntry> byInode = new HashMap<>();
        for (final TreeEntry e : local.entries().values())
        {
            byInode.put(e.inode(), e);
        }
        for (final Map.Entry<String, TreeEntry> entry : source.entries().entrySet())
        {
            final TreeEntry e = entry.getValue();
            if (e.type() != TreeEntry.Type.FILE)
            {
                continue;
            }
            final TreeEntry here = byInode.get(e.inode());
            if (here == null || here.size() != e.size() || !Arrays.equals(here.blockHashes(), e.blockHashes()))
            {
                entry.setValue(new TreeEntry(e.type(), e.inode(), e.size(), Long.MIN_VALUE, e.mode(), e.uid(), e.gid(),
                    e.linkTarget(), e.blockHashes()));
            }
        }
    }

    /** A file's content as a manifest knows it: equal keys, equal bytes (barring an xxHash64 collision). */
    private record Content(long size, long[] hashes)
    {
        @Override
        public boolean equals(final Object o)
        {
            return o instanceof Content c && c.size == size && Arrays.equals(c.hashes, hashes);
        }

        @Override
        public int hashCode()
        {
            return Long.hashCode(size) * 31 + Arrays.hashCode(hashes);
        }

        @Override
        public String toString()
        {
            return "Content[" + size + " bytes]";
        }
    }

    /** What differs between two manifests of copies of one tree. */
    public record Differences(long count, List<String> first)
    {
        public boolean isEmpty()
        {
            return count == 0;
        }
    }

    /**
     * Compares two manifests path by path: type, and for a file its size, fingerprints, mode, owner
     * and mtime; for a directory its mode, owner and mtime; for a symlink its target (a symlink's own
     * mode and mtime are not replicated). Inodes are not compared.
     *
     * @param max how many differences to describe in {@link Differences#first()}.
     */
    public static Differences compare(final TreeIndex a, final TreeIndex b, final int max)
    {
        final List<String> first = new ArrayList<>();
        long count = 0;
        for (final Map.Entry<String, TreeEntry> e : a.entries().entrySet())
        {
            final String why = difference(e.getValue(), b.entries().get(e.getKey()));
            if (why != null)
            {
                count++;
                if (first.size() < max)
                {
                    first.add(e.getKey() + ": " + why);
                }
            }
        }
        for (final String path : b.entries().keySet())
        {
            if (!a.entries().containsKey(path))
            {
                count++;
                if (first.size() < max)
                {
                    first.add(path + ": only on the second side");
                }
            }
        }
        return new Differences(count, first);
    }

    private static String difference(final TreeEntry a, final TreeEntry b)
    {
        if (b == null)
        {
            return "only on the first side";
        }
        if (a.type() != b.type())
        {
            return "type " + a.type() + " vs " + b.type();
        }
        if (a.type() == TreeEntry.Type.SYMLINK)
        {
            return Objects.equals(a.linkTarget(), b.linkTarget()) ? null : "link target";
        }
        if (a.type() == TreeEntry.Type.FILE)
        {
            if (a.size() != b.size())
            {
                return "size " + a.size() + " vs " + b.size();
            }
            if (!Arrays.equals(a.blockHashes(), b.blockHashes()))
            {
                return "content (block fingerprints)";
            }
        }
        if (a.mode() != b.mode() || a.uid() != b.uid() || a.gid() != b.gid())
        {
            return "mode or owner";
        }
        return a.mtimeNs() == b.mtimeNs() ? null : "mtime";
    }
}
