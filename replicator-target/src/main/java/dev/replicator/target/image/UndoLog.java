package dev.replicator.target.image;

import dev.replicator.core.bitmap.BlockBitmap;
import dev.replicator.core.io.AtomicFiles;
import dev.replicator.core.volume.VolumeSpec;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * The undo segments of a group and the current checkpoint interval: which blocks were already written
 * since the last checkpoint (so need no further undo record), appending and publishing records, and
 * dropping old segments for retention.
 *
 * <p>Single writer (the store's writer thread) for everything that appends or changes the interval.
 * The segment map, the published lengths, the publish version, the first retained seq and the record
 * counts of sealed segments are shared with image views: the writer changes them under the store's
 * write lock, readers read them under its read lock ({@link #segmentsFrom}, {@link #publishVersion},
 * {@link #firstRetainedSeq}, {@link #sealedRecordCount}).
 *
 * <p>A sealed segment (of an interval a later checkpoint ended) holds one record per block written in
 * its interval, which is the later checkpoint's "blocks changed" in the catalog. Views check that count
 * when they have read a sealed segment: a segment cut at a record boundary would otherwise read as
 * whole and lay too few records over the replica.
 */
final class UndoLog implements Closeable
{
    static final int STAGING_LENGTH_BYTES = 1 << 20;

    private final StoreLayout layout;
    private final List<VolumeSpec> volumes;
    private final ReentrantReadWriteLock lock;
    private final TreeMap<Long, UndoSegment> segments = new TreeMap<>();
    /** Base seq of a sealed interval -> records its segment must hold. */
    private final TreeMap<Long, Long> sealedRecordCounts = new TreeMap<>();
    private final BlockBitmap[] writtenInInterval;
    private final UndoAppender appender;
    private long currentBaseSeq;
    private UndoSegment current;
    private long firstRetainedSeq;
    private long publishVersion;
    private long recordsAppended;
    private long recordsRecovered;

    private UndoLog(
        final StoreLayout layout,
        final List<VolumeSpec> volumes,
        final ReentrantReadWriteLock lock,
        final long currentBaseSeq,
        final long firstRetainedSeq)
    {
        this.layout = layout;
        this.volumes = volumes;
        this.lock = lock;
        this.currentBaseSeq = currentBaseSeq;
        this.firstRetainedSeq = firstRetainedSeq;
        this.writtenInInterval = new BlockBitmap[volumes.size()];
        for (int i = 0; i < writtenInInterval.length; i++)
        {
            writtenInInterval[i] = new BlockBitmap();
        }
        final int maxRecord = UndoSegment.scanWindowLength(volumes) / 2;
        this.appender = new UndoAppender(Math.max(STAGING_LENGTH_BYTES, maxRecord));
    }

    /**
     * Opens the segments of a group after a clean shutdown or a crash: finishes an interrupted
     * retention, truncates the torn tail of the current interval's segment and rebuilds from it the
     * blocks written in the current interval.
     *
     * @param latestCheckpointSeq newest checkpoint in the catalog, 0 if none: the current interval.
     * @param firstRetainedSeq    segments below it are deleted.
     * @param committedBaseSeq    the interval of the last commit ({@code store.state}), or
     *                            {@link StateFileDescriptor#UNKNOWN}.
     * @param committedLength     bytes of that interval's segment the replicas depend on, or
     *                            {@link StateFileDescriptor#UNKNOWN}.
     * @param checkpoints         the catalog, oldest first: each checkpoint's blocks changed is the
     *                            record count of the segment of the interval before it.
     * @throws ImageStoreException if a segment lost records the replicas depend on.
     */
    static UndoLog open(
        final StoreLayout layout,
        final List<VolumeSpec> volumes,
        final ReentrantReadWriteLock lock,
        final long latestCheckpointSeq,
        final long firstRetainedSeq,
        final long committedBaseSeq,
        final long committedLength,
        final List<Checkpoint> checkpoints) throws IOException
    {
        final UndoLog log = new UndoLog(layout, volumes, lock, latestCheckpointSeq, firstRetainedSeq);
        for (int i = 1; i < checkpoints.size(); i++)
        {
            final long base = checkpoints.get(i - 1).seq();
            if (base >= firstRetainedSeq)
            {
                log.sealedRecordCounts.put(base, checkpoints.get(i).blocksChanged());
            }
        }
        try
        {
            log.recover(committedBaseSeq, committedLength);
            return log;
        }
        catch (final IOException | RuntimeException ex)
        {
            Closeables.closeQuietly(log, ex);
            throw ex;
        }
    }

    private void recover(final long committedBaseSeq, final long committedLength) throws IOException
    {
        final Path dir = layout.undoDir();
        Files.createDirectories(dir);
        final List<Long> bases = new ArrayList<>();
        boolean deleted = false;
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir))
        {
            for (final Path file : files)
            {
                final String name = file.getFileName().toString();
                final long base = StoreLayout.parseUndoSegmentName(name);
                if (base < 0)
                {
                    if (name.endsWith(StoreLayout.UNDO_SUFFIX + ".tmp"))
                    {
                        // A segment whose creation a crash interrupted: it never held a record.
                        Files.delete(file);
                        deleted = true;
                    }
                    continue;
                }
                if (base < firstRetainedSeq)
                {
                    // Retention persisted its new first seq and crashed before deleting all its files.
                    Files.delete(file);
                    deleted = true;
                    continue;
                }
                if (base > currentBaseSeq)
                {
                    throw new ImageStoreException("undo segment " + file + " belongs to checkpoint seq " + base +
                        ", which the checkpoint catalog " + layout.catalog() + " does not hold (its newest is " +
                        currentBaseSeq + "); the catalog is damaged");
                }
                bases.add(base);
            }
        }
        if (deleted)
        {
            AtomicFiles.fsyncDirectory(dir);
        }
        bases.sort(null);
        // The segment the last commit depended on (its replica writes overwrote what it keeps) must be
        // there and at least as long as it was then.
        final long requiredLength = committedLength > UndoSegmentDescriptor.HEADER_LENGTH ? committedLength : 0;
        for (final Map.Entry<Long, Long> sealed : sealedRecordCounts.entrySet())
        {
            if (sealed.getValue() > 0 && !bases.contains(sealed.getKey()))
            {
                throw new ImageStoreException("undo segment " + layout.undoSegment(sealed.getKey()) + " is missing, " +
                    "but the catalog records " + sealed.getValue() + " blocks changed in its interval; images of " +
                    "checkpoints up to seq " + sealed.getKey() + " cannot be produced; the group must be " +
                    "resynchronised");
            }
        }
        if (requiredLength > 0 && committedBaseSeq >= firstRetainedSeq && !bases.contains(committedBaseSeq))
        {
            throw new ImageStoreException("undo segment " + layout.undoSegment(committedBaseSeq) + " is missing, " +
                "but the replicas depend on " + committedLength + " bytes of it (" + layout.stateFile() + "); " +
                "images of checkpoints up to seq " + committedBaseSeq + " cannot be produced; the group must be " +
                "resynchronised");
        }
        for (int i = 0; i < bases.size(); i++)
        {
            final long base = bases.get(i);
            final boolean isCurrent = base == currentBaseSeq;
            final UndoSegment segment = UndoSegment.open(layout.undoSegment(base), base, volumes, isCurrent);
            segments.put(base, segment);
            if (!isCurrent && base == committedBaseSeq && segment.publishedLength() < requiredLength)
            {
                throw new ImageStoreException("undo segment " + segment.path() + " has " +
                    segment.publishedLength() + " bytes, but the replicas depend on " + committedLength +
                    " bytes of it (" + layout.stateFile() + "); images of checkpoints up to seq " + base +
                    " cannot be produced exactly; the group must be resynchronised");
            }
            if (isCurrent)
            {
                // Records with a seq above the durable lastSeq stay: each holds its block's content as of
                // the checkpoint, and the replica may already hold the overwrite (undo is made durable
                // before the replica write, and the crash may have come anywhere after). The agent
                // resends those writes; marking the blocks written here keeps the resend from recording
                // the overwritten content as checkpoint content.
                final ByteBuffer window = ByteBuffer.allocateDirect(UndoSegment.scanWindowLength(volumes));
                recordsRecovered = segment.recoverTail(
                    window, (position, seq, volumeIndex, blockIndex) -> writtenInInterval[volumeIndex].set(blockIndex),
                    base == committedBaseSeq ? requiredLength : 0);
                current = segment;
                appender.attach(segment);
            }
        }
    }

    /** True once the group has a checkpoint: from then on, first overwrites need undo records. */
    boolean hasCheckpoint()
    {
        return currentBaseSeq != 0;
    }

    long currentBaseSeq()
    {
        return currentBaseSeq;
    }

    /** Bytes of the current interval's segment that are durable and published; 0 if it has none yet. */
    long durableLength()
    {
        return current == null ? 0 : current.publishedLength();
    }

    /**
     * Marks a block written in the current interval.
     *
     * @return true if it is the block's first write in the interval.
     */
    boolean markWritten(final int volumeIndex, final long blockIndex)
    {
        final BlockBitmap written = writtenInInterval[volumeIndex];
        if (written.get(blockIndex))
        {
            return false;
        }
        written.set(blockIndex);
        return true;
    }

    /** Distinct blocks written in the current interval, over all volumes. */
    long blocksWrittenInInterval()
    {
        long total = 0;
        for (int i = 0; i < writtenInInterval.length; i++)
        {
            total += writtenInInterval[i].cardinality();
        }
        return total;
    }

    /**
     * Stages an undo record for the current interval, creating its segment on the first one. Not
     * visible to readers nor durable until {@link #forceAndPublish()}.
     */
    void append(
        final long seq, final int volumeIndex, final long blockIndex, final ByteBuffer oldContent, final int offset)
        throws IOException
    {
        if (current == null)
        {
            final UndoSegment created = UndoSegment.create(layout.undoSegment(currentBaseSeq), currentBaseSeq, volumes);
            lock.writeLock().lock();
            try
            {
                segments.put(currentBaseSeq, created);
                publishVersion++;
            }
            finally
            {
                lock.writeLock().unlock();
            }
            current = created;
            appender.attach(created);
        }
        appender.append(seq, volumeIndex, blockIndex, oldContent, offset, volumes.get(volumeIndex).blockSize());
        recordsAppended++;
    }

    /** Writes and fsyncs the staged records, then lets readers see them. */
    void forceAndPublish() throws IOException
    {
        if (current == null)
        {
            return;
        }
        appender.flush();
        appender.force();
        final long end = appender.endPosition();
        if (end == current.publishedLength())
        {
            return;
        }
        lock.writeLock().lock();
        try
        {
            current.publish(end);
            publishVersion++;
        }
        finally
        {
            lock.writeLock().unlock();
        }
    }

    /**
     * A checkpoint is durable in the catalog, with the blocks written in the interval it ends: its
     * interval starts; its segment is made on first need.
     */
    void startInterval(final long checkpointSeq)
    {
        if (currentBaseSeq != 0)
        {
            lock.writeLock().lock();
            try
            {
                sealedRecordCounts.put(currentBaseSeq, blocksWrittenInInterval());
            }
            finally
            {
                lock.writeLock().unlock();
            }
        }
        current = null;
        appender.detach();
        currentBaseSeq = checkpointSeq;
        for (int i = 0; i < writtenInInterval.length; i++)
        {
            writtenInInterval[i] = new BlockBitmap();
        }
    }

    /**
     * Retention: forgets and deletes every segment with a base below {@code newFirstRetainedSeq}. The
     * caller has already made the new first retained seq durable, so a crash here is finished on open.
     */
    void dropBefore(final long newFirstRetainedSeq) throws IOException
    {
        final List<UndoSegment> dropped = new ArrayList<>();
        lock.writeLock().lock();
        try
        {
            firstRetainedSeq = newFirstRetainedSeq;
            sealedRecordCounts.headMap(newFirstRetainedSeq, false).clear();
            final NavigableMap<Long, UndoSegment> head = segments.headMap(newFirstRetainedSeq, false);
            dropped.addAll(head.values());
            head.clear();
            publishVersion++;
        }
        finally
        {
            lock.writeLock().unlock();
        }
        for (int i = 0; i < dropped.size(); i++)
        {
            final UndoSegment segment = dropped.get(i);
            segment.close();
            Files.deleteIfExists(segment.path());
        }
        if (!dropped.isEmpty())
        {
            AtomicFiles.fsyncDirectory(layout.undoDir());
        }
    }

    /** Segments with a base at or above {@code baseSeq}, oldest first. Caller holds the read lock. */
    NavigableMap<Long, UndoSegment> segmentsFrom(final long baseSeq)
    {
        return segments.tailMap(baseSeq, true);
    }

    /** Changes whenever readers have something new to see. Caller holds the read lock. */
    long publishVersion()
    {
        return publishVersion;
    }

    /** Caller holds the read lock. */
    long firstRetainedSeq()
    {
        return firstRetainedSeq;
    }

    /**
     * Records the segment of the interval starting at {@code baseSeq} must hold, or -1 while that
     * interval is the current one (or unknown). Caller holds the read lock.
     */
    long sealedRecordCount(final long baseSeq)
    {
        final Long count = sealedRecordCounts.get(baseSeq);
        return count == null ? -1 : count;
    }

    List<VolumeSpec> volumes()
    {
        return volumes;
    }

    long recordsAppended()
    {
        return recordsAppended;
    }

    long recordsRecovered()
    {
        return recordsRecovered;
    }

    @Override
    public void close() throws IOException
    {
        IOException failure = null;
        for (final Map.Entry<Long, UndoSegment> entry : segments.entrySet())
        {
            try
            {
                entry.getValue().close();
            }
            catch (final IOException ex)
            {
                if (failure == null)
                {
                    failure = ex;
                }
                else
                {
                    failure.addSuppressed(ex);
                }
            }
        }
        if (failure != null)
        {
            throw failure;
        }
    }
}
