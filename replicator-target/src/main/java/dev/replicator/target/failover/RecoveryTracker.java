package dev.replicator.target.failover;

import dev.replicator.core.bitmap.BitmapFile;
import dev.replicator.core.bitmap.BlockBitmap;
import dev.replicator.core.scan.FingerprintScanner;
import dev.replicator.core.scan.FingerprintTable;
import dev.replicator.core.volume.VolumeChannel;
import dev.replicator.core.volume.VolumeSpec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Records every block written to a group's recovery volumes after failover: each volume's
 * fingerprints as produced from the image are kept in a {@link FingerprintTable}, a periodic scan
 * compares the volume against them, and changed blocks join a persisted "written since failover"
 * bitmap (durable before the table moves on, so a restart never forgets a write).
 *
 * <p>Thread-safe: scans are serialised on this object; the periodic scan runs on its own thread.
 */
public final class RecoveryTracker implements RecoveryVolumes
{
    private static final Logger LOG = LoggerFactory.getLogger(RecoveryTracker.class);
    private static final int RUN_BYTES = 256 * 1024;
    private static final int DURABLE_EVERY_BYTES = 64 * 1024 * 1024;

    private final String group;
    private final Path dir;
    private final List<VolumeSpec> specs;
    private final List<VolumeChannel> channels = new ArrayList<>();
    private final List<FingerprintTable> tables = new ArrayList<>();
    private final List<FingerprintScanner> scanners = new ArrayList<>();
    private final List<BlockBitmap> written = new ArrayList<>();
    private ScheduledExecutorService scheduler;

    private RecoveryTracker(final String group, final Path dir, final List<VolumeSpec> specs)
    {
        this.group = group;
        this.dir = dir;
        this.specs = specs;
    }

    public static Path tablePath(final Path failoverDir, final String volume)
    {
        return failoverDir.resolve(volume + ".fp");
    }

    static Path writtenPath(final Path failoverDir, final String volume)
    {
        return failoverDir.resolve(volume + ".written");
    }

    /** Opens the tracker over recovery volumes whose fingerprint tables failover already wrote. */
    public static RecoveryTracker open(
        final String group, final Path failoverDir, final List<VolumeSpec> specs, final List<Path> recoveryPaths)
        throws IOException
    {
        final RecoveryTracker tracker = new RecoveryTracker(group, failoverDir, specs);
        try
        {
            for (int i = 0; i < specs.size(); i++)
            {
                final VolumeSpec spec = specs.get(i);
                final VolumeChannel channel = VolumeChannel.openReadOnly(recoveryPaths.get(i), spec.blockSize());
                tracker.channels.add(channel);
                final FingerprintTable table = FingerprintTable.openOrCreate(
                    tablePath(failoverDir, spec.name()), spec.blockCount(), spec.blockSize());
                tracker.tables.add(table);
                tracker.scanners.add(new FingerprintScanner(channel, table, RUN_BYTES, DURABLE_EVERY_BYTES));
                tracker.written.add(BitmapFile.readOrEmpty(writtenPath(failoverDir, spec.name())));
            }
            return tracker;
        }
        catch (final IOException | RuntimeException ex)
        {
            tracker.close();
            throw ex;
        }
    }

    public void startPeriodicScans(final long intervalMs)
    {
        scheduler = Executors.newSingleThreadScheduledExecutor(r ->
        {
            final Thread thread = new Thread(r, "recovery-scan-" + group);
            thread.setDaemon(true);
            return thread;
        });
        scheduler.scheduleWithFixedDelay(() ->
        {
            try
            {
                final BlockBitmap[] delta = scanNow();
                long changed = 0;
                for (final BlockBitmap bits : delta)
                {
                    changed += bits.cardinality();
                }
                if (changed > 0)
                {
                    LOG.info("group={} recovery volumes: {} more blocks written since failover", group, changed);
                }
            }
            catch (final IOException | RuntimeException ex)
            {
                LOG.error("group={} recovery volume scan failed: {}", group, ex.getMessage());
            }
        }, intervalMs, intervalMs, TimeUnit.MILLISECONDS);
    }

    /** Scans every recovery volume now; returns, per volume, the blocks this scan found changed. */
    @Override
    public synchronized BlockBitmap[] scanNow() throws IOException
    {
        final BlockBitmap[] delta = new BlockBitmap[specs.size()];
        for (int i = 0; i < specs.size(); i++)
        {
            final BlockBitmap found = new BlockBitmap();
            final BlockBitmap all = written.get(i);
            final Path file = writtenPath(dir, specs.get(i).name());
            final int blockSize = specs.get(i).blockSize();
            scanners.get(i).scan(new FingerprintScanner.ChangeSink()
            {
                @Override
                public void onChangedRun(final long firstBlock, final ByteBuffer blocks, final int offset, final int length)
                {
                    found.setRange(firstBlock, firstBlock + length / blockSize);
                    all.setRange(firstBlock, firstBlock + length / blockSize);
                }

                @Override
                public void makeDurable() throws IOException
                {
                    BitmapFile.write(file, all);
                }
            });
            delta[i] = found;
        }
        return delta;
    }

    /** Blocks written on volume {@code index} since failover, as of the last scan. */
    @Override
    public synchronized BlockBitmap written(final int index)
    {
        return written.get(index).copy();
    }

    /** Fingerprint of a recovery block as of the last scan. */
    @Override
    public synchronized long fingerprint(final int index, final long block)
    {
        return tables.get(index).get(block);
    }

    public VolumeChannel channel(final int index)
    {
        return channels.get(index);
    }

    @Override
    public void readBlocks(final int index, final long firstBlock, final ByteBuffer dst) throws IOException
    {
        channels.get(index).readBlocks(firstBlock, dst);
    }

    @Override
    public String export()
    {
        return null;
    }

    @Override
    public synchronized void close()
    {
        if (scheduler != null)
        {
            scheduler.shutdownNow();
        }
        for (final FingerprintTable table : tables)
        {
            closeQuietly(table);
        }
        for (final VolumeChannel channel : channels)
        {
            closeQuietly(channel);
        }
    }

    private static void closeQuietly(final Closeable closeable)
    {
        try
        {
            closeable.close();
        }
        catch (final IOException ignore)
        {
            // Read-only handles: nothing to lose.
        }
    }
}
