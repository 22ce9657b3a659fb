package dev.replicator.target.image;

import dev.replicator.core.bitmap.BlockBitmap;
import dev.replicator.core.codec.Checksums;
import dev.replicator.core.volume.VolumeSpec;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.locks.Lock;

/**
 * The content of a group's volumes as of one checkpoint (from {@link ImageStore#openImage}), or the
 * live replica ({@link ImageStore#openLatest}). A checkpoint's view stays exact while the store's writer
 * goes on: before each read it takes in the undo records published since its last read.
 *
 * <p>Read-only. Not thread-safe: one thread at a time uses a view (it reuses buffers), while other
 * views and the store's writer run on other threads. Holds no files of its own, so it needs no
 * closing; it stops working when its store closes or when retention drops its checkpoint.
 */
public final class ImageView
{
    private final ImageStore store;
    private final Checkpoint checkpoint;
    private final ImageOverlay overlay;
    private final ByteBuffer recordScratch;
    private final ByteBuffer blockScratch;

    ImageView(final ImageStore store, final Checkpoint checkpoint, final ImageOverlay overlay)
    {
        this.store = store;
        this.checkpoint = checkpoint;
        this.overlay = overlay;
        final int maxBlockSize = ImageStore.maxBlockSize(store.volumes());
        this.recordScratch = overlay == null ? null :
            ByteBuffer.allocateDirect(UndoRecordDescriptor.maxRecordLength(maxBlockSize));
        this.blockScratch = ByteBuffer.allocateDirect(maxBlockSize);
    }

    /** The checkpoint this is the image of; empty for the live replica. */
    public Optional<Checkpoint> checkpoint()
    {
        return Optional.ofNullable(checkpoint);
    }

    public boolean isLatest()
    {
        return checkpoint == null;
    }

    public List<VolumeSpec> volumes()
    {
        return store.volumes();
    }

    /** Blocks of the volume whose image content comes from the undo log instead of the replica. */
    public long overriddenBlocks(final int volumeIndex) throws IOException
    {
        store.volume(volumeIndex);
        if (overlay == null)
        {
            return 0;
        }
        final Lock lock = lockForRead();
        try
        {
            return overlay.overriddenBlocks(volumeIndex);
        }
        finally
        {
            lock.unlock();
        }
    }

    /**
     * The blocks the replica received after this image's checkpoint (whatever their content), as a
     * new bitmap: exactly the blocks where the image may differ from the replica. Empty for the live
     * replica.
     */
    public BlockBitmap changedSinceImage(final int volumeIndex) throws IOException
    {
        store.volume(volumeIndex);
        if (overlay == null)
        {
            return new BlockBitmap();
        }
        final Lock lock = lockForRead();
        try
        {
            return overlay.overriddenCopy(volumeIndex);
        }
        finally
        {
            lock.unlock();
        }
    }

    /**
     * Reads one block into {@code dst} at its position and advances the position by the block size.
     */
    public void readBlock(final int volumeIndex, final long blockIndex, final ByteBuffer dst) throws IOException
    {
        final VolumeSpec spec = store.volume(volumeIndex);
        if (dst.remaining() < spec.blockSize())
        {
            throw new IllegalArgumentException("a block of volume '" + spec.name() + "' has " + spec.blockSize() +
                " bytes, the buffer has room for " + dst.remaining());
        }
        final int limit = dst.limit();
        dst.limit(dst.position() + spec.blockSize());
        try
        {
            readBlocks(volumeIndex, blockIndex, dst);
        }
        finally
        {
            dst.limit(limit);
        }
    }

    /**
     * Reads {@code dst.remaining() / blockSize} consecutive blocks from {@code firstBlock} into
     * {@code dst} at its position, advancing it; {@code dst.remaining()} must be a multiple of the
     * block size.
     */
    public void readBlocks(final int volumeIndex, final long firstBlock, final ByteBuffer dst) throws IOException
    {
        final VolumeSpec spec = store.volume(volumeIndex);
        final int blockSize = spec.blockSize();
        final int blockCount = dst.remaining() / blockSize;
        if (dst.remaining() % blockSize != 0)
        {
            throw new IllegalArgumentException(dst.remaining() + " bytes are not a whole number of blocks of " +
                blockSize);
        }
        if (firstBlock < 0 || firstBlock + blockCount > spec.blockCount())
        {
            throw new IllegalArgumentException("blocks " + firstBlock + ".." + (firstBlock + blockCount - 1) +
                " are outside volume '" + spec.name() + "' of " + spec.blockCount() + " blocks");
        }
        final int start = dst.position();
        final Lock lock = lockForRead();
        try
        {
            // The replica first, then the overlay: a block the writer overwrites meanwhile was published
            // in the overlay before the overwrite began, so whichever replica bytes were read, the
            // overlay replaces them.
            store.replicas().channel(volumeIndex).readBlocks(firstBlock, dst);
            if (overlay != null)
            {
                overlay.apply(volumeIndex, firstBlock, blockCount, dst, start, recordScratch);
            }
        }
        finally
        {
            lock.unlock();
        }
    }

    /** xxHash64 ({@link Checksums#xxHash64}) of one block of the image. */
    public long fingerprint(final int volumeIndex, final long blockIndex) throws IOException
    {
        final int blockSize = store.volume(volumeIndex).blockSize();
        blockScratch.clear().limit(blockSize);
        readBlock(volumeIndex, blockIndex, blockScratch);
        return Checksums.xxHash64(blockScratch, 0, blockSize);
    }

    /**
     * Writes the whole volume to {@code out}, a new sparse file (all-zero blocks are skipped), and
     * fsyncs it.
     *
     * @param progress     told the bytes done after each chunk; may be null.
     * @param fingerprints given every block's xxHash64, in block order; may be null.
     * @throws ImageStoreException if {@code out} already exists.
     */
    public void materialize(
        final int volumeIndex, final Path out, final ProgressListener progress, final BlockFingerprintSink fingerprints)
        throws IOException
    {
        new ImageMaterializer(this, store.volume(volumeIndex), volumeIndex).writeTo(out, progress, fingerprints);
    }

    /** {@link #materialize(int, Path, ProgressListener, BlockFingerprintSink)} without fingerprints. */
    public void materialize(final int volumeIndex, final Path out, final ProgressListener progress) throws IOException
    {
        materialize(volumeIndex, out, progress, null);
    }

    /** Undo records this view has read (to build it and to keep up since): proportional to change. */
    public long undoRecordsScanned() throws IOException
    {
        if (overlay == null)
        {
            return 0;
        }
        final Lock lock = lockForRead();
        try
        {
            return overlay.recordsScanned();
        }
        finally
        {
            lock.unlock();
        }
    }

    /** Takes the store's read lock, checks the view still works and takes in newly published undo. */
    private Lock lockForRead() throws IOException
    {
        final Lock lock = store.lock().readLock();
        lock.lock();
        try
        {
            store.ensureReadable();
            if (overlay != null)
            {
                final UndoLog undoLog = store.undoLog();
                if (overlay.baseCheckpointSeq() < undoLog.firstRetainedSeq())
                {
                    throw new UnknownImageException("checkpoint seq " + overlay.baseCheckpointSeq() +
                        " was dropped by retention while its image was open");
                }
                overlay.catchUp(undoLog);
            }
            return lock;
        }
        catch (final IOException | RuntimeException ex)
        {
            lock.unlock();
            throw ex;
        }
    }

    @Override
    public String toString()
    {
        return "ImageView{" + (checkpoint == null ? "latest" : "checkpoint seq " + checkpoint.seq()) + "}";
    }
}
