package dev.replicator.target.nbd;

import dev.replicator.core.bitmap.BitmapFile;
import dev.replicator.core.bitmap.BlockBitmap;
import dev.replicator.core.volume.VolumeChannel;
import dev.replicator.core.volume.VolumeSpec;
import dev.replicator.target.image.ImageView;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;

/**
 * A writable recovery volume made of an image and what was written over it since failover, by whole
 * blocks. Nothing is copied at failover: a block reads from the image store until it is written,
 * then from the overlay.
 *
 * <pre>
 *  failover/VOL.overlay   sparse file of the volume's size: the content of written blocks
 *  failover/VOL.written   BitmapFile: blocks written since failover (what failback ships back)
 *  failover/VOL.zeroed    BitmapFile: written blocks that read as zeros (WRITE_ZEROES, TRIM):
 *                         their overlay bytes are never read, so zeroing costs no data I/O
 *
 *  read(b) = written(b) ? (zeroed(b) ? zeros : overlay[b]) : image[b]
 * </pre>
 *
 * {@link #flush()} makes every earlier write durable in that order: overlay data (fsync), then
 * {@code zeroed}, then {@code written} (each replaced atomically). A crash before a flush loses only
 * unflushed writes, and each such block reads as it did at the last flush: a block enters
 * {@code written} durably only once its data is, and a block whose zero mark was dropped by a later
 * data write is durably unmarked before that write counts.
 *
 * <p>The {@code written} bitmap is exact (every block written through here, nothing else), so
 * failback ships exactly those blocks instead of finding them by scanning.
 *
 * <p>Thread-safe: every method is synchronized on this object (the image view reuses buffers).
 * Callers that read, patch and write back a block hold this object's monitor across the three.
 */
public final class RecoveryOverlay implements Closeable
{
    private final VolumeSpec spec;
    private final ImageView image;
    private final int volumeIndex;
    private final VolumeChannel overlay;
    private final Path writtenFile;
    private final Path zeroedFile;
    private final BlockBitmap written;
    private final BlockBitmap zeroed;
    private final ByteBuffer zeros;
    private boolean dataDirty;
    private boolean mapsDirty;
    private boolean closed;

    private RecoveryOverlay(
        final ImageView image, final int volumeIndex, final VolumeChannel overlay, final Path writtenFile,
        final Path zeroedFile, final BlockBitmap written, final BlockBitmap zeroed)
    {
        this.spec = image.volumes().get(volumeIndex);
        this.image = image;
        this.volumeIndex = volumeIndex;
        this.overlay = overlay;
        this.writtenFile = writtenFile;
        this.zeroedFile = zeroedFile;
        this.written = written;
        this.zeroed = zeroed;
        this.zeros = ByteBuffer.allocateDirect(spec.blockSize());
    }

    public static Path overlayPath(final Path dir, final String volume)
    {
        return dir.resolve(volume + ".overlay");
    }

    public static Path writtenPath(final Path dir, final String volume)
    {
        return dir.resolve(volume + ".written");
    }

    static Path zeroedPath(final Path dir, final String volume)
    {
        return dir.resolve(volume + ".zeroed");
    }

    /** Creates an empty overlay in {@code dir} (durable when this returns): the volume reads as the image. */
    public static RecoveryOverlay create(final ImageView image, final int volumeIndex, final Path dir)
        throws IOException
    {
        final VolumeSpec spec = image.volumes().get(volumeIndex);
        BitmapFile.write(zeroedPath(dir, spec.name()), new BlockBitmap());
        BitmapFile.write(writtenPath(dir, spec.name()), new BlockBitmap());
        final VolumeChannel channel = VolumeChannel.createSparse(
            overlayPath(dir, spec.name()), spec.sizeBytes(), spec.blockSize());
        try
        {
            channel.force();
        }
        catch (final IOException ex)
        {
            channel.close();
            throw ex;
        }
        return new RecoveryOverlay(image, volumeIndex, channel, writtenPath(dir, spec.name()),
            zeroedPath(dir, spec.name()), new BlockBitmap(), new BlockBitmap());
    }

    /** Opens an overlay {@link #create} made, as of its last {@link #flush()}. */
    public static RecoveryOverlay open(final ImageView image, final int volumeIndex, final Path dir)
        throws IOException
    {
        final VolumeSpec spec = image.volumes().get(volumeIndex);
        final Path overlayFile = overlayPath(dir, spec.name());
        final long size = VolumeChannel.sizeOf(overlayFile);
        if (size != spec.sizeBytes())
        {
            throw new IOException("recovery overlay " + overlayFile + " has " + size + " bytes, volume '" +
                spec.name() + "' has " + spec.sizeBytes());
        }
        final BlockBitmap written = BitmapFile.readOrEmpty(writtenPath(dir, spec.name()));
        final BlockBitmap zeroed = BitmapFile.readOrEmpty(zeroedPath(dir, spec.name()));
        return new RecoveryOverlay(image, volumeIndex, VolumeChannel.openReadWrite(overlayFile, spec.blockSize()),
            writtenPath(dir, spec.name()), zeroedPath(dir, spec.name()), written, zeroed);
    }

    public VolumeSpec spec()
    {
        return spec;
    }

    /** Reads whole blocks from {@code firstBlock} into {@code dst}, advancing its position. */
    public synchronized void readBlocks(final long firstBlock, final ByteBuffer dst) throws IOException
    {
        ensureOpen();
        final int blockSize = spec.blockSize();
        final int start = dst.position();
        final int blocks = dst.remaining() / blockSize;
        image.readBlocks(volumeIndex, firstBlock, dst.duplicate());
        if (!written.isEmpty())
        {
            final ByteBuffer slot = dst.duplicate();
            for (int i = 0; i < blocks; i++)
            {
                final long block = firstBlock + i;
                if (!written.get(block))
                {
                    continue;
                }
                slot.limit(start + (i + 1) * blockSize).position(start + i * blockSize);
                if (zeroed.get(block))
                {
                    zeros.clear();
                    slot.put(zeros);
                }
                else
                {
                    overlay.readBlocks(block, slot);
                }
            }
        }
        dst.position(start + blocks * blockSize);
    }

    /** Writes whole blocks from {@code src} at {@code firstBlock}; durable at the next {@link #flush()}. */
    public synchronized void writeBlocks(final long firstBlock, final ByteBuffer src) throws IOException
    {
        ensureOpen();
        final long blocks = src.remaining() / spec.blockSize();
        overlay.writeBlocks(firstBlock, src);
        dataDirty = true;
        final BlockBitmap range = range(firstBlock, blocks);
        if (!zeroed.isEmpty())
        {
            zeroed.andNot(range);
        }
        written.or(range);
        mapsDirty = true;
    }

    /** Makes {@code blocks} whole blocks from {@code firstBlock} read as zeros, without writing data. */
    public synchronized void zeroBlocks(final long firstBlock, final long blocks) throws IOException
    {
        ensureOpen();
        zeroed.setRange(firstBlock, firstBlock + blocks);
        written.setRange(firstBlock, firstBlock + blocks);
        mapsDirty = true;
    }

    /** Every write before this call is durable when it returns (see the class comment for the order). */
    public synchronized void flush() throws IOException
    {
        ensureOpen();
        if (dataDirty)
        {
            overlay.force();
            dataDirty = false;
        }
        if (mapsDirty)
        {
            BitmapFile.write(zeroedFile, zeroed);
            BitmapFile.write(writtenFile, written);
            mapsDirty = false;
        }
    }

    /** Blocks written since failover, as a new bitmap. */
    public synchronized BlockBitmap written()
    {
        return written.copy();
    }

    /** Flushes, then closes the overlay file. */
    @Override
    public synchronized void close() throws IOException
    {
        if (closed)
        {
            return;
        }
        try
        {
            flush();
        }
        finally
        {
            closed = true;
            overlay.close();
        }
    }

    private void ensureOpen() throws IOException
    {
        if (closed)
        {
            throw new IOException("the recovery overlay of volume '" + spec.name() + "' is closed");
        }
    }

    private static BlockBitmap range(final long firstBlock, final long blocks)
    {
        final BlockBitmap range = new BlockBitmap();
        range.setRange(firstBlock, firstBlock + blocks);
        return range;
    }
}
