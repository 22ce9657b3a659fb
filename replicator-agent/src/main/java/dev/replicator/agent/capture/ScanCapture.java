package dev.replicator.agent.capture;

import dev.replicator.core.scan.FingerprintScanner;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.function.LongSupplier;

/**
 * Scan mode: fingerprints every block of every volume of the group and records the blocks whose
 * fingerprint changed in the {@link ChangeLog}; the first scan of a new agent is the initial sync (blocks still all-zero
 * match the fresh table and never travel). A checkpoint follows each scan that found changes, and
 * every requested one.
 *
 * <p>Thread-safe: scans, checkpoints and pauses are serialised on a private lock. {@link #resume()}
 * and the figures never take it: a scan of a big volume takes seconds, and the shipper's session
 * thread (welcome, heartbeat stats) must never wait for one, or the target's read deadline closes
 * the session and the agent reconnects over and over.
 */
public final class ScanCapture
{
    private final ChangeLog changeLog;
    private final List<CaptureVolume> volumes;
    private final Object scanLock = new Object();
    private volatile boolean paused;
    private volatile long scans;
    private volatile long lastScanChangedBlocks;
    private volatile long lastScanEndMs;
    private volatile long lastCheckpointSeq;
    private volatile Runnable scanStartHook;

    public ScanCapture(final ChangeLog changeLog, final List<CaptureVolume> volumes)
    {
        this.changeLog = changeLog;
        this.volumes = volumes;
    }

    /**
     * Scans all volumes and journals a checkpoint if anything changed or a label is given.
     *
     * @param label the checkpoint's label; null for a periodic scan (checkpoint only if changed).
     * @return the checkpoint's seq, or -1 if none was taken (no change, or capture is paused).
     */
    public long scanAndCheckpoint(final String label) throws IOException
    {
        return scanAndCheckpoint(label, () -> 0);
    }

    /**
     * As {@link #scanAndCheckpoint(String)}; {@code flagsAfterScan} is asked, once the scan has
     * journaled what changed, for the checkpoint's flags (whether the application was quiesced throughout).
     */
    public long scanAndCheckpoint(final String label, final LongSupplier flagsAfterScan)
        throws IOException
    {
        synchronized (scanLock)
        {
            return scanAndCheckpointLocked(label, flagsAfterScan);
        }
    }

    private long scanAndCheckpointLocked(final String label, final LongSupplier flagsAfterScan) throws IOException
    {
        if (paused)
        {
            return -1;
        }
        final Runnable hook = scanStartHook;
        if (hook != null)
        {
            hook.run();
        }
        long changed = 0;
        for (final CaptureVolume volume : volumes)
        {
            changed += volume.scanner().scan(new JournalSink(volume.index()));
        }
        scans++;
        lastScanChangedBlocks = changed;
        lastScanEndMs = System.currentTimeMillis();
        if (changed == 0 && label == null)
        {
            return -1;
        }
        final long seq = changeLog.checkpoint(lastScanEndMs, label == null ? "scan" : label,
            flagsAfterScan.getAsLong());
        if (seq > 0)
        {
            lastCheckpointSeq = seq;
        }
        return seq;
    }

    /**
     * The bulk sync's scan: fingerprints every volume (skipping holes), marks the blocks that differ
     * from the table in {@code sync} instead of journaling them, and lets the shipper stream each part
     * as soon as it is scanned. No checkpoint: the target's first image follows the whole sync.
     *
     * @return the blocks marked, or -1 if capture is paused.
     */
    public long syncScan(final BulkSync sync) throws IOException
    {
        synchronized (scanLock)
        {
            if (paused)
            {
                return -1;
            }
            final Runnable hook = scanStartHook;
            if (hook != null)
            {
                hook.run();
            }
            sync.scanStarted();
            long changed = 0;
            for (final CaptureVolume volume : volumes)
            {
                changed += volume.scanner().scan(new SyncSink(sync, volume));
            }
            sync.scanEnded();
            scans++;
            lastScanChangedBlocks = changed;
            lastScanEndMs = System.currentTimeMillis();
            return changed;
        }
    }

    /** Stops capture (a demoted primary must not journal what failback writes); waits for a running scan. */
    public void pause()
    {
        synchronized (scanLock)
        {
            paused = true;
        }
    }

    /**
     * Lets the next scan capture again. Never waits: a running scan started unpaused (a paused one
     * journals nothing), so there is nothing to wait for.
     */
    public void resume()
    {
        paused = false;
    }

    /** Test hook: run inside every scan before the volumes are read (lets a test keep a scan running). */
    public void scanStartHook(final Runnable hook)
    {
        scanStartHook = hook;
    }

    public boolean isPaused()
    {
        return paused;
    }

    public long scans()
    {
        return scans;
    }

    public long lastScanChangedBlocks()
    {
        return lastScanChangedBlocks;
    }

    public long lastScanEndMs()
    {
        return lastScanEndMs;
    }

    public long lastCheckpointSeq()
    {
        return lastCheckpointSeq;
    }

    private static final class SyncSink implements FingerprintScanner.ChangeSink
    {
        private final BulkSync sync;
        private final int volumeIndex;
        private final int blockSize;

        SyncSink(final BulkSync sync, final CaptureVolume volume)
        {
            this.sync = sync;
            this.volumeIndex = volume.index();
            this.blockSize = volume.spec().blockSize();
        }

        @Override
        public void onChangedRun(final long firstBlock, final ByteBuffer blocks, final int offset, final int length)
        {
            sync.mark(volumeIndex, firstBlock, length / blockSize);
        }

        @Override
        public void onScanned(final long blockEnd)
        {
            sync.scanned(volumeIndex, blockEnd);
        }

        /**
         * The table must hold what the target has: the shipper reads a block later than the scan, so
         * it records what it shipped once the target acknowledges it (a block that went back to what
         * the scan saw after shipping would otherwise look unchanged for ever).
         */
        @Override
        public boolean recordsInTable()
        {
            return false;
        }

        @Override
        public void makeDurable() throws IOException
        {
            sync.persist();
        }
    }

    private final class JournalSink implements FingerprintScanner.ChangeSink
    {
        private final int volumeIndex;

        JournalSink(final int volumeIndex)
        {
            this.volumeIndex = volumeIndex;
        }

        @Override
        public void onChangedRun(final long firstBlock, final ByteBuffer blocks, final int offset, final int length)
        {
            changeLog.recordRun(volumeIndex, firstBlock, blocks, offset, length);
        }

        @Override
        public void makeDurable() throws IOException
        {
            changeLog.makeDurable();
        }
    }
}
