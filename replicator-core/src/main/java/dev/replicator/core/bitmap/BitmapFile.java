package dev.replicator.core.bitmap;

import dev.replicator.core.io.AtomicFiles;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.CRC32C;

/**
 * A persisted {@link BlockBitmap}, replaced atomically (write temp, fsync, rename, fsync dir).
 *
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +---------------------------------------------------------------+
 * |                     Magic 'RBM1' (0x52424D31)                 |
 * +---------------------------------------------------------------+
 * |                     Body Length                               |
 * +---------------------------------------------------------------+
 * |                     CRC32C of Body                            |
 * +---------------------------------------------------------------+
 * |                     Body: Roaring portable serialization     ...
 * +---------------------------------------------------------------+
 * </pre>
 */
public final class BitmapFile
{
    static final int MAGIC = 0x52424D31;
    static final int HEADER_LENGTH = 12;

    private BitmapFile()
    {
    }

    public static void write(final Path path, final BlockBitmap bitmap) throws IOException
    {
        final byte[] body = bitmap.toBytes();
        final CRC32C crc = new CRC32C();
        crc.update(body);
        final ByteBuffer buffer = ByteBuffer.allocate(HEADER_LENGTH + body.length);
        buffer.putInt(MAGIC).putInt(body.length).putInt((int)crc.getValue()).put(body).flip();
        AtomicFiles.write(path, buffer);
    }

    /** Reads a bitmap; a missing file is an empty bitmap. @throws IOException if the file is corrupt. */
    public static BlockBitmap readOrEmpty(final Path path) throws IOException
    {
        if (!Files.exists(path))
        {
            return new BlockBitmap();
        }
        final ByteBuffer buffer = ByteBuffer.wrap(Files.readAllBytes(path));
        if (buffer.remaining() < HEADER_LENGTH || buffer.getInt() != MAGIC)
        {
            throw new IOException("bitmap file " + path + " is not a replicator bitmap");
        }
        final int length = buffer.getInt();
        final int expectedCrc = buffer.getInt();
        if (length < 0 || length != buffer.remaining())
        {
            throw new IOException("bitmap file " + path + " is truncated");
        }
        final byte[] body = new byte[length];
        buffer.get(body);
        final CRC32C crc = new CRC32C();
        crc.update(body);
        if ((int)crc.getValue() != expectedCrc)
        {
            throw new IOException("bitmap file " + path + " fails its checksum");
        }
        return BlockBitmap.fromBytes(body);
    }
}
