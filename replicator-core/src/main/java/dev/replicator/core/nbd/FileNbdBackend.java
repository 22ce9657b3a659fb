package dev.replicator.core.nbd;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * An export served straight from a file or block device, with nothing journaled: for tests, and as
 * the baseline the agent's front end is measured against. Block status is by content ({@link ZeroRuns}).
 * Thread-safe (positional I/O only).
 */
public final class FileNbdBackend implements NbdBackend
{
    private final FileChannel channel;
    private final long size;
    private final int blockSize;
    private final boolean readOnly;

    private FileNbdBackend(final FileChannel channel, final long size, final int blockSize, final boolean readOnly)
    {
        this.channel = channel;
        this.size = size;
        this.blockSize = blockSize;
        this.readOnly = readOnly;
    }

    public static FileNbdBackend open(final Path path, final int blockSize, final boolean readOnly) throws IOException
    {
        final FileChannel channel = readOnly ? FileChannel.open(path, StandardOpenOption.READ) :
            FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
        try
        {
            return new FileNbdBackend(channel, channel.size(), blockSize, readOnly);
        }
        catch (final RuntimeException ex)
        {
            channel.close();
            throw ex;
        }
    }

    @Override
    public long size()
    {
        return size;
    }

    @Override
    public boolean readOnly()
    {
        return readOnly;
    }

    @Override
    public int blockSize()
    {
        return blockSize;
    }

    @Override
    public void read(final long offset, final ByteBuffer dst) throws IOException
    {
        long position = offset;
        while (dst.hasRemaining())
        {
            final int n = channel.read(dst, position);
            if (n < 0)
            {
                throw new IOException("file ended at " + position + " before the export's " + size + " bytes");
            }
            position += n;
        }
    }

    @Override
    public void write(final long offset, final ByteBuffer src, final boolean fua) throws IOException
    {
        long position = offset;
        while (src.hasRemaining())
        {
            position += channel.write(src, position);
        }
        if (fua)
        {
            channel.force(false);
        }
    }

    @Override
    public void writeZeroes(final long offset, final long length, final boolean fua) throws IOException
    {
        long done = 0;
        while (done < length)
        {
            final ByteBuffer zeros = ZeroRuns.zeros((int)Math.min(length - done, ZeroRuns.maxZerosLength()));
            final int n = zeros.remaining();
            write(offset + done, zeros, false);
            done += n;
        }
        if (fua)
        {
            channel.force(false);
        }
    }

    @Override
    public void trim(final long offset, final long length) throws IOException
    {
        writeZeroes(offset, length, false);
    }

    @Override
    public void flush() throws IOException
    {
        channel.force(false);
    }

    @Override
    public void blockStatus(final long offset, final long length, final ExtentSink sink) throws IOException
    {
        ZeroRuns.describe(this::read, offset, length, blockSize, sink);
    }

    @Override
    public void close() throws IOException
    {
        channel.close();
    }
}
