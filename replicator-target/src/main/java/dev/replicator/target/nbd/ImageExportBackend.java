package dev.replicator.target.nbd;

import dev.replicator.core.nbd.NbdBackend;
import dev.replicator.core.nbd.NbdBackendException;
import dev.replicator.core.nbd.NbdProtocol;
import dev.replicator.core.volume.VolumeSpec;
import dev.replicator.target.image.ImageView;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One volume of a point-in-time image served read-only over NBD, straight from the image store (the
 * replica with the undo records since the checkpoint laid over it): nothing is copied first, so the
 * export is ready as soon as the view is open, whatever the volume's size. All-zero blocks are
 * reported as holes. The view stays exact while replication goes on; if retention drops the image's
 * checkpoint, reads fail with an I/O error instead of serving newer content.
 *
 * <p>Thread-safe: requests are serialised on one lock (an {@link ImageView} reuses its buffers).
 */
public final class ImageExportBackend implements NbdBackend
{
    private final VolumeSpec spec;
    private final ReentrantLock lock = new ReentrantLock();
    private final BlockRangeReader reader;

    public ImageExportBackend(final ImageView view, final int volumeIndex)
    {
        this.spec = view.volumes().get(volumeIndex);
        this.reader = new BlockRangeReader((firstBlock, dst) -> view.readBlocks(volumeIndex, firstBlock, dst),
            spec.blockSize());
    }

    @Override
    public long size()
    {
        return spec.sizeBytes();
    }

    @Override
    public boolean readOnly()
    {
        return true;
    }

    @Override
    public int blockSize()
    {
        return spec.blockSize();
    }

    @Override
    public void read(final long offset, final ByteBuffer dst) throws IOException
    {
        lock.lock();
        try
        {
            reader.read(offset, dst);
        }
        finally
        {
            lock.unlock();
        }
    }

    @Override
    public void write(final long offset, final ByteBuffer src, final boolean fua) throws IOException
    {
        throw readOnlyRefusal();
    }

    @Override
    public void writeZeroes(final long offset, final long length, final boolean fua) throws IOException
    {
        throw readOnlyRefusal();
    }

    @Override
    public void trim(final long offset, final long length) throws IOException
    {
        throw readOnlyRefusal();
    }

    @Override
    public void flush()
    {
        // Nothing is ever written.
    }

    @Override
    public void blockStatus(final long offset, final long length, final ExtentSink sink) throws IOException
    {
        lock.lock();
        try
        {
            reader.blockStatus(offset, length, sink);
        }
        finally
        {
            lock.unlock();
        }
    }

    @Override
    public void close()
    {
        // The view holds no files of its own.
    }

    private IOException readOnlyRefusal()
    {
        return new NbdBackendException(NbdProtocol.EPERM, "the image export of volume '" + spec.name() + "' is read-only");
    }
}
