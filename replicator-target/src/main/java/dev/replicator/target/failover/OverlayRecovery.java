package dev.replicator.target.failover;

import dev.replicator.core.bitmap.BlockBitmap;
import dev.replicator.core.codec.Checksums;
import dev.replicator.core.nbd.NbdBackend;
import dev.replicator.target.image.ImageStore;
import dev.replicator.target.image.ImageView;
import dev.replicator.target.nbd.NbdExporter;
import dev.replicator.target.nbd.RecoveryOverlay;
import dev.replicator.target.nbd.RecoveryOverlayBackend;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Instant recovery: a failed-over group's recovery volumes served as writable NBD exports (one per
 * volume, named by the volume) over {@link RecoveryOverlay}s of the failover image. Nothing is copied
 * at failover. Every write is recorded exactly in the overlay's {@code written} bitmap, so failback
 * ships exactly the blocks clients wrote, and reads the recovery side through the same overlays.
 *
 * <p>Thread-safe: the overlays are; {@link #scanNow()} is synchronized.
 */
public final class OverlayRecovery implements RecoveryVolumes
{
    private static final Logger LOG = LoggerFactory.getLogger(OverlayRecovery.class);
    /** Bytes read through an overlay per call of {@link #fingerprints(int, long, long[])}. */
    static final int FINGERPRINT_CHUNK_BYTES = 1 << 20;

    private final String group;
    private final List<RecoveryOverlay> overlays;
    private final List<BlockBitmap> seen = new ArrayList<>();
    /** Per volume: the failover image's fingerprints, computed in the background (verification reads them). */
    private final List<ImageFingerprints> imageFingerprints = new ArrayList<>();
    private final ByteBuffer block;
    private ByteBuffer chunk;
    private NbdExporter.Served served;
    private String address;

    private OverlayRecovery(final String group, final List<RecoveryOverlay> overlays)
    {
        this.group = group;
        this.overlays = overlays;
        int maxBlockSize = 0;
        for (final RecoveryOverlay overlay : overlays)
        {
            seen.add(new BlockBitmap());
            maxBlockSize = Math.max(maxBlockSize, overlay.spec().blockSize());
        }
        this.block = ByteBuffer.allocateDirect(maxBlockSize);
    }

    /** Overlay files for each volume of the group, in volume order (what the failover record lists). */
    static List<Path> overlayPaths(final Path failoverDir, final List<String> volumeNames)
    {
        final List<Path> paths = new ArrayList<>();
        for (final String name : volumeNames)
        {
            paths.add(RecoveryOverlay.overlayPath(failoverDir, name).toAbsolutePath());
        }
        return paths;
    }

    /** Creates empty overlays of image {@code imageSeq} (durable on return); nothing is served yet. */
    static OverlayRecovery create(final String group, final ImageStore store, final long imageSeq,
        final Path failoverDir) throws IOException
    {
        return openOrCreate(group, store, imageSeq, failoverDir, true);
    }

    /** Opens the overlays a failover created, as of their last flush (after a target restart). */
    static OverlayRecovery open(final String group, final ImageStore store, final long imageSeq,
        final Path failoverDir) throws IOException
    {
        return openOrCreate(group, store, imageSeq, failoverDir, false);
    }

    private static OverlayRecovery openOrCreate(final String group, final ImageStore store, final long imageSeq,
        final Path failoverDir, final boolean create) throws IOException
    {
        final List<RecoveryOverlay> overlays = new ArrayList<>();
        try
        {
            for (int v = 0; v < store.volumes().size(); v++)
            {
                // One view per volume: a view is single-threaded, and each overlay serialises its own.
                final ImageView image = store.openImage(imageSeq);
                overlays.add(create ? RecoveryOverlay.create(image, v, failoverDir) :
                    RecoveryOverlay.open(image, v, failoverDir));
            }
        }
        catch (final IOException | RuntimeException ex)
        {
            for (final RecoveryOverlay overlay : overlays)
            {
                try
                {
                    overlay.close();
                }
                catch (final IOException closeFailure)
                {
                    ex.addSuppressed(closeFailure);
                }
            }
            throw ex;
        }
        final OverlayRecovery recovery = new OverlayRecovery(group, overlays);
        try
        {
            for (int v = 0; v < overlays.size(); v++)
            {
                recovery.imageFingerprints.add(ImageFingerprints.start(group, store, imageSeq, v, failoverDir));
            }
        }
        catch (final IOException | RuntimeException ex)
        {
            recovery.close();
            throw ex;
        }
        return recovery;
    }

    /** Serves every volume as a writable export named by the volume, on {@code host:port}. */
    void serve(final NbdExporter exports, final String host, final int port) throws IOException
    {
        final Map<String, NbdBackend> backends = new LinkedHashMap<>();
        for (final RecoveryOverlay overlay : overlays)
        {
            backends.put(overlay.spec().name(), new RecoveryOverlayBackend(overlay));
        }
        served = exports.serve(host, port, backends);
        address = "nbd://" + host + ":" + served.port();
        LOG.warn("group={} recovery volumes served over NBD at {} (exports {})", group, address, backends.keySet());
    }

    public int port()
    {
        return served == null ? -1 : served.port();
    }

    @Override
    public synchronized BlockBitmap[] scanNow()
    {
        final BlockBitmap[] delta = new BlockBitmap[overlays.size()];
        for (int v = 0; v < overlays.size(); v++)
        {
            final BlockBitmap written = overlays.get(v).written();
            delta[v] = written.copy().andNot(seen.get(v));
            seen.set(v, written);
        }
        return delta;
    }

    /** Exact: every block written through the export so far, not only as of the last scan. */
    @Override
    public BlockBitmap written(final int index)
    {
        return overlays.get(index).written();
    }

    @Override
    public synchronized long fingerprint(final int index, final long blockIndex) throws IOException
    {
        final int blockSize = overlays.get(index).spec().blockSize();
        block.clear().limit(blockSize);
        overlays.get(index).readBlocks(blockIndex, block);
        return Checksums.xxHash64(block, 0, blockSize);
    }

    /**
     * Blocks the overlay never wrote come from the image's fingerprints where the background thread has
     * computed them; the rest are read through the overlay a chunk per call (one call per block cost
     * a lock, an image lookup and a read each).
     */
    @Override
    public synchronized void fingerprints(final int index, final long firstBlock, final long[] dst) throws IOException
    {
        final int blockSize = overlays.get(index).spec().blockSize();
        if (chunk == null)
        {
            chunk = ByteBuffer.allocateDirect(Math.max(FINGERPRINT_CHUNK_BYTES, block.capacity()));
        }
        final ImageFingerprints image = index < imageFingerprints.size() ? imageFingerprints.get(index) : null;
        final long computed = image == null ? 0 : image.computedBlocks();
        // Taken before the image's entries are used: a block unwritten now read as the image now.
        final BlockBitmap written = overlays.get(index).written();
        final int perChunk = chunk.capacity() / blockSize;
        int done = 0;
        while (done < dst.length)
        {
            final long block = firstBlock + done;
            if (block < computed && !written.get(block))
            {
                dst[done++] = image.get(block);
                continue;
            }
            int count = 1;
            while (done + count < dst.length && count < perChunk &&
                (firstBlock + done + count >= computed || written.get(firstBlock + done + count)))
            {
                count++;
            }
            chunk.clear().limit(count * blockSize);
            overlays.get(index).readBlocks(block, chunk);
            for (int i = 0; i < count; i++)
            {
                dst[done + i] = Checksums.xxHash64(chunk, i * blockSize, blockSize);
            }
            done += count;
        }
    }

    /** Blocks of volume {@code index} whose image fingerprint the background thread has computed (tests). */
    long imageFingerprintedBlocks(final int index)
    {
        return imageFingerprints.get(index).computedBlocks();
    }

    @Override
    public void readBlocks(final int index, final long firstBlock, final ByteBuffer dst) throws IOException
    {
        overlays.get(index).readBlocks(firstBlock, dst);
    }

    @Override
    public String export()
    {
        return address;
    }

    /** Stops serving (clients are disconnected), then flushes and closes the overlays. */
    @Override
    public synchronized void close()
    {
        if (served != null)
        {
            served.close();
            served = null;
        }
        for (final ImageFingerprints image : imageFingerprints)
        {
            image.close();
        }
        imageFingerprints.clear();
        for (final RecoveryOverlay overlay : overlays)
        {
            try
            {
                overlay.close();
            }
            catch (final IOException ex)
            {
                LOG.error("group={} closing the recovery overlay of volume '{}': {}", group, overlay.spec().name(),
                    ex.toString());
            }
        }
    }
}
