package dev.replicator.core.tree;

/**
 * What the index knows of one path of a tree: its kind, identity (inode), attributes and, for a
 * regular file, one xxHash64 fingerprint per block. Immutable.
 */
public record TreeEntry(Type type, long inode, long size, long mtimeNs, int mode, int uid, int gid, String linkTarget,
    long[] blockHashes)
{
    private static final long[] NONE = new long[0];

    /** Entry kinds; the code is the byte stored in the index file. */
    public enum Type
    {
        DIRECTORY('d'), FILE('f'), SYMLINK('l');

        private final char code;

        Type(final char code)
        {
            this.code = code;
        }

        public char code()
        {
            return code;
        }

        public static Type of(final int code)
        {
            for (final Type type : values())
            {
                if (type.code == code)
                {
                    return type;
                }
            }
            throw new IllegalArgumentException("unknown tree entry type " + code);
        }
    }

    public static TreeEntry of(final FileStat stat, final long[] blockHashes)
    {
        return new TreeEntry(stat.type(), stat.inode(), stat.size(), stat.mtimeNs(), stat.mode(), stat.uid(), stat.gid(),
            stat.linkTarget(), blockHashes == null ? NONE : blockHashes);
    }

    /** Whether size and mtime say the content is unchanged (the rsync quick check). */
    public boolean sameContentAs(final FileStat stat)
    {
        return size == stat.size() && mtimeNs == stat.mtimeNs();
    }

    public boolean sameAttributesAs(final FileStat stat)
    {
        return mode == stat.mode() && uid == stat.uid() && gid == stat.gid() && mtimeNs == stat.mtimeNs();
    }
}
