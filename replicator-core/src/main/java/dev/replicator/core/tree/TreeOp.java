package dev.replicator.core.tree;

import java.util.Arrays;
import java.util.Objects;

/**
 * One change to a directory tree, in the order it must be applied. Paths are relative to the
 * tree's root, '/'-separated, never empty, never containing "." or ".." segments.
 *
 * <p>Attributes travel only in {@link Kind#SETATTR}: a created file, directory or symlink gets its
 * mode, owner and mtime from the SETATTR that follows it. Data travels in {@link Kind#WRITE}
 * ranges; holes are made by {@link Kind#TRUNCATE} extending a file, so sparse files stay sparse.
 *
 * @param kind    what the op does.
 * @param path    the entry it changes (RENAME: the source).
 * @param other   RENAME: the destination; SYMLINK: the link's target; otherwise null.
 * @param offset  WRITE: byte offset; TRUNCATE: the new size; otherwise 0.
 * @param mode    SETATTR: permission bits (07777).
 * @param uid     SETATTR: owner.
 * @param gid     SETATTR: group.
 * @param mtimeNs SETATTR: modification time, nanoseconds since the epoch.
 * @param data    WRITE: the bytes; otherwise an empty array.
 */
public record TreeOp(Kind kind, String path, String other, long offset, int mode, int uid, int gid, long mtimeNs, byte[] data)
{
    private static final byte[] NO_DATA = new byte[0];

    /** The kinds of op; the code is the byte on disk and on the wire. */
    public enum Kind
    {
        MKDIR(1), CREATE(2), SYMLINK(3), DELETE(4), RENAME(5), TRUNCATE(6), WRITE(7), SETATTR(8);

        private final byte code;

        Kind(final int code)
        {
            this.code = (byte)code;
        }

        public byte code()
        {
            return code;
        }

        /** @return the kind with that code, or null. */
        public static Kind of(final byte code)
        {
            for (final Kind kind : values())
            {
                if (kind.code == code)
                {
                    return kind;
                }
            }
            return null;
        }
    }

    public TreeOp
    {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(data, "data");
    }

    public static TreeOp mkdir(final String path)
    {
        return new TreeOp(Kind.MKDIR, path, null, 0, 0, 0, 0, 0, NO_DATA);
    }

    public static TreeOp create(final String path)
    {
        return new TreeOp(Kind.CREATE, path, null, 0, 0, 0, 0, 0, NO_DATA);
    }

    public static TreeOp symlink(final String path, final String target)
    {
        return new TreeOp(Kind.SYMLINK, path, target, 0, 0, 0, 0, 0, NO_DATA);
    }

    public static TreeOp delete(final String path)
    {
        return new TreeOp(Kind.DELETE, path, null, 0, 0, 0, 0, 0, NO_DATA);
    }

    public static TreeOp rename(final String from, final String to)
    {
        return new TreeOp(Kind.RENAME, from, to, 0, 0, 0, 0, 0, NO_DATA);
    }

    public static TreeOp truncate(final String path, final long size)
    {
        return new TreeOp(Kind.TRUNCATE, path, null, size, 0, 0, 0, 0, NO_DATA);
    }

    public static TreeOp write(final String path, final long offset, final byte[] data)
    {
        return new TreeOp(Kind.WRITE, path, null, offset, 0, 0, 0, 0, data);
    }

    public static TreeOp setattr(final String path, final int mode, final int uid, final int gid, final long mtimeNs)
    {
        return new TreeOp(Kind.SETATTR, path, null, 0, mode, uid, gid, mtimeNs, NO_DATA);
    }

    @Override
    public boolean equals(final Object o)
    {
        return o instanceof TreeOp op && kind == op.kind && path.equals(op.path) && Objects.equals(other, op.other) &&
            offset == op.offset && mode == op.mode && uid == op.uid && gid == op.gid && mtimeNs == op.mtimeNs &&
            Arrays.equals(data, op.data);
    }

    @Override
    public int hashCode()
    {
        return Objects.hash(kind, path, other, offset, mode, uid, gid, mtimeNs) * 31 + Arrays.hashCode(data);
    }

    @Override
    public String toString()
    {
        return kind + " " + path + (other != null ? " -> " + other : "") +
            (kind == Kind.WRITE ? " @" + offset + "+" + data.length : kind == Kind.TRUNCATE ? " size " + offset : "") +
            (kind == Kind.SETATTR ? " mode " + Integer.toOctalString(mode) + " mtime " + mtimeNs : "");
    }
}
