package dev.replicator.target.image;

import dev.replicator.core.io.AtomicFiles;
import dev.replicator.core.volume.VolumeSpec;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * The target's image store for one group: a replica file per volume that always holds the newest
 * content, an undo log that keeps what the checkpoints need, and the checkpoint catalog. An image of
 * checkpoint s is the replica with, for each block overwritten since s, the content saved by the first
 * overwrite after s laid back over it; building it costs time in proportion to the blocks changed since
 * s, not to the volume size.
 *
 * <p>Undo is recorded only for the first write of a block after each checkpoint (then it holds the
 * block as of that checkpoint), and not at all before the first checkpoint, so the initial sync writes
 * the replicas alone.
 *
 * <p>Write ordering of {@link #commit} for the blocks received since the last commit: (1) for each
 * block's first write in the interval, read its content from the replica and append an undo record;
 * (2) fsync the undo segment; (3) write the blocks to the replicas; (4) fsync them; (5) write lastSeq to
 * the state file and fsync it. {@link #addCheckpoint} first does (1)-(5) for what it follows, then makes
 * the checkpoint durable in the catalog, then starts the next interval: an undo record of an interval
 * exists only if the interval's checkpoint is durable.
 *
 * <p>Threads: one writer at a time calls {@link #applyBlock}, {@link #addCheckpoint}, {@link #commit},
 * {@link #retainLast} and {@link #close} (the caller serialises them, for example with the group's lock:
 * the receiver and admin commands). The readers - {@link #lastSeq}, {@link #checkpoints},
 * {@link #checkpoint}, {@link #openImage}, {@link #openLatest} and the views' methods - may run on any
 * thread, also while the writer works: an image of a checkpoint stays byte-exact while replication goes
 * on. {@link #openLatest} is the live replica, consistent only while no writer runs.
 *
 * <p>Resends are harmless: writes at or below {@link #lastSeq()} and checkpoints at or below the newest
 * are skipped, and a write resent after a crash makes no second undo record. After an I/O failure of
 * the writer the store refuses further writes; close and reopen it, which recovers from the files as
 * after a crash.
 */
public final class ImageStore implements Closeable
{
    /** lastSeq before anything is durable; real seqs start at 1. */
    public static final long NO_SEQ = 0;
    /** Pending writes beyond this are written to the replicas early, so a huge batch cannot exhaust memory. */
    static final int PENDING_LIMIT_BYTES = 64 << 20;

    private final StoreLayout layout;
    private final List<VolumeSpec> volumes;
    private final ReentrantReadWriteLock lock;
    private final ReplicaSet replicas;
    private final StateFile state;
    private final CheckpointCatalog catalog;
    private final UndoLog undoLog;
    private final PendingWrites pending = new PendingWrites();
    private final ByteBuffer oldBlock;
    private final boolean[] touched;
    private volatile long lastSeq;
    private volatile List<Checkpoint> allCheckpoints;
    private volatile List<Checkpoint> retainedCheckpoints;
    private volatile boolean closed;
    private long duplicateWritesSkipped;
    private Throwable failure;
    private WriteStageHook hook = WriteStageHook.NONE;

    private ImageStore(
        final StoreLayout layout,
        final List<VolumeSpec> volumes,
        final ReentrantReadWriteLock lock,
        final ReplicaSet replicas,
        final StateFile state,
        final CheckpointCatalog catalog,
        final UndoLog undoLog)
    {
        this.layout = layout;
        this.volumes = volumes;
        this.lock = lock;
        this.replicas = replicas;
        this.state = state;
        this.catalog = catalog;
        this.undoLog = undoLog;
        this.oldBlock = ByteBuffer.allocateDirect(maxBlockSize(volumes));
        this.touched = new boolean[volumes.size()];
        this.lastSeq = state.lastSeq();
        publishCheckpoints();
    }

    /**
     * Opens the store of a group, creating it (sparse replicas of the volumes' sizes) on first use and
     * recovering from a crash otherwise.
     *
     * @throws GroupMismatchException if {@code volumes} differ from the ones the store was created with.
     * @throws ImageStoreException    if a store file is damaged beyond a torn tail.
     */
    public static ImageStore open(final Path groupDir, final List<VolumeSpec> volumes) throws IOException
    {
        Objects.requireNonNull(groupDir, "groupDir");
        // No block volumes is a group of tree volumes only: the store then keeps the catalog and seqs.
        final List<VolumeSpec> specs = List.copyOf(volumes);
        final Set<String> names = new HashSet<>();
        for (int i = 0; i < specs.size(); i++)
        {
            if (!names.add(specs.get(i).name()))
            {
                throw new IllegalArgumentException("volume name '" + specs.get(i).name() + "' appears twice in the group");
            }
        }
        final StoreLayout layout = new StoreLayout(groupDir);
        if (Files.exists(layout.manifest()))
        {
            VolumeManifest.validate(layout.manifest(), specs);
        }
        else
        {
            initialize(layout, specs);
        }
        ReplicaSet replicas = null;
        StateFile state = null;
        CheckpointCatalog catalog = null;
        try
        {
            replicas = ReplicaSet.open(layout, specs);
            state = StateFile.openOrCreate(layout.stateFile());
            catalog = CheckpointCatalog.openOrCreate(layout.catalog());
            checkCatalogHoldsTheCommittedInterval(layout, state, catalog);
            final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
            final UndoLog undoLog = UndoLog.open(layout, specs, lock, catalog.latestSeq(), state.firstRetainedSeq(),
                state.undoBaseSeq(), state.undoLength(), catalog.checkpoints());
            catalog.truncateTornTail();
            return new ImageStore(layout, specs, lock, replicas, state, catalog, undoLog);
        }
        catch (final IOException | RuntimeException ex)
        {
            Closeables.closeQuietly(catalog, ex);
            Closeables.closeQuietly(state, ex);
            Closeables.closeQuietly(replicas, ex);
            throw ex;
        }
    }

    /**
     * A checkpoint record torn by a crash was never followed by a commit (its commit writes the state
     * after the record is durable), so the state names an interval the catalog still holds. If the
     * catalog ends before that interval's checkpoint, records a commit followed are unreadable: damage,
     * not a torn tail. Truncating them would lose checkpoints the agent will not resend (they are at or
     * below lastSeq), so the store refuses and leaves the file as it is.
     */
    private static void checkCatalogHoldsTheCommittedInterval(
        final StoreLayout layout, final StateFile state, final CheckpointCatalog catalog)
    {
        final long committedBase = state.undoBaseSeq();
        if (committedBase != StateFileDescriptor.UNKNOWN && committedBase > catalog.latestSeq())
        {
            throw new ImageStoreException("checkpoint catalog " + layout.catalog() + " is damaged: its readable " +
                "records end at checkpoint seq " + catalog.latestSeq() + " (" + catalog.invalidTailBytes() +
                " bytes after them are not valid records), but writes after checkpoint seq " + committedBase +
                " were committed (" + layout.stateFile() + "); the file was left as it is; the group must be " +
                "resynchronised");
        }
    }

    /**
     * Creates the files of a new store; the manifest comes last, so its presence means a complete store.
     * A directory without a manifest is only re-created if it never made anything durable.
     */
    private static void initialize(final StoreLayout layout, final List<VolumeSpec> volumes) throws IOException
    {
        Files.createDirectories(layout.groupDir());
        boolean hasData = false;
        if (Files.exists(layout.stateFile()))
        {
            try (StateFile existing = StateFile.openOrCreate(layout.stateFile()))
            {
                hasData = existing.lastSeq() != NO_SEQ;
            }
        }
        if (Files.exists(layout.catalog()))
        {
            try (CheckpointCatalog existing = CheckpointCatalog.openOrCreate(layout.catalog()))
            {
                hasData |= existing.latestSeq() != 0;
            }
        }
        if (hasData)
        {
            throw new ImageStoreException("the image store in " + layout.groupDir() + " holds replicated data but " +
                "its " + StoreLayout.MANIFEST_FILE + " is missing; restore that file, or delete the directory to " +
                "start the group over with a full resync");
        }
        ReplicaSet.create(layout, volumes);
        Files.createDirectories(layout.undoDir());
        StateFile.openOrCreate(layout.stateFile()).close();
        CheckpointCatalog.openOrCreate(layout.catalog()).close();
        AtomicFiles.fsyncDirectory(layout.groupDir());
        VolumeManifest.write(layout.manifest(), volumes);
    }

    // ------------------------------------------------------------------ writer

    /**
     * Buffers a block of the bulk (initial) sync, read from the agent's volume, until the next
     * {@link #commit}. It has no seq of its own: the agent sends it before every journal entry written
     * after it read the block, so it is applied in arrival order whatever {@link #lastSeq()} is, and
     * only the last write of a block in a batch reaches the replica. If a checkpoint exists its content
     * is saved first, as for any write.
     */
    public void applySyncBlock(final int volumeIndex, final long blockIndex, final ByteBuffer plain) throws IOException
    {
        ensureWritable();
        final VolumeSpec spec = volume(volumeIndex);
        if (blockIndex < 0 || blockIndex >= spec.blockCount() || plain.remaining() < spec.blockSize())
        {
            throw new IllegalArgumentException("sync block " + blockIndex + " of " + plain.remaining() +
                " bytes does not fit volume '" + spec.name() + "'");
        }
        pending.add(Math.max(lastSeq, pending.maxSeq()), volumeIndex, blockIndex, plain, spec.blockSize());
        if (pending.dataBytes() >= PENDING_LIMIT_BYTES)
        {
            try
            {
                flushPending();
            }
            catch (final IOException | RuntimeException ex)
            {
                fail(ex);
                throw ex;
            }
        }
    }

    /**
     * Buffers a block write until the next {@link #commit} or {@link #addCheckpoint}. Reads
     * {@code blockSize} bytes of {@code plain} from its position; the position does not move.
     *
     * <p>A write with a seq at or below {@link #lastSeq()} (resent after a reconnect or a lost ack) is
     * already durable and is skipped, not applied again. Applying it again would be idempotent only if
     * the whole resent suffix were applied too: a resent old write lands on a block that a later write
     * already changed, and if the target crashed before the resend got past lastSeq, the agent would
     * resume after lastSeq and the block would keep the old content for good. Writes above lastSeq that
     * were already in the replica (a crash before the state file was written) are applied again; the
     * undo records they made before the crash stay, so they make no second one.
     */
    public void applyBlock(final long seq, final int volumeIndex, final long blockIndex, final ByteBuffer plain)
        throws IOException
    {
        ensureWritable();
        final VolumeSpec spec = volume(volumeIndex);
        if (seq <= NO_SEQ)
        {
            throw new IllegalArgumentException("seq " + seq + " is not positive");
        }
        if (blockIndex < 0 || blockIndex >= spec.blockCount())
        {
            throw new IllegalArgumentException("block " + blockIndex + " is outside volume '" + spec.name() +
                "' of " + spec.blockCount() + " blocks");
        }
        if (plain.remaining() < spec.blockSize())
        {
            throw new IllegalArgumentException("a block of volume '" + spec.name() + "' has " + spec.blockSize() +
                " bytes, the buffer holds " + plain.remaining());
        }
        if (seq <= lastSeq)
        {
            duplicateWritesSkipped++;
            return;
        }
        pending.add(seq, volumeIndex, blockIndex, plain, spec.blockSize());
        if (pending.dataBytes() >= PENDING_LIMIT_BYTES)
        {
            try
            {
                flushPending();
            }
            catch (final IOException | RuntimeException ex)
            {
                fail(ex);
                throw ex;
            }
        }
    }

    /**
     * Records a checkpoint after the writes applied so far: makes them durable, appends the checkpoint
     * to the catalog durably and starts a new interval. A checkpoint at or below the newest one was
     * resent after a crash and is ignored.
     *
     * @param label optional (null is stored as ""), at most 1024 bytes of UTF-8.
     * @throws IllegalArgumentException if {@code seq} is above the newest checkpoint but not above
     *                                  lastSeq or the pending writes: writes after it are already
     *                                  applied, so its content no longer exists to keep.
     */
    public void addCheckpoint(final long seq, final long timestampMs, final String label) throws IOException
    {
        addCheckpoint(seq, timestampMs, label, false);
    }

    /** As {@link #addCheckpoint(long, long, String)}, recording whether it is application-consistent. */
    public void addCheckpoint(final long seq, final long timestampMs, final String label,
        final boolean applicationConsistent) throws IOException
    {
        ensureWritable();
        final String text = label == null ? "" : label;
        if (seq <= NO_SEQ)
        {
            throw new IllegalArgumentException("checkpoint seq " + seq + " is not positive");
        }
        if (text.getBytes(StandardCharsets.UTF_8).length > CheckpointCatalogDescriptor.MAX_LABEL_BYTES)
        {
            throw new IllegalArgumentException("checkpoint label is longer than " +
                CheckpointCatalogDescriptor.MAX_LABEL_BYTES + " bytes of UTF-8");
        }
        if (seq <= catalog.latestSeq())
        {
            return;
        }
        if (seq <= lastSeq)
        {
            throw new IllegalArgumentException("checkpoint seq " + seq + " is not above lastSeq " + lastSeq +
                ": writes after it are already in the replicas, so its image cannot be kept");
        }
        if (pending.maxSeq() >= seq)
        {
            throw new IllegalArgumentException("checkpoint seq " + seq + " is not above the writes before it (seq " +
                pending.maxSeq() + ")");
        }
        try
        {
            final long durable = Math.max(lastSeq, pending.maxSeq());
            flushPending();
            if (durable != state.lastSeq())
            {
                writeState(durable, state.firstRetainedSeq());
                lastSeq = durable;
            }
            catalog.append(new Checkpoint(seq, timestampMs, text, undoLog.blocksWrittenInInterval(),
                applicationConsistent));
            hook.reached(WriteStage.CHECKPOINT_DURABLE);
            undoLog.startInterval(seq);
            publishCheckpoints();
        }
        catch (final IOException | RuntimeException ex)
        {
            fail(ex);
            throw ex;
        }
    }

    /**
     * Makes every write applied so far durable, in the order the class comment gives; on return
     * {@link #lastSeq()} is {@code max(lastSeq(), lastSeq)}.
     */
    public void commit(final long lastSeq) throws IOException
    {
        ensureWritable();
        try
        {
            flushPending();
            final long durable = Math.max(this.lastSeq, lastSeq);
            if (durable != state.lastSeq())
            {
                writeState(durable, state.firstRetainedSeq());
            }
            this.lastSeq = durable;
        }
        catch (final IOException | RuntimeException ex)
        {
            fail(ex);
            throw ex;
        }
    }

    /**
     * Keeps the newest {@code checkpoints} checkpoints and deletes the undo segments only older ones
     * need. The catalog file stays append-only; the first retained seq is persisted in the state file.
     * Open views of dropped checkpoints fail on their next read.
     *
     * @param checkpoints at least 1: the newest checkpoint is the base of the current interval.
     */
    public void retainLast(final int checkpoints) throws IOException
    {
        ensureWritable();
        if (checkpoints < 1)
        {
            throw new IllegalArgumentException("retain at least 1 checkpoint, not " + checkpoints);
        }
        final List<Checkpoint> retained = retainedCheckpoints;
        if (retained.size() <= checkpoints)
        {
            return;
        }
        final long newFirstRetainedSeq = retained.get(retained.size() - checkpoints).seq();
        try
        {
            // Into both slots before any segment goes: should the newest slot be damaged later, recovery
            // falls back to the other, and a slot still retaining the dropped checkpoints would list them
            // again and serve their images without their deleted undo records.
            writeState(state.lastSeq(), newFirstRetainedSeq);
            writeState(state.lastSeq(), newFirstRetainedSeq);
            undoLog.dropBefore(newFirstRetainedSeq);
            publishCheckpoints();
        }
        catch (final IOException | RuntimeException ex)
        {
            fail(ex);
            throw ex;
        }
    }

    /** Closes the files. Writes applied but not committed are dropped: the agent resends them. */
    @Override
    public void close() throws IOException
    {
        lock.writeLock().lock();
        try
        {
            if (closed)
            {
                return;
            }
            closed = true;
            final IOException failure = new IOException("closing the image store in " + layout.groupDir() + " failed");
            Closeables.closeQuietly(undoLog, failure);
            Closeables.closeQuietly(catalog, failure);
            Closeables.closeQuietly(state, failure);
            Closeables.closeQuietly(replicas, failure);
            if (failure.getSuppressed().length > 0)
            {
                throw failure;
            }
        }
        finally
        {
            lock.writeLock().unlock();
        }
    }

    private void flushPending() throws IOException
    {
        final int count = pending.count();
        if (count == 0)
        {
            return;
        }
        // (1) The first write of a block in the interval saves the block's content as of the checkpoint:
        // the replica still holds it, since nothing of this batch has been written yet.
        final boolean undoNeeded = undoLog.hasCheckpoint();
        boolean undoAppended = false;
        for (int i = 0; i < count; i++)
        {
            final int volumeIndex = pending.volumeIndex(i);
            final long blockIndex = pending.blockIndex(i);
            if (undoLog.markWritten(volumeIndex, blockIndex) && undoNeeded)
            {
                oldBlock.clear().limit(volumes.get(volumeIndex).blockSize());
                replicas.channel(volumeIndex).readBlocks(blockIndex, oldBlock);
                undoLog.append(pending.seq(i), volumeIndex, blockIndex, oldBlock, 0);
                undoAppended = true;
            }
        }
        // (2)
        if (undoAppended)
        {
            undoLog.forceAndPublish();
            hook.reached(WriteStage.UNDO_DURABLE);
        }
        // (3) In arrival order, so the last write of a block wins; adjacent blocks go in one write.
        final ByteBuffer run = pending.data().duplicate();
        int i = 0;
        while (i < count)
        {
            final int volumeIndex = pending.volumeIndex(i);
            final long firstBlock = pending.blockIndex(i);
            final int blockSize = volumes.get(volumeIndex).blockSize();
            final int start = pending.dataOffset(i);
            int end = i + 1;
            while (end < count &&
                pending.volumeIndex(end) == volumeIndex &&
                pending.blockIndex(end) == firstBlock + (end - i) &&
                pending.dataOffset(end) == start + (end - i) * blockSize)
            {
                end++;
            }
            run.clear().position(start).limit(start + (end - i) * blockSize);
            replicas.channel(volumeIndex).writeBlocks(firstBlock, run);
            touched[volumeIndex] = true;
            i = end;
        }
        hook.reached(WriteStage.REPLICAS_WRITTEN);
        // (4)
        for (int v = 0; v < touched.length; v++)
        {
            if (touched[v])
            {
                replicas.channel(v).force();
                touched[v] = false;
            }
        }
        hook.reached(WriteStage.REPLICAS_DURABLE);
        pending.clear();
    }

    /** (5) of the write ordering: lastSeq, with the undo records the replicas now depend on. */
    private void writeState(final long durableSeq, final long firstRetainedSeq) throws IOException
    {
        state.write(durableSeq, firstRetainedSeq, undoLog.currentBaseSeq(), undoLog.durableLength());
    }

    private void ensureWritable()
    {
        if (closed)
        {
            throw new ImageStoreException("the image store in " + layout.groupDir() + " is closed");
        }
        if (failure != null)
        {
            throw new ImageStoreException("the image store in " + layout.groupDir() + " failed earlier (" + failure +
                "); close it and open it again to recover", failure);
        }
    }

    private void fail(final Throwable ex)
    {
        if (failure == null)
        {
            failure = ex;
        }
    }

    private void publishCheckpoints()
    {
        final List<Checkpoint> all = catalog.checkpoints();
        final long firstRetained = state.firstRetainedSeq();
        int first = 0;
        while (first < all.size() && all.get(first).seq() < firstRetained)
        {
            first++;
        }
        allCheckpoints = all;
        retainedCheckpoints = Collections.unmodifiableList(new ArrayList<>(all.subList(first, all.size())));
    }

    /** Fault injection for crash tests. */
    void writeStageHook(final WriteStageHook hook)
    {
        this.hook = hook;
    }

    // ------------------------------------------------------------------ readers

    /** The highest seq whose writes are durable in the replicas; {@link #NO_SEQ} before any. */
    public long lastSeq()
    {
        return lastSeq;
    }

    /** Retained checkpoints, oldest first; an immutable snapshot. */
    public List<Checkpoint> checkpoints()
    {
        return retainedCheckpoints;
    }

    /** The retained checkpoint with this seq, if any. */
    public Optional<Checkpoint> checkpoint(final long seq)
    {
        return Optional.ofNullable(find(retainedCheckpoints, seq));
    }

    public List<VolumeSpec> volumes()
    {
        return volumes;
    }

    public Path groupDir()
    {
        return layout.groupDir();
    }

    /** Undo records appended since the store was opened (a counter for metrics and tests). */
    public long undoRecordsWritten()
    {
        return undoLog.recordsAppended();
    }

    /**
     * Resent writes at or below lastSeq that {@link #applyBlock} skipped since the store was opened; the
     * writer thread's counter, read racily by others.
     */
    public long duplicateWritesSkipped()
    {
        return duplicateWritesSkipped;
    }

    /**
     * The image of a retained checkpoint. Costs one scan of the undo records written since it.
     *
     * @throws UnknownImageException if there is no such checkpoint or retention dropped it.
     */
    public ImageView openImage(final long checkpointSeq) throws IOException
    {
        lock.readLock().lock();
        try
        {
            ensureReadable();
            final Checkpoint checkpoint = find(allCheckpoints, checkpointSeq);
            if (checkpoint == null)
            {
                throw new UnknownImageException("group " + layout.groupDir().getFileName() + " has no checkpoint " +
                    "with seq " + checkpointSeq + " (" + describeRetained() + ")");
            }
            if (checkpointSeq < undoLog.firstRetainedSeq())
            {
                throw new UnknownImageException("checkpoint seq " + checkpointSeq + " of group " +
                    layout.groupDir().getFileName() + " was dropped by retention (" + describeRetained() + ")");
            }
            final ImageOverlay overlay = new ImageOverlay(checkpointSeq, volumes);
            overlay.catchUp(undoLog);
            return new ImageView(this, checkpoint, overlay);
        }
        finally
        {
            lock.readLock().unlock();
        }
    }

    /** The replica as it is: the newest durable content, live. */
    public ImageView openLatest()
    {
        lock.readLock().lock();
        try
        {
            ensureReadable();
            return new ImageView(this, null, null);
        }
        finally
        {
            lock.readLock().unlock();
        }
    }

    VolumeSpec volume(final int volumeIndex)
    {
        if (volumeIndex < 0 || volumeIndex >= volumes.size())
        {
            throw new IllegalArgumentException("volume index " + volumeIndex + " is outside the group's " +
                volumes.size() + " volumes");
        }
        return volumes.get(volumeIndex);
    }

    ReentrantReadWriteLock lock()
    {
        return lock;
    }

    UndoLog undoLog()
    {
        return undoLog;
    }

    ReplicaSet replicas()
    {
        return replicas;
    }

    /** Caller holds the read lock. */
    void ensureReadable()
    {
        if (closed)
        {
            throw new ImageStoreException("the image store in " + layout.groupDir() + " is closed");
        }
    }

    private String describeRetained()
    {
        final List<Checkpoint> retained = retainedCheckpoints;
        if (retained.isEmpty())
        {
            return "it has no retained checkpoints";
        }
        return "retained: " + retained.size() + " checkpoints, seq " + retained.get(0).seq() + " to " +
            retained.get(retained.size() - 1).seq();
    }

    private static Checkpoint find(final List<Checkpoint> checkpoints, final long seq)
    {
        int low = 0;
        int high = checkpoints.size() - 1;
        while (low <= high)
        {
            final int mid = (low + high) >>> 1;
            final long midSeq = checkpoints.get(mid).seq();
            if (midSeq < seq)
            {
                low = mid + 1;
            }
            else if (midSeq > seq)
            {
                high = mid - 1;
            }
            else
            {
                return checkpoints.get(mid);
            }
        }
        return null;
    }

    static int maxBlockSize(final List<VolumeSpec> volumes)
    {
        int max = 0;
        for (int i = 0; i < volumes.size(); i++)
        {
            max = Math.max(max, volumes.get(i).blockSize());
        }
        return max;
    }

    @Override
    public String toString()
    {
        return "ImageStore{" + layout.groupDir() + ", lastSeq=" + lastSeq + ", checkpoints=" +
            retainedCheckpoints.size() + "}";
    }
}
