package dev.replicator.core.volume;

import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Positional block I/O on a volume's backing file or block device. Reads and writes loop until every
 * byte has moved (a positional write may be short). Thread-safe for positional I/O, as
 * {@link FileChannel} is; {@link #force()} is the one durability point.
 */
public final class VolumeChannel implements Closeable
{
    private final Path path;
    private final FileChannel channel;
    private final int blockSize;
    private HoleProbe holes;

    private VolumeChannel(final Path path, final FileChannel channel, final int blockSize)
    {
        this.path = path;
        this.channel = channel;
        this.blockSize = blockSize;
    }

    public static VolumeChannel openReadOnly(final Path path, final int blockSize) throws IOException
    {
        return new VolumeChannel(path, FileChannel.open(path, StandardOpenOption.READ), blockSize);
    }

    public static VolumeChannel openReadWrite(final Path path, final int blockSize) throws IOException
    {
        return new VolumeChannel(
            path, FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE), blockSize);
    }

    /** Creates (or truncates) a sparse regular file of exactly {@code sizeBytes}. */
    public static VolumeChannel createSparse(final Path path, final long sizeBytes, final int blockSize)
        throws IOException
    {
        final FileChannel channel = FileChannel.open(
            path, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE,
            StandardOpenOption.TRUNCATE_EXISTING);
        try
        {
            if (sizeBytes > 0)
            {
                channel.write(ByteBuffer.allocate(1), sizeBytes - 1);
                // The byte written is a zero: the file is sparse and reads as zeros everywhere.
            }
            return new VolumeChannel(path, channel, blockSize);
        }
        catch (final IOException ex)
        {
            channel.close();
            throw ex;
        }
    }

    public Path path()
    {
        return path;
    }

    public int blockSize()
    {
        return blockSize;
    }

    /** Size in bytes: the file length, or for a block device the size the kernel reports. */
    public long sizeBytes() throws IOException
    {
        return VolumeSizes.sizeOf(path, channel);
    }

    /** Reads {@code dst.remaining()} bytes at {@code blockIndex}; past the end reads as zeros. */
    public void readBlocks(final long blockIndex, final ByteBuffer dst) throws IOException
    {
        long position = blockIndex * blockSize;
        while (dst.hasRemaining())
        {
            final int read = channel.read(dst, position);
            if (read < 0)
            {
                while (dst.hasRemaining())
                {
                    dst.put((byte)0);
                }
                return;
            }
            position += read;
        }
    }

    public void writeBlocks(final long blockIndex, final ByteBuffer src) throws IOException
    {
        long position = blockIndex * blockSize;
        while (src.hasRemaining())
        {
            position += channel.write(src, position);
        }
    }

    /** Makes every write so far durable (fsync of data; metadata only where the size changed). */
    public void force() throws IOException
    {
        channel.force(false);
    }

    public FileChannel channel()
    {
        return channel;
    }

    /** Where this volume's holes are (opened on first use, closed with the volume). */
    public synchronized HoleProbe holes()
    {
        if (holes == null)
        {
            holes = HoleProbe.open(path);
        }
        return holes;
    }

    @Override
    public void close() throws IOException
    {
        synchronized (this)
        {
            if (holes != null)
            {
                holes.close();
            }
        }
        channel.close();
    }

    /** Size of an existing file or device at {@code path}, for validation before opening it read-write. */
    public static long sizeOf(final Path path)
    {
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ))
        {
            return VolumeSizes.sizeOf(path, channel);
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
    }

    static boolean isBlockDevice(final Path path)
    {
        return !Files.isRegularFile(path) && path.toString().startsWith("/dev/");
    }
}
