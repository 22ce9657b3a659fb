package dev.replicator.core.tree;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * Layout of one encoded {@link TreeOp}: the payload of a journal TREE entry, of a wire TREE record
 * and of a target tree undo record. Little-endian.
 *
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +---------------+---------------+-------------------------------+
 *  |     Kind      |   Reserved    |          Path Length          |
 *  +---------------+---------------+-------------------------------+
 *  |                 Other Length (-1: none)                       |
 *  +---------------------------------------------------------------+
 *  |            Offset (WRITE) / Size (TRUNCATE)                   |
 *  |                                                               |
 *  +---------------------------------------------------------------+
 *  |                  Mtime ns (SETATTR)                           |
 *  |                                                               |
 *  +---------------------------------------------------------------+
 *  |                  Mode (SETATTR)                               |
 *  +---------------------------------------------------------------+
 *  |                  Uid (SETATTR)                                |
 *  +---------------------------------------------------------------+
 *  |                  Gid (SETATTR)                                |
 *  +---------------------------------------------------------------+
 *  |                  Data Length (WRITE)                          |
 *  +---------------------------------------------------------------+
 *  |  Path (UTF-8) | Other (UTF-8: RENAME destination, link target)|
 *  |  Data (Data Length bytes)                                    ...
 *  +---------------------------------------------------------------+
 * </pre>
 */
public final class TreeRecordDescriptor
{
    public static final int KIND_OFFSET = 0;
    public static final int PATH_LENGTH_OFFSET = 2;
    public static final int OTHER_LENGTH_OFFSET = 4;
    public static final int OFFSET_OFFSET = 8;
    public static final int MTIME_NS_OFFSET = 16;
    public static final int MODE_OFFSET = 24;
    public static final int UID_OFFSET = 28;
    public static final int GID_OFFSET = 32;
    public static final int DATA_LENGTH_OFFSET = 36;
    public static final int HEADER_LENGTH = 40;

    /** Longest path or link target accepted: PATH_MAX on Linux. */
    public static final int MAX_PATH_BYTES = 4096;

    private TreeRecordDescriptor()
    {
    }

    public static int encodedLength(final TreeOp op)
    {
        return HEADER_LENGTH + utf8(op.path()).length + (op.other() == null ? 0 : utf8(op.other()).length) + op.data().length;
    }

    /** Encodes {@code op} as a new little-endian heap buffer, position 0, limit its length. */
    public static ByteBuffer encode(final TreeOp op)
    {
        final byte[] path = utf8(op.path());
        final byte[] other = op.other() == null ? null : utf8(op.other());
        final int length = HEADER_LENGTH + path.length + (other == null ? 0 : other.length) + op.data().length;
        final ByteBuffer buffer = ByteBuffer.allocate(length).order(ByteOrder.LITTLE_ENDIAN);
        buffer.put(KIND_OFFSET, op.kind().code())
            .putShort(PATH_LENGTH_OFFSET, (short)path.length)
            .putInt(OTHER_LENGTH_OFFSET, other == null ? -1 : other.length)
            .putLong(OFFSET_OFFSET, op.offset())
            .putLong(MTIME_NS_OFFSET, op.mtimeNs())
            .putInt(MODE_OFFSET, op.mode())
            .putInt(UID_OFFSET, op.uid())
            .putInt(GID_OFFSET, op.gid())
            .putInt(DATA_LENGTH_OFFSET, op.data().length);
        buffer.position(HEADER_LENGTH);
        buffer.put(path);
        if (other != null)
        {
            buffer.put(other);
        }
        buffer.put(op.data());
        return buffer.flip();
    }

    /**
     * Decodes the op between {@code src}'s position and limit (neither is changed).
     *
     * @throws IllegalArgumentException naming what is wrong, if the bytes are not one whole op.
     */
    public static TreeOp decode(final ByteBuffer src)
    {
        final ByteBuffer in = src.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        final int base = in.position();
        final int length = in.remaining();
        if (length < HEADER_LENGTH)
        {
            throw new IllegalArgumentException("tree record of " + length + " bytes is shorter than its header");
        }
        final TreeOp.Kind kind = TreeOp.Kind.of(in.get(base + KIND_OFFSET));
        if (kind == null)
        {
            throw new IllegalArgumentException("tree record of unknown kind " + in.get(base + KIND_OFFSET));
        }
        final int pathLength = Short.toUnsignedInt(in.getShort(base + PATH_LENGTH_OFFSET));
        final int otherLength = in.getInt(base + OTHER_LENGTH_OFFSET);
        final int dataLength = in.getInt(base + DATA_LENGTH_OFFSET);
        if (pathLength == 0 || pathLength > MAX_PATH_BYTES || otherLength < -1 || otherLength > MAX_PATH_BYTES || dataLength < 0 ||
            (long)HEADER_LENGTH + pathLength + Math.max(otherLength, 0) + dataLength != length)
        {
            throw new IllegalArgumentException("tree record lengths (path " + pathLength + ", other " + otherLength +
                ", data " + dataLength + ") do not add up to its " + length + " bytes");
        }
        final byte[] path = new byte[pathLength];
        in.get(base + HEADER_LENGTH, path);
        String other = null;
        if (otherLength >= 0)
        {
            final byte[] otherBytes = new byte[otherLength];
            in.get(base + HEADER_LENGTH + pathLength, otherBytes);
            other = new String(otherBytes, StandardCharsets.UTF_8);
        }
        final byte[] data = new byte[dataLength];
        in.get(base + HEADER_LENGTH + pathLength + Math.max(otherLength, 0), data);
        final String pathString = new String(path, StandardCharsets.UTF_8);
        TreePaths.check(pathString);
        if (kind == TreeOp.Kind.RENAME)
        {
            if (other == null)
            {
                throw new IllegalArgumentException("tree RENAME record without a destination");
            }
            TreePaths.check(other);
        }
        if (kind == TreeOp.Kind.SYMLINK && other == null)
        {
            throw new IllegalArgumentException("tree SYMLINK record without a target");
        }
        return new TreeOp(kind, pathString, other, in.getLong(base + OFFSET_OFFSET), in.getInt(base + MODE_OFFSET),
            in.getInt(base + UID_OFFSET), in.getInt(base + GID_OFFSET), in.getLong(base + MTIME_NS_OFFSET), data);
    }

    private static byte[] utf8(final String s)
    {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
