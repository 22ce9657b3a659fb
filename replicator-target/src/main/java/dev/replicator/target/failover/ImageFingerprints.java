package dev.replicator.target.failover;

import dev.replicator.core.codec.Checksums;
import dev.replicator.core.scan.FingerprintTable;
import dev.replicator.core.volume.VolumeSpec;
import dev.replicator.target.image.ImageStore;
import dev.replicator.target.image.ImageView;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The fingerprints of one volume of a failover image, computed on a daemon thread while the recovery
 * volume is in use, so that failback's verification need not read the whole image through the
 * overlay: a block the overlay never wrote reads as the image, whose fingerprint is here. (Reading
 * and hashing a 4 GiB image took about a second of every export-mode failback; file-mode recovery
 * gets the same table from the copy made at failover.)
 *
 * <pre>
 *  failover/VOL.image.fp   FingerprintTable of the image; blocks [0, computedBlocks()) are valid
 * </pre>
 *
 * Not persisted across restarts: progress lives in memory, and the table is made again (from block 0)
 * whenever the overlays are opened. Thread-safe: one writer (the thread), readers see only
 * {@link #computedBlocks()} entries, published through a volatile.
 */
final class ImageFingerprints implements Closeable
{
    private static final Logger LOG = LoggerFactory.getLogger(ImageFingerprints.class);
    private static final int READ_BYTES = 1 << 20;

    private final String group;
    private final VolumeSpec spec;
    private final Path path;
    private final FingerprintTable table;
    private final ImageView image;
    private final int volumeIndex;
    private final Thread thread;
    private volatile long computedBlocks;
    private volatile boolean stopped;

    private ImageFingerprints(final String group, final ImageView image, final int volumeIndex, final Path path,
        final FingerprintTable table)
    {
        this.group = group;
        this.image = image;
        this.volumeIndex = volumeIndex;
        this.spec = image.volumes().get(volumeIndex);
        this.path = path;
        this.table = table;
        this.thread = new Thread(this::run, "image-fingerprints-" + group + "-" + spec.name());
        thread.setDaemon(true);
    }

    static Path tablePath(final Path failoverDir, final String volume)
    {
        return failoverDir.resolve(volume + ".image.fp");
    }

    /** Starts fingerprinting volume {@code volumeIndex} of image {@code imageSeq} (its own view of it). */
    static ImageFingerprints start(final String group, final ImageStore store, final long imageSeq,
        final int volumeIndex, final Path failoverDir) throws IOException
    {
        final ImageView image = store.openImage(imageSeq);
        final VolumeSpec spec = image.volumes().get(volumeIndex);
        final Path path = tablePath(failoverDir, spec.name());
        Files.deleteIfExists(path);
        final ImageFingerprints fingerprints = new ImageFingerprints(group, image, volumeIndex, path,
            FingerprintTable.openOrCreate(path, spec.blockCount(), spec.blockSize()));
        fingerprints.thread.start();
        return fingerprints;
    }

    /** Blocks from 0 whose entries are valid. */
    long computedBlocks()
    {
        return computedBlocks;
    }

    /** The image's fingerprint of {@code block}; valid only below {@link #computedBlocks()}. */
    long get(final long block)
    {
        return table.get(block);
    }

    private void run()
    {
        final long startMs = System.currentTimeMillis();
        final int blockSize = spec.blockSize();
        final int perRead = Math.max(1, READ_BYTES / blockSize);
        final ByteBuffer buffer = ByteBuffer.allocateDirect(perRead * blockSize);
        try
        {
            for (long first = 0; first < spec.blockCount() && !stopped; first += perRead)
            {
                final int count = (int)Math.min(perRead, spec.blockCount() - first);
                buffer.clear().limit(count * blockSize);
                image.readBlocks(volumeIndex, first, buffer);
                for (int i = 0; i < count; i++)
                {
                    table.set(first + i, Checksums.xxHash64(buffer, i * blockSize, blockSize));
                }
                computedBlocks = first + count;
            }
            if (!stopped)
            {
                LOG.info("group={} volume={} failover image fingerprinted for failback in {} ms", group, spec.name(),
                    System.currentTimeMillis() - startMs);
            }
        }
        catch (final IOException | RuntimeException ex)
        {
            // Failback reads what is missing through the overlay instead.
            if (!stopped)
            {
                LOG.warn("group={} volume={} fingerprinting the failover image stopped at block {}: {}", group,
                    spec.name(), computedBlocks, ex.toString());
            }
        }
    }

    /** Stops the thread, closes and deletes the table (it is made again on the next open). */
    @Override
    public void close()
    {
        stopped = true;
        try
        {
            thread.join();
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
        }
        try
        {
            table.close();
            Files.deleteIfExists(path);
        }
        catch (final IOException ex)
        {
            LOG.debug("group={} closing the image fingerprints of volume '{}': {}", group, spec.name(), ex.toString());
        }
    }
}
