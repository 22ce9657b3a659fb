package dev.replicator.target.nbd;

import dev.replicator.core.nbd.NbdBackend;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * The writable recovery export of one volume: NBD requests over a {@link RecoveryOverlay}. Whole
 * blocks are written straight to the overlay; the partial blocks at either end of a request are read
 * (from the overlay or the image), patched and written back whole, so the overlay and its
 * {@code written} bitmap only ever deal in whole blocks. WRITE_ZEROES and TRIM mark whole blocks as
 * zeroed without data I/O (TRIM reads back as zeros, as the contract asks). FLUSH and FUA make the
 * overlay durable.
 *
 * <p>Thread-safe: each request runs under the overlay's monitor, so a read-patch-write of a partial
 * block is atomic with respect to every other request and to failback reading the volume.
 */
public final class RecoveryOverlayBackend implements NbdBackend
{
    private final RecoveryOverlay overlay;
    private final int blockSize;
    private final BlockRangeReader reader;
    private final ByteBuffer blockScratch;
    private final ByteBuffer zeros;

    public RecoveryOverlayBackend(final RecoveryOverlay overlay)
    {
        this.overlay = overlay;
        this.blockSize = overlay.spec().blockSize();
        this.reader = new BlockRangeReader(overlay::readBlocks, blockSize);
        this.blockScratch = ByteBuffer.allocateDirect(blockSize);
        this.zeros = ByteBuffer.allocateDirect(blockSize);
    }

    public RecoveryOverlay overlay()
    {
        return overlay;
    }

    @Override
    public long size()
    {
        return overlay.spec().sizeBytes();
    }

    @Override
    public boolean readOnly()
    {
        return false;
    }

    @Override
    public int blockSize()
    {
        return blockSize;
    }

    @Override
    public void read(final long offset, final ByteBuffer dst) throws IOException
    {
        synchronized (overlay)
        {
            reader.read(offset, dst);
        }
    }

    @Override
    public void write(final long offset, final ByteBuffer src, final boolean fua) throws IOException
    {
        synchronized (overlay)
        {
            final ByteBuffer data = src.duplicate();
            long position = offset;
            while (data.hasRemaining())
            {
                final int skip = (int)(position % blockSize);
                final long block = position / blockSize;
                if (skip == 0 && data.remaining() >= blockSize)
                {
                    final int whole = data.remaining() / blockSize * blockSize;
                    final ByteBuffer run = data.duplicate();
                    run.limit(run.position() + whole);
                    overlay.writeBlocks(block, run);
                    data.position(data.position() + whole);
                    position += whole;
                }
                else
                {
                    final int length = Math.min(blockSize - skip, data.remaining());
                    final ByteBuffer part = data.duplicate();
                    part.limit(part.position() + length);
                    patchBlock(block, skip, part);
                    data.position(data.position() + length);
                    position += length;
                }
            }
            src.position(src.limit());
            if (fua)
            {
                overlay.flush();
            }
        }
    }

    @Override
    public void writeZeroes(final long offset, final long length, final boolean fua) throws IOException
    {
        synchronized (overlay)
        {
            zero(offset, length);
            if (fua)
            {
                overlay.flush();
            }
        }
    }

    @Override
    public void trim(final long offset, final long length) throws IOException
    {
        synchronized (overlay)
        {
            zero(offset, length);
        }
    }

    @Override
    public void flush() throws IOException
    {
        overlay.flush();
    }

    @Override
    public void blockStatus(final long offset, final long length, final ExtentSink sink) throws IOException
    {
        synchronized (overlay)
        {
            reader.blockStatus(offset, length, sink);
        }
    }

    @Override
    public void close() throws IOException
    {
        overlay.close();
    }

    private void zero(final long offset, final long length) throws IOException
    {
        final long end = offset + length;
        long position = offset;
        while (position < end)
        {
            final int skip = (int)(position % blockSize);
            final long block = position / blockSize;
            if (skip == 0 && end - position >= blockSize)
            {
                final long blocks = (end - position) / blockSize;
                overlay.zeroBlocks(block, blocks);
                position += blocks * blockSize;
            }
            else
            {
                final int part = (int)Math.min(blockSize - skip, end - position);
                zeros.clear().limit(part);
                patchBlock(block, skip, zeros);
                position += part;
            }
        }
    }

    /** Reads block {@code block}, replaces {@code part.remaining()} bytes at {@code skip}, writes it back. */
    private void patchBlock(final long block, final int skip, final ByteBuffer part) throws IOException
    {
        blockScratch.clear();
        overlay.readBlocks(block, blockScratch);
        blockScratch.position(skip);
        blockScratch.put(part);
        blockScratch.clear();
        overlay.writeBlocks(block, blockScratch);
    }
}
