package dev.replicator.agent.capture;

import dev.replicator.core.bitmap.BitmapFile;
import dev.replicator.core.bitmap.BlockBitmap;
import dev.replicator.core.journal.Journal;
import dev.replicator.core.journal.JournalEntryHandler;
import dev.replicator.core.journal.JournalReader;
import io.prometheus.metrics.core.metrics.Histogram;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.List;
import java.util.function.Supplier;

/**
 * Where every captured change goes. While the unshipped part of the journal is under its limit,
 * changes are journaled with their data. When the target has been gone so long that the journal
 * would exceed {@code maxUnshippedBytes}, the log switches to dirty-bitmap mode: it records only
 * which blocks changed (one bit a block, persisted), keeps the host running, and once the target
 * has caught up it journals those blocks' current content ({@link #resync()}) and returns to
 * journal mode. The history across the outage is coarser; no change is lost.
 *
 * <p>No checkpoint is journaled while dirty blocks are outstanding: an image without them would
 * claim a state the volume never had.
 *
 * <p>Thread-safe: every method is serialised on this object.
 */
public final class ChangeLog
{
    private static final Logger LOG = LoggerFactory.getLogger(ChangeLog.class);
    /** Unshipped bytes are counted from markers at most this far apart: the estimate errs high by at most this. */
    private static final long MARKER_SPACING_BYTES = 1 << 20;
    private static final int RESYNC_RUN_BLOCKS = 64;
    /** Write times are kept per span of writes at most this long: the oldest unacked age errs high by at most this. */
    private static final long SPAN_MS = 100;

    /** Where changes are going now. */
    public enum Mode
    {
        JOURNAL,
        BITMAP
    }

    private final Supplier<Journal> journal;
    private final List<CaptureVolume> volumes;
    private final Path dirtyDir;
    private final long maxUnshippedBytes;
    private final boolean syncJournal;
    private final String group;
    private final BlockBitmap[] dirty;
    private final ArrayDeque<long[]> markers = new ArrayDeque<>();
    private final Histogram appendSeconds = Histogram.builder()
        .name("replicator_agent_journal_append_seconds")
        .help("Time to append one captured write to the journal")
        .classicExponentialUpperBounds(0.000_001, 4, 12)
        .classicOnly()
        .build();
    /** {first seq, last seq, time of the first write} of unacknowledged writes, oldest first. */
    private final ArrayDeque<long[]> spans = new ArrayDeque<>();
    /** When bitmap mode began (its writes are not durable at the target either), or 0. */
    private long bitmapSinceMs;
    private boolean dirtyChanged;
    private long appendedBytes;
    private long ackedBytes;
    private long ackedSeq;
    private Mode mode = Mode.JOURNAL;
    /** While true no checkpoint is journaled (a bulk sync is still shipping blocks outside the journal). */
    private java.util.function.BooleanSupplier checkpointsHeld = () -> false;

    public ChangeLog(
        final String group,
        final Supplier<Journal> journal,
        final List<CaptureVolume> volumes,
        final Path dirtyDir,
        final long maxUnshippedBytes,
        final boolean syncJournal) throws IOException
    {
        this.group = group;
        this.journal = journal;
        this.volumes = volumes;
        this.dirtyDir = dirtyDir;
        this.maxUnshippedBytes = maxUnshippedBytes;
        this.syncJournal = syncJournal;
        this.dirty = new BlockBitmap[volumes.size()];
        long dirtyBlocks = 0;
        for (int i = 0; i < dirty.length; i++)
        {
            dirty[i] = BitmapFile.readOrEmpty(dirtyPath(i));
            dirtyBlocks += dirty[i].cardinality();
        }
        if (dirtyBlocks > 0)
        {
            mode = Mode.BITMAP;
            // When they were written is not recorded: the age counts from this start.
            bitmapSinceMs = System.currentTimeMillis();
            LOG.warn("group={} {} blocks were changed in dirty-bitmap mode before a restart; they are resynced when " +
                "the target catches up", group, dirtyBlocks);
        }
        countRetainedJournal();
    }

    private Path dirtyPath(final int volumeIndex)
    {
        return dirtyDir.resolve(volumes.get(volumeIndex).spec().name() + ".dirty");
    }

    /** After a restart the journal's retained entries count as unshipped until the target acks them. */
    private void countRetainedJournal()
    {
        final Journal j = journal.get();
        final long from = j.firstRetainedSeq() - 1;
        if (from >= j.lastSeq())
        {
            return;
        }
        try (JournalReader reader = j.reader(from))
        {
            final JournalEntryHandler counter = new JournalEntryHandler()
            {
                @Override
                public void onWrite(final long seq, final long timestampMs, final int volumeIndex, final long firstBlock,
                    final ByteBuffer payload)
                {
                    appended(seq, payload.remaining(), timestampMs);
                }

                @Override
                public void onCheckpoint(final long seq, final long timestampMs, final String label)
                {
                }

                @Override
                public void onTree(final long seq, final long timestampMs, final int treeIndex, final ByteBuffer payload)
                {
                    appended(seq, payload.remaining(), timestampMs);
                }
            };
            while (reader.poll(counter, 1024) > 0)
            {
                // Count the whole retained journal.
            }
        }
    }

    /**
     * Records a run of changed blocks: journaled with its data, or, in bitmap mode, only marked.
     *
     * @return the journal seq, or -1 if only marked.
     */
    public synchronized long recordRun(
        final int volumeIndex, final long firstBlock, final ByteBuffer src, final int offset, final int length)
    {
        if (mode == Mode.JOURNAL && unshippedBytes() + length > maxUnshippedBytes)
        {
            mode = Mode.BITMAP;
            bitmapSinceMs = System.currentTimeMillis();
            LOG.warn("group={} the journal holds {} unshipped bytes (limit {}): switching to dirty-bitmap mode; " +
                "changed blocks are tracked and resynced when the target catches up", group, unshippedBytes(),
                maxUnshippedBytes);
        }
        if (mode == Mode.BITMAP)
        {
            final int blockSize = volumes.get(volumeIndex).spec().blockSize();
            dirty[volumeIndex].setRange(firstBlock, firstBlock + length / blockSize);
            dirtyChanged = true;
            return -1;
        }
        final long startNs = System.nanoTime();
        final long seq = journal.get().appendWrite(volumeIndex, firstBlock, src, offset, length);
        appendSeconds.observe((System.nanoTime() - startNs) / 1e9);
        appended(seq, length, System.currentTimeMillis());
        return seq;
    }

    private void appended(final long seq, final long bytes, final long timeMs)
    {
        final long[] span = spans.peekLast();
        if (span == null || timeMs - span[2] >= SPAN_MS)
        {
            spans.addLast(new long[] {seq, seq, timeMs});
        }
        else
        {
            span[1] = seq;
        }
        appendedBytes += bytes;
        final long[] last = markers.peekLast();
        if (last == null || appendedBytes - last[1] >= MARKER_SPACING_BYTES)
        {
            markers.addLast(new long[] {seq, appendedBytes});
        }
        else
        {
            last[0] = seq;
            last[1] = appendedBytes;
        }
    }

    /** Makes everything recorded so far durable: the journal, and the dirty bitmaps if they changed. */
    public synchronized void makeDurable() throws IOException
    {
        if (syncJournal)
        {
            journal.get().sync();
        }
        persistDirty();
    }

    /**
     * Makes everything recorded so far durable whatever the journal.sync policy: a host's flush
     * through the NBD front end is a promise that its writes survive a power loss.
     */
    public synchronized void sync() throws IOException
    {
        journal.get().sync();
        persistDirty();
    }

    private void persistDirty() throws IOException
    {
        if (!dirtyChanged)
        {
            return;
        }
        Files.createDirectories(dirtyDir);
        for (int i = 0; i < dirty.length; i++)
        {
            BitmapFile.write(dirtyPath(i), dirty[i]);
        }
        dirtyChanged = false;
    }

    /**
     * Journals a checkpoint, unless dirty blocks are outstanding.
     *
     * @return its seq, or -1 if none was taken.
     */
    public synchronized long checkpoint(final long timestampMs, final String label) throws IOException
    {
        return checkpoint(timestampMs, label, 0);
    }

    /** As {@link #checkpoint(long, String)}, with the journal entry's checkpoint flags. */
    public synchronized long checkpoint(final long timestampMs, final String label, final long flags)
        throws IOException
    {
        if (mode == Mode.BITMAP || checkpointsHeld.getAsBoolean())
        {
            makeDurable();
            return -1;
        }
        final long seq = journal.get().appendCheckpoint(timestampMs, label, flags);
        makeDurable();
        return seq;
    }

    /** No checkpoint is journaled while {@code held} says so (a bulk sync in progress). */
    public synchronized void holdCheckpointsWhile(final java.util.function.BooleanSupplier held)
    {
        this.checkpointsHeld = held;
    }

    /** The target holds everything up to {@code seq}. */
    public synchronized void onAcked(final long seq)
    {
        if (seq <= ackedSeq)
        {
            return;
        }
        ackedSeq = seq;
        while (!markers.isEmpty() && markers.peekFirst()[0] <= seq)
        {
            ackedBytes = markers.pollFirst()[1];
        }
        while (!spans.isEmpty() && spans.peekFirst()[1] <= seq)
        {
            spans.pollFirst();
        }
    }

    /**
     * Age of the oldest change not yet durable at the target: the oldest unacknowledged journaled
     * write, or the start of bitmap mode, whichever is older (the RPO lag as the agent sees it).
     *
     * @return milliseconds, 0 if every change is durable at the target.
     */
    public synchronized long oldestUnackedAgeMs(final long nowMs)
    {
        long oldestMs = Long.MAX_VALUE;
        final long[] span = spans.peekFirst();
        if (span != null)
        {
            oldestMs = span[2];
        }
        if (mode == Mode.BITMAP && bitmapSinceMs > 0)
        {
            oldestMs = Math.min(oldestMs, bitmapSinceMs);
        }
        return oldestMs == Long.MAX_VALUE ? 0 : Math.max(0, nowMs - oldestMs);
    }

    /** Journal append latency (exported by the agent's metrics endpoint). */
    public Histogram appendSeconds()
    {
        return appendSeconds;
    }

    /** The unshipped journal size beyond which changes are only marked in the bitmap. */
    public long maxUnshippedBytes()
    {
        return maxUnshippedBytes;
    }

    /** Bytes of the blocks marked in bitmap mode. */
    public synchronized long dirtyBytes()
    {
        long bytes = 0;
        for (int v = 0; v < dirty.length; v++)
        {
            bytes += dirty[v].cardinality() * volumes.get(v).spec().blockSize();
        }
        return bytes;
    }

    /** Bytes journaled that the target has not acknowledged (an estimate that errs high by at most 1 MiB). */
    public synchronized long unshippedBytes()
    {
        return appendedBytes - ackedBytes;
    }

    public synchronized Mode mode()
    {
        return mode;
    }

    public synchronized long dirtyBlocks()
    {
        long blocks = 0;
        for (final BlockBitmap bits : dirty)
        {
            blocks += bits.cardinality();
        }
        return blocks;
    }

    /** Blocks of a volume changed in bitmap mode and not yet journaled (a copy). */
    public synchronized BlockBitmap dirty(final int volumeIndex)
    {
        return dirty[volumeIndex].copy();
    }

    /**
     * In bitmap mode, once the target has caught up (the journal is under half its limit), journals
     * the current content of every dirty block, makes it durable, then clears the bitmaps and
     * returns to journal mode.
     *
     * @return blocks resynced (0 if not yet possible or nothing to do).
     */
    public synchronized long resync() throws IOException
    {
        if (mode != Mode.BITMAP || unshippedBytes() > maxUnshippedBytes / 2)
        {
            return 0;
        }
        long blocks = 0;
        for (int v = 0; v < dirty.length; v++)
        {
            blocks += resyncVolume(v);
        }
        if (syncJournal)
        {
            journal.get().sync();
        }
        // Journaled and durable: only now may the bitmaps forget.
        for (int v = 0; v < dirty.length; v++)
        {
            dirty[v] = new BlockBitmap();
        }
        dirtyChanged = true;
        persistDirty();
        mode = Mode.JOURNAL;
        bitmapSinceMs = 0;
        LOG.info("group={} resynced {} blocks changed in dirty-bitmap mode; back to journal mode", group, blocks);
        return blocks;
    }

    private long resyncVolume(final int v) throws IOException
    {
        final CaptureVolume volume = volumes.get(v);
        final int blockSize = volume.spec().blockSize();
        final ByteBuffer buffer = ByteBuffer.allocateDirect(RESYNC_RUN_BLOCKS * blockSize);
        final BlockBitmap.Cursor cursor = dirty[v].cursor();
        long blocks = 0;
        long runStart = -1;
        int runLength = 0;
        while (true)
        {
            final long next = cursor.hasNext() ? cursor.next() : -1;
            if (runStart >= 0 && (next != runStart + runLength || runLength == RESYNC_RUN_BLOCKS))
            {
                buffer.clear().limit(runLength * blockSize);
                volume.channel().readBlocks(runStart, buffer);
                final long seq = journal.get().appendWrite(v, runStart, buffer, 0, runLength * blockSize);
                // These blocks were written during bitmap mode: their age counts from its start.
                appended(seq, (long)runLength * blockSize,
                    bitmapSinceMs > 0 ? bitmapSinceMs : System.currentTimeMillis());
                blocks += runLength;
                runStart = -1;
                runLength = 0;
            }
            if (next < 0)
            {
                return blocks;
            }
            if (runStart < 0)
            {
                runStart = next;
            }
            runLength++;
        }
    }

    /** After failback the volumes equal the target: nothing is dirty, the new journal is empty. */
    public synchronized void reset() throws IOException
    {
        for (int v = 0; v < dirty.length; v++)
        {
            dirty[v] = new BlockBitmap();
        }
        dirtyChanged = true;
        persistDirty();
        markers.clear();
        spans.clear();
        bitmapSinceMs = 0;
        appendedBytes = 0;
        ackedBytes = 0;
        ackedSeq = journal.get().lastSeq();
        mode = Mode.JOURNAL;
    }
}
