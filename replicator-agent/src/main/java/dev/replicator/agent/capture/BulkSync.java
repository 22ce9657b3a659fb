package dev.replicator.agent.capture;

import dev.replicator.agent.ship.SyncSource;
import dev.replicator.core.bitmap.BitmapFile;
import dev.replicator.core.bitmap.BlockBitmap;
import dev.replicator.core.io.AtomicFiles;
import dev.replicator.core.scan.FingerprintTable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The bulk sync: blocks a scan found that the target may not have, shipped from the volume itself
 * instead of through the journal (a fresh agent's initial sync, and the rest of one a restart cut
 * short). The scan marks blocks here ({@link #mark}) and the shipper streams them as the scan
 * proceeds; a block's bit clears when the target acknowledges it. Live writes meanwhile go through
 * the journal as always; no checkpoint is journaled while {@link #outstanding()} (the target has no
 * consistent image before the whole volume is there).
 *
 * <pre>
 * state.dir/sync/            exists while a sync is in progress (made before the fingerprint tables)
 *   VOL.sync                 blocks still to ship (BitmapFile); the fingerprint table records a
 *                            block only when the target acknowledges it (the content shipped), so
 *                            a crash re-ships, never skips
 * </pre>
 *
 * <p>Thread-safe: the scanner marks, the shipper takes runs, the ack reader clears; all on this object.
 */
public final class BulkSync implements SyncSource
{
    private static final Logger LOG = LoggerFactory.getLogger(BulkSync.class);
    /** Acknowledged bits are persisted at most this often (a crash re-ships what the file still lists). */
    private static final long PERSIST_INTERVAL_MS = 1000;

    private final Path dir;
    private final List<CaptureVolume> volumes;
    private final BlockBitmap[] pending;
    /** Per volume: every block below this has been scanned in the current pass. */
    private final long[] scannedBelow;
    private final Runnable onComplete;
    /** Written under this object's lock; read without it by the shipper's idle loop. */
    private volatile boolean active;
    private boolean scanning;
    private boolean changed;
    private long lastPersistMs;
    private long marked;
    private long acked;

    private BulkSync(final Path dir, final List<CaptureVolume> volumes, final boolean active, final Runnable onComplete)
        throws IOException
    {
        this.dir = dir;
        this.volumes = volumes;
        this.onComplete = onComplete;
        this.active = active;
        this.pending = new BlockBitmap[volumes.size()];
        this.scannedBelow = new long[volumes.size()];
        for (int i = 0; i < pending.length; i++)
        {
            pending[i] = active ? BitmapFile.readOrEmpty(path(i)) : new BlockBitmap();
            marked += pending[i].cardinality();
        }
    }

    /**
     * Call before opening the fingerprint tables: if any is about to be created, a sync begins (the
     * directory is the commit point), so a crash before the first scan completes resumes it.
     */
    public static void beginIfFresh(final Path stateDir, final List<Path> tables) throws IOException
    {
        for (final Path table : tables)
        {
            if (!Files.exists(table))
            {
                final Path dir = stateDir.resolve("sync");
                Files.createDirectories(dir);
                AtomicFiles.fsyncDirectory(stateDir);
                return;
            }
        }
    }

    /** Opens the sync of a started agent: active if {@link #beginIfFresh} began one that has not finished. */
    public static BulkSync open(final Path stateDir, final List<CaptureVolume> volumes, final Runnable onComplete)
        throws IOException
    {
        final Path dir = stateDir.resolve("sync");
        return new BulkSync(dir, volumes, Files.isDirectory(dir), onComplete);
    }

    private Path path(final int volumeIndex)
    {
        return dir.resolve(volumes.get(volumeIndex).spec().name() + ".sync");
    }

    /** Whether a sync is in progress (its scan must run before anything else is scanned). */
    public boolean isActive()
    {
        return active;
    }

    /** The scan starts a pass over every volume. */
    synchronized void scanStarted()
    {
        scanning = true;
        java.util.Arrays.fill(scannedBelow, 0);
    }

    synchronized void mark(final int volumeIndex, final long firstBlock, final int count)
    {
        pending[volumeIndex].setRange(firstBlock, firstBlock + count);
        marked += count;
        changed = true;
    }

    synchronized void scanned(final int volumeIndex, final long blockEnd)
    {
        scannedBelow[volumeIndex] = blockEnd;
    }

    /** The pass is over: every block to ship is marked. */
    synchronized void scanEnded()
    {
        scanning = false;
        java.util.Arrays.fill(scannedBelow, Long.MAX_VALUE);
        completeIfDone();
    }

    /** Makes the marks durable (before the fingerprint table may record what the scan saw). */
    public synchronized void persist() throws IOException
    {
        if (!active || !changed)
        {
            return;
        }
        for (int i = 0; i < pending.length; i++)
        {
            BitmapFile.write(path(i), pending[i]);
        }
        changed = false;
        lastPersistMs = System.currentTimeMillis();
    }

    /** Blocks marked since start (including those a restart found still to ship). */
    public synchronized long markedBlocks()
    {
        return marked;
    }

    public synchronized long ackedBlocks()
    {
        return acked;
    }

    /** Blocks to ship or unacknowledged (a copy), for the failback report. */
    public synchronized BlockBitmap pending(final int volumeIndex)
    {
        return pending[volumeIndex].copy();
    }

    /** After failback the volumes equal the target: nothing is left to sync. */
    public synchronized void reset() throws IOException
    {
        for (int i = 0; i < pending.length; i++)
        {
            pending[i] = new BlockBitmap();
        }
        scanning = false;
        finish();
    }

    // ---------------------------------------------------------------- SyncSource (shipper, ack reader)

    @Override
    public int volumeCount()
    {
        return volumes.size();
    }

    @Override
    public int blockSize(final int volumeIndex)
    {
        return volumes.get(volumeIndex).spec().blockSize();
    }

    @Override
    public synchronized boolean nextRun(final int volumeIndex, final long fromBlock, final int maxBlocks, final long[] run)
    {
        if (!active)
        {
            return false;
        }
        final long limit = scannedBelow[volumeIndex];
        final long first = pending[volumeIndex].nextSet(fromBlock);
        if (first < 0 || first >= limit)
        {
            return false;
        }
        final long absent = pending[volumeIndex].nextAbsent(first);
        final long end = Math.min(Math.min(absent, limit), first + maxBlocks);
        run[0] = first;
        run[1] = end - first;
        return true;
    }

    @Override
    public void read(final int volumeIndex, final long firstBlock, final ByteBuffer dst) throws IOException
    {
        volumes.get(volumeIndex).channel().readBlocks(firstBlock, dst);
    }

    @Override
    public synchronized void acked(
        final int volumeIndex, final long firstBlock, final int count, final long[] fingerprints, final int offset)
    {
        // The scan left these entries alone (SyncSink): the table says what the target now holds. No
        // other writer runs during a sync (periodic scans and checkpoints wait for it).
        final FingerprintTable table = volumes.get(volumeIndex).table();
        for (int i = 0; i < count; i++)
        {
            table.set(firstBlock + i, fingerprints[offset + i]);
        }
        pending[volumeIndex].clearRange(firstBlock, firstBlock + count);
        acked += count;
        changed = true;
        if (!completeIfDone() && System.currentTimeMillis() - lastPersistMs >= PERSIST_INTERVAL_MS)
        {
            try
            {
                persist();
            }
            catch (final IOException ex)
            {
                // Only costs a resend after a crash: the file still lists the blocks.
                LOG.warn("could not persist the sync progress: {}", ex.getMessage());
            }
        }
    }

    @Override
    public synchronized boolean scanRunning()
    {
        return scanning;
    }

    @Override
    public boolean outstanding()
    {
        return active;
    }

    private boolean completeIfDone()
    {
        if (!active || scanning)
        {
            return false;
        }
        for (final BlockBitmap bits : pending)
        {
            if (!bits.isEmpty())
            {
                return false;
            }
        }
        try
        {
            finish();
        }
        catch (final IOException ex)
        {
            LOG.warn("could not remove {} after the sync: {}; it is removed at the next start", dir, ex.getMessage());
            return false;
        }
        LOG.info("bulk sync complete: {} blocks shipped from the volumes", acked);
        onComplete.run();
        return true;
    }

    private void finish() throws IOException
    {
        // The tables hold what the sync shipped: durable before the directory that vouches for them goes.
        for (final CaptureVolume volume : volumes)
        {
            volume.table().force();
        }
        active = false;
        if (Files.isDirectory(dir))
        {
            try (var files = Files.list(dir))
            {
                for (final Path file : (Iterable<Path>)files::iterator)
                {
                    Files.delete(file);
                }
            }
            Files.delete(dir);
            AtomicFiles.fsyncDirectory(dir.getParent());
        }
    }
}
