package dev.replicator.target.tree;

import dev.replicator.core.tree.TreeOp;
import dev.replicator.core.tree.TreeRecordDescriptor;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * One append-only file of tree undo records: the ops that take the replica back, for one
 * checkpoint interval. Records are read newest first to roll back.
 *
 * <pre>
 *  +---------------------------------------------------------------+
 *  |                 Record Length (of seq + op)                   |
 *  +---------------------------------------------------------------+
 *  |          Seq of the forward op this record undoes             |
 *  |                                                               |
 *  +---------------------------------------------------------------+
 *  |        Encoded TreeOp (TreeRecordDescriptor)                 ...
 *  +---------------------------------------------------------------+
 *  |          CRC32C of length, seq and op                         |
 *  +---------------------------------------------------------------+
 * </pre>
 * Single writer; a reader opens its own instance.
 */
final class TreeUndoSegment implements AutoCloseable
{
    private static final int LENGTH_BYTES = 4;
    private static final int SEQ_BYTES = 8;
    private static final int CRC_BYTES = 4;

    private final Path file;
    private final FileChannel channel;
    private long length;
    private boolean unsynced;

    private TreeUndoSegment(final Path file, final FileChannel channel, final long length)
    {
        this.file = file;
        this.channel = channel;
        this.length = length;
    }

    /** Opens (creating if absent) for appends, truncating a torn tail after the last whole record. */
    static TreeUndoSegment openForAppend(final Path file) throws IOException
    {
        final FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        final TreeUndoSegment segment = new TreeUndoSegment(file, channel, 0);
        segment.length = segment.scanWholeRecords(null);
        channel.truncate(segment.length);
        return segment;
    }

    static TreeUndoSegment openForRead(final Path file) throws IOException
    {
        final FileChannel channel = FileChannel.open(file, StandardOpenOption.READ);
        return new TreeUndoSegment(file, channel, channel.size());
    }

    Path file()
    {
        return file;
    }

    long length()
    {
        return length;
    }

    void append(final long seq, final TreeOp op) throws IOException
    {
        final ByteBuffer encoded = TreeRecordDescriptor.encode(op);
        final int recordLength = SEQ_BYTES + encoded.remaining();
        final ByteBuffer record = ByteBuffer.allocate(LENGTH_BYTES + recordLength + CRC_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        record.putInt(recordLength).putLong(seq).put(encoded);
        final CRC32C crc = new CRC32C();
        crc.update(record.array(), 0, record.position());
        record.putInt((int)crc.getValue()).flip();
        while (record.hasRemaining())
        {
            length += channel.write(record, length);
        }
        unsynced = true;
    }

    boolean hasUnsynced()
    {
        return unsynced;
    }

    void sync() throws IOException
    {
        if (unsynced)
        {
            channel.force(false);
            unsynced = false;
        }
    }

    /** Cuts the segment back to {@code newLength} bytes (a roll-back's records), durably. */
    void truncate(final long newLength) throws IOException
    {
        channel.truncate(newLength);
        channel.force(false);
        length = newLength;
    }

    /** A record's position and seq, for reading records newest first. */
    record Position(long offset, long seq)
    {
    }

    /** Positions of every whole record, oldest first. */
    List<Position> positions() throws IOException
    {
        final List<Position> positions = new ArrayList<>();
        scanWholeRecords(positions);
        return positions;
    }

    TreeOp read(final Position position) throws IOException
    {
        final ByteBuffer lengthBytes = readFully(position.offset(), LENGTH_BYTES);
        final int recordLength = lengthBytes.getInt(0);
        final ByteBuffer record = readFully(position.offset() + LENGTH_BYTES + SEQ_BYTES, recordLength - SEQ_BYTES);
        return TreeRecordDescriptor.decode(record);
    }

    /** @return the length of the whole, CRC-clean records from the start. */
    private long scanWholeRecords(final List<Position> positions) throws IOException
    {
        final long size = channel.size();
        long offset = 0;
        final CRC32C crc = new CRC32C();
        while (offset + LENGTH_BYTES + SEQ_BYTES + CRC_BYTES <= size)
        {
            final int recordLength = readFully(offset, LENGTH_BYTES).getInt(0);
            if (recordLength < SEQ_BYTES + TreeRecordDescriptor.HEADER_LENGTH ||
                offset + LENGTH_BYTES + recordLength + CRC_BYTES > size)
            {
                break;
            }
            final ByteBuffer whole = readFully(offset, LENGTH_BYTES + recordLength + CRC_BYTES);
            crc.reset();
            crc.update(whole.array(), 0, LENGTH_BYTES + recordLength);
            if (whole.getInt(LENGTH_BYTES + recordLength) != (int)crc.getValue())
            {
                break;
            }
            if (positions != null)
            {
                positions.add(new Position(offset, whole.getLong(LENGTH_BYTES)));
            }
            offset += LENGTH_BYTES + recordLength + CRC_BYTES;
        }
        return offset;
    }

    private ByteBuffer readFully(final long offset, final int length) throws IOException
    {
        final ByteBuffer buffer = ByteBuffer.allocate(length).order(ByteOrder.LITTLE_ENDIAN);
        while (buffer.hasRemaining())
        {
            if (channel.read(buffer, offset + buffer.position()) < 0)
            {
                throw new IOException("tree undo segment " + file + " ends inside a record at " + offset);
            }
        }
        return buffer.flip();
    }

    @Override
    public void close() throws IOException
    {
        channel.close();
    }
}
