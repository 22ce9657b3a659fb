package dev.replicator.core.journal;

import net.openhft.chronicle.core.time.TimeProvider;
import net.openhft.chronicle.queue.ExcerptAppender;
import net.openhft.chronicle.queue.ExcerptTailer;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueue;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueueBuilder;
import net.openhft.chronicle.wire.DocumentContext;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.UUID;
import java.util.stream.Stream;
import java.util.zip.CRC32C;

/**
 * A group's write journal: one Chronicle Queue of binary entries ({@link JournalEntryDescriptor}),
 * each with a group seq assigned here, strictly increasing by one from {@code baseSeq + 1}.
 *
 * <p>Durability: an appended entry is in the page cache through Chronicle's shared mapping and
 * survives a crash of this process with no system call; {@link #sync()} makes it survive power loss.
 * Retention: {@link #release(long)} deletes the cycle files the target has acknowledged.
 *
 * <p>Thread-safe. Appends from any number of threads are serialised, so seq order is queue order.
 * Each {@link JournalReader} belongs to one thread at a time. One process opens a journal at a time:
 * the seq is assigned in memory, so a second writer process would reuse seqs.
 */
public final class Journal implements AutoCloseable
{
    private static final String QUEUE_METADATA_FILE_NAME = SingleChronicleQueue.QUEUE_METADATA_FILE;

    private final JournalConfig config;
    private final JournalMeta meta;
    private final Path queueDirectory;
    private final SingleChronicleQueue queue;
    private final ExcerptAppender appender;
    private final TimeProvider timeProvider;
    private final CycleFiles cycleFiles;
    private final CycleFileSyncer syncer;
    private final int maxPayloadBytes;
    /** Under appendLock: the header of the entry being appended, and its CRC. */
    private final ByteBuffer appendHeader =
        ByteBuffer.allocate(JournalEntryDescriptor.HEADER_LENGTH).order(ByteOrder.LITTLE_ENDIAN);
    private final CRC32C appendCrc = new CRC32C();
    /** Under retentionLock (or in recovery, before anyone else sees the journal): checks probed entries. */
    private final JournalEntryDecoder probeDecoder = new JournalEntryDecoder(0);

    /** Guards the appender and seq assignment. */
    private final Object appendLock = new Object();
    /** Serialises release with reader positioning, so a reader is never placed in a file being deleted. */
    private final Object retentionLock = new Object();

    private volatile long lastSeq;
    private volatile long firstRetainedSeq;
    private volatile boolean closed;
    private int appenderCycle = Integer.MIN_VALUE;
    /** Under appendLock: the current cycle file, and where the last entry ended in it. */
    private Path appenderCycleFile;
    private long appendEndPosition;
    /** Under appendLock: started by the first append (a journal only read starts no thread). */
    private JournalPretoucher pretoucher;

    private Journal(
        final JournalConfig config,
        final JournalMeta meta,
        final Path queueDirectory,
        final SingleChronicleQueue queue)
    {
        this.config = config;
        this.meta = meta;
        this.queueDirectory = queueDirectory;
        this.queue = queue;
        this.timeProvider = config.timeProvider();
        this.maxPayloadBytes = config.maxPayloadBytes();
        this.cycleFiles = new CycleFiles(queueDirectory, queue);
        this.syncer = new CycleFileSyncer(queueDirectory, queueDirectory.resolve(QUEUE_METADATA_FILE_NAME));
        this.appender = queue.createAppender();
        // Appends come from many threads, one at a time under appendLock.
        appender.singleThreadedCheckDisabled(true);
    }

    /**
     * Opens the journal in {@code config.directory()}, or creates an empty one (baseSeq 0, a new
     * journalId) if the directory holds none.
     *
     * @throws JournalException if the journal cannot be opened or its files are inconsistent.
     */
    public static Journal open(final JournalConfig config)
    {
        final JournalDirectory directory = new JournalDirectory(config.directory());
        try
        {
            Files.createDirectories(directory.root());
            final JournalMeta meta;
            if (Files.exists(directory.metaFile()))
            {
                meta = JournalMetaFile.read(directory.metaFile());
            }
            else
            {
                final List<Path> orphans = directory.queueDirectories();
                if (!orphans.isEmpty())
                {
                    throw new JournalException("journal directory " + directory.root() + " holds queue data " +
                        orphans + " but no " + JournalMetaFile.FILE_NAME + ": refusing to guess its seqs; " +
                        "restore the metadata file or move the directory away to start a new journal");
                }
                meta = new JournalMeta(UUID.randomUUID().toString(), 0);
                JournalMetaFile.write(directory.metaFile(), meta);
            }
            // Left behind if a create() crashed after writing its metadata: garbage.
            directory.deleteQueueDirectoriesExcept(meta.journalId());
            return openQueue(config, directory, meta);
        }
        catch (final IOException ex)
        {
            throw new JournalException("cannot open journal in " + directory.root() + ": " + ex, ex);
        }
    }

    /**
     * Starts a fresh journal in {@code config.directory()}, discarding any journal there: a new
     * journalId, and the first entry will have seq {@code baseSeq + 1}. Close any journal open on
     * the directory first. Crash-safe: after a crash the directory holds the old journal or the new
     * one (see {@link JournalDirectory}).
     *
     * @throws JournalException if the journal cannot be created.
     */
    public static Journal create(final JournalConfig config, final long baseSeq)
    {
        if (baseSeq < 0)
        {
            throw new IllegalArgumentException("baseSeq must be >= 0, was " + baseSeq);
        }
        final JournalDirectory directory = new JournalDirectory(config.directory());
        try
        {
            Files.createDirectories(directory.root());
            final JournalMeta meta = new JournalMeta(UUID.randomUUID().toString(), baseSeq);
            JournalMetaFile.write(directory.metaFile(), meta);
            directory.deleteQueueDirectoriesExcept(meta.journalId());
            return openQueue(config, directory, meta);
        }
        catch (final IOException ex)
        {
            throw new JournalException("cannot create journal in " + directory.root() + ": " + ex, ex);
        }
    }

    /**
     * A queue without cycle files holds no entries, and its metadata file may be torn: a process
     * killed while Chronicle created it (the first start, or {@link #create} at failback) leaves a
     * header marked "not complete", which every later open takes for a lock held by a live writer and
     * fails on after a timeout, so the agent could never start again. Nothing in that file is needed
     * by an empty queue; Chronicle writes it anew. (A journal with entries always keeps a cycle file:
     * {@link #release} never deletes the newest.)
     */
    private static void discardMetadataOfEmptyQueue(final Path queueDirectory) throws IOException
    {
        try (Stream<Path> files = Files.list(queueDirectory))
        {
            if (files.anyMatch(file -> file.getFileName().toString().endsWith(SingleChronicleQueue.SUFFIX)))
            {
                return;
            }
        }
        Files.deleteIfExists(queueDirectory.resolve(QUEUE_METADATA_FILE_NAME));
    }

    private static Journal openQueue(final JournalConfig config, final JournalDirectory directory, final JournalMeta meta)
        throws IOException
    {
        if (ByteOrder.nativeOrder() != ByteOrder.LITTLE_ENDIAN)
        {
            throw new JournalException("journal entries are little-endian; this platform is " + ByteOrder.nativeOrder());
        }
        final Path queueDirectory = directory.queueDirectory(meta.journalId());
        Files.createDirectories(queueDirectory);
        discardMetadataOfEmptyQueue(queueDirectory);
        final SingleChronicleQueue queue = SingleChronicleQueueBuilder.binary(queueDirectory)
            .rollCycle(config.rollCycle())
            .timeProvider(config.timeProvider())
            .blockSize(config.queueBlockSizeBytes())
            .build();
        Journal journal = null;
        try
        {
            journal = new Journal(config, meta, queueDirectory, queue);
            journal.recover();
            return journal;
        }
        // Chronicle checks its files with assertions when they are enabled (as in tests): on a damaged
        // cycle file those fail where, without them, it returns a wrong position that recover() refuses.
        catch (final RuntimeException | IOException | AssertionError ex)
        {
            try
            {
                if (journal != null)
                {
                    journal.closeQuietly();
                }
                else
                {
                    queue.close();
                }
            }
            catch (final RuntimeException closeEx)
            {
                ex.addSuppressed(closeEx);
            }
            if (ex instanceof JournalException)
            {
                throw (JournalException)ex;
            }
            throw new JournalException("cannot open journal queue " + queueDirectory + ": " + ex, ex);
        }
    }

    /** Recovers lastSeq and firstRetainedSeq from the queue's entries; checks them against baseSeq. */
    private void recover() throws IOException
    {
        final long firstSeq;
        final long newestSeq;
        try (ExcerptTailer tailer = queue.createTailer())
        {
            final SeqProbe probe = new SeqProbe(tailer, queue.rollCycle(), queueDirectory, probeDecoder);
            firstSeq = probe.firstSeq();
            newestSeq = probe.lastSeq();
            // Chronicle finds the newest entry through its index and header. In a cycle file damaged
            // under it (truncated, then extended with zeros when mapped again) that can stop short of
            // documents that follow: appending there would reuse their seqs.
            if (newestSeq == SeqProbe.NO_SEQ && firstSeq != SeqProbe.NO_SEQ)
            {
                throw new JournalException("journal queue " + queueDirectory + " starts with seq " + firstSeq +
                    " but Chronicle finds no newest entry: the newest cycle file is damaged");
            }
            if (newestSeq != SeqProbe.NO_SEQ && probe.hasDocumentAfter(probe.lastIndex()))
            {
                throw new JournalException("journal queue " + queueDirectory + ": Chronicle's index ends at seq " +
                    newestSeq + " (index 0x" + Long.toHexString(probe.lastIndex()) + ") but more documents follow " +
                    "it: the cycle file is damaged");
            }
        }
        if (newestSeq == SeqProbe.NO_SEQ)
        {
            lastSeq = meta.baseSeq();
            firstRetainedSeq = meta.baseSeq() + 1;
        }
        else
        {
            if (firstSeq <= meta.baseSeq() || newestSeq < firstSeq)
            {
                throw new JournalException("journal queue " + queueDirectory + " holds seqs " + firstSeq + ".." +
                    newestSeq + " that do not follow baseSeq " + meta.baseSeq() + " of its " +
                    JournalMetaFile.FILE_NAME + ": the journal is damaged");
            }
            lastSeq = newestSeq;
            firstRetainedSeq = firstSeq;
        }
        // A previous process may have appended and crashed before its sync: include its files once.
        for (final CycleFiles.CycleFile file : cycleFiles.list())
        {
            syncer.addPending(file.path());
        }
    }

    /** Random id made when this journal was created; a fresh journal after failback has a new one. */
    public String journalId()
    {
        return meta.journalId();
    }

    /** Seq before the first entry this journal ever held. */
    public long baseSeq()
    {
        return meta.baseSeq();
    }

    /** Seq of the newest entry, or {@link #baseSeq()} if the journal never held one. */
    public long lastSeq()
    {
        return lastSeq;
    }

    /** Seq of the oldest entry still in the journal, or {@code lastSeq() + 1} if it holds none. */
    public long firstRetainedSeq()
    {
        final long first = firstRetainedSeq;
        final long last = lastSeq;
        return Math.min(first, last + 1);
    }

    /** The directory given in the config. */
    public Path directory()
    {
        return config.directory();
    }

    public int maxPayloadBytes()
    {
        return maxPayloadBytes;
    }

    /**
     * Journals a write of {@code length} bytes read from {@code src} at absolute offset {@code srcOffset}
     * (the buffer's position and limit are not used or changed). The bytes are copied once, straight
     * into the mapped queue file.
     *
     * @return the seq assigned to the entry.
     * @throws IllegalArgumentException  if the length exceeds {@link #maxPayloadBytes()} or an argument
     *                                   is out of range; nothing is journaled.
     * @throws IndexOutOfBoundsException if the range is not inside {@code src}'s limit.
     * @throws JournalException          if the queue cannot be written.
     */
    public long appendWrite(
        final int volumeIndex,
        final long firstBlock,
        final ByteBuffer src,
        final int srcOffset,
        final int length)
    {
        Objects.requireNonNull(src, "src");
        checkVolumeIndex(volumeIndex);
        if (firstBlock < 0)
        {
            throw new IllegalArgumentException("firstBlock must be >= 0, was " + firstBlock);
        }
        checkPayloadLength("write payload", length);
        Objects.checkFromIndexSize(srcOffset, length, src.limit());
        synchronized (appendLock)
        {
            ensureOpen();
            final long seq = lastSeq + 1;
            final long timestampMs = timeProvider.currentTimeMillis();
            return appendEntry(
                seq, timestampMs, firstBlock, length, volumeIndex, JournalEntryDescriptor.TYPE_WRITE, src, srcOffset);
        }
    }

    /**
     * Journals one op of a tree volume: {@code length} bytes of {@code src} from absolute offset
     * {@code srcOffset}, an encoded {@code TreeOp}.
     *
     * @return the seq assigned to the entry.
     */
    public long appendTree(final int treeIndex, final ByteBuffer src, final int srcOffset, final int length)
    {
        Objects.requireNonNull(src, "src");
        checkVolumeIndex(treeIndex);
        checkPayloadLength("tree op", length);
        Objects.checkFromIndexSize(srcOffset, length, src.limit());
        synchronized (appendLock)
        {
            ensureOpen();
            final long seq = lastSeq + 1;
            final long timestampMs = timeProvider.currentTimeMillis();
            return appendEntry(seq, timestampMs, 0, length, treeIndex, JournalEntryDescriptor.TYPE_TREE, src, srcOffset);
        }
    }

    /**
     * Journals a checkpoint: a consistent point of the group.
     *
     * @param timestampMs the checkpoint's wall-clock time, epoch milliseconds.
     * @param label       optional name (null for none), at most {@link #maxPayloadBytes()} UTF-8 bytes.
     * @return the seq assigned to the checkpoint.
     */
    public long appendCheckpoint(final long timestampMs, final String label)
    {
        return appendCheckpoint(timestampMs, label, 0);
    }

    /**
     * Journals a checkpoint with flags ({@link JournalEntryDescriptor#CHECKPOINT_APP_CONSISTENT}).
     *
     * @return the seq assigned to the checkpoint.
     */
    public long appendCheckpoint(final long timestampMs, final String label, final long flags)
    {
        final byte[] labelBytes = label == null ? new byte[0] : label.getBytes(StandardCharsets.UTF_8);
        checkPayloadLength("checkpoint label", labelBytes.length);
        synchronized (appendLock)
        {
            ensureOpen();
            final long seq = lastSeq + 1;
            return appendEntry(seq, timestampMs, flags, labelBytes.length, 0, JournalEntryDescriptor.TYPE_CHECKPOINT,
                ByteBuffer.wrap(labelBytes), 0);
        }
    }

    /**
     * Writes one entry (header, payload, CRC) as one Chronicle document, or none: a failure rolls
     * the document back. Called under appendLock with {@code seq = lastSeq + 1}.
     */
    private long appendEntry(
        final long seq,
        final long timestampMs,
        final long firstBlockOrFlags,
        final int length,
        final int volumeIndex,
        final byte type,
        final ByteBuffer src,
        final int srcOffset)
    {
        try (DocumentContext dc = appender.writingDocument())
        {
            try
            {
                JournalEntryDescriptor.encodeHeader(
                    appendHeader, seq, timestampMs, firstBlockOrFlags, length, volumeIndex, type);
                JournalEntryDescriptor.write(dc.wire().bytes(), appendHeader, appendCrc, src, srcOffset, length);
                appendEndPosition = dc.wire().bytes().writePosition();
            }
            catch (final RuntimeException | Error ex)
            {
                dc.rollbackOnClose();
                throw ex;
            }
        }
        catch (final RuntimeException ex)
        {
            throw appendFailed(seq, ex);
        }
        onAppended(seq);
        return seq;
    }

    /** Called under appendLock once the entry with {@code seq} is complete in the queue. */
    private void onAppended(final long seq)
    {
        lastSeq = seq;
        final int cycle = appender.cycle();
        if (cycle != appenderCycle)
        {
            appenderCycle = cycle;
            try
            {
                appenderCycleFile = appender.currentFile().toPath();
                syncer.onCycleFile(appenderCycleFile);
            }
            catch (final IOException ex)
            {
                throw new JournalException("journal queue " + queueDirectory + ": appended seq " + seq +
                    " but cannot track its cycle file for sync: " + ex, ex);
            }
        }
        if (pretoucher == null && JournalPretoucher.enabled())
        {
            pretoucher = new JournalPretoucher(meta.journalId());
        }
        if (pretoucher != null)
        {
            pretoucher.onAppended(appenderCycleFile, appendEndPosition);
        }
    }

    /**
     * Makes every entry appended before this call durable against power loss: fsync of the cycle
     * files written since the last sync (and of the directory when files were added). Callers choose
     * the policy (e.g. before acknowledging a host write, or every N ms).
     *
     * @throws JournalException if the files cannot be synced.
     */
    public void sync()
    {
        ensureOpen();
        try
        {
            syncer.sync();
        }
        catch (final IOException ex)
        {
            throw new JournalException("cannot sync journal queue " + queueDirectory + ": " + ex, ex);
        }
    }

    /**
     * A reader positioned at the first entry with seq greater than {@code afterSeq}. Found by search,
     * not by reading from the start ({@link SeqIndexLocator}). {@code afterSeq == lastSeq()} gives a
     * reader that sees only entries appended later.
     *
     * @throws JournalException if the entries after {@code afterSeq} were already released, or
     *                          {@code afterSeq} is beyond {@link #lastSeq()}.
     */
    public JournalReader reader(final long afterSeq)
    {
        synchronized (retentionLock)
        {
            ensureOpen();
            final long last = lastSeq;
            final long first = firstRetainedSeq();
            if (afterSeq > last)
            {
                throw new JournalException("journal " + config.directory() + " (journalId " + journalId() +
                    ") ends at seq " + last + ", cannot read after seq " + afterSeq +
                    ": the reader's position belongs to another journal or a lost tail");
            }
            if (afterSeq < first - 1)
            {
                throw new JournalException("journal " + config.directory() + " (journalId " + journalId() +
                    ") released the entries up to seq " + (first - 1) + ", cannot read after seq " + afterSeq +
                    "; those blocks must be resynced from the volume instead");
            }
            final ExcerptTailer tailer = queue.createTailer();
            try
            {
                // Created here, polled by whichever thread owns the reader.
                tailer.singleThreadedCheckDisabled(true);
                if (afterSeq < first)
                {
                    tailer.toStart();
                }
                else
                {
                    positionAfter(tailer, afterSeq);
                }
                return new JournalReader(tailer, queueDirectory, afterSeq, maxPayloadBytes, this::lastSeq);
            }
            catch (final RuntimeException | IOException | AssertionError ex)
            {
                try
                {
                    tailer.close();
                }
                catch (final RuntimeException closeEx)
                {
                    ex.addSuppressed(closeEx);
                }
                if (ex instanceof JournalException)
                {
                    throw (JournalException)ex;
                }
                throw new JournalException("cannot position a reader of journal queue " + queueDirectory +
                    " after seq " + afterSeq + ": " + ex, ex);
            }
        }
    }

    /** Moves {@code tailer} just past the entry with {@code seq}, which must be in the queue. */
    private void positionAfter(final ExcerptTailer tailer, final long seq) throws IOException
    {
        final SeqProbe probe = new SeqProbe(tailer, queue.rollCycle(), queueDirectory, probeDecoder);
        final long index = SeqIndexLocator.indexOf(probe, cycleFiles.list(), seq);
        if (index == SeqIndexLocator.NOT_FOUND)
        {
            throw new JournalException("journal queue " + queueDirectory + " has no entry with seq " + seq +
                " although it retains seqs " + firstRetainedSeq() + ".." + lastSeq + ": the journal is damaged");
        }
        // Reading the entry itself (rather than moving to index + 1) also works when it is the newest
        // entry and the next index does not exist yet.
        if (probe.seqAt(index) != seq)
        {
            throw new JournalException("journal queue " + queueDirectory + " moved under the reader at seq " + seq);
        }
    }

    /**
     * Deletes the cycle files all of whose entries have seq &lt;= {@code ackedSeq}, oldest first,
     * never the newest cycle file (the appender's). Safe while readers and the appender are open: a
     * reader positioned after {@code ackedSeq} never needs a deleted file (a mapping of a deleted
     * file stays valid on Linux), a reader still behind {@code ackedSeq} fails on its next poll
     * instead of skipping entries, and Chronicle's cached directory listing is refreshed after the
     * deletes ({@code refreshDirectoryListing}, the library's documented step after deleting cycle
     * files). Afterwards {@code reader(ackedSeq)} works and {@link #firstRetainedSeq()} is the first
     * seq still on disk.
     *
     * @return how many cycle files were deleted.
     * @throws JournalException if the journal cannot be read or a file cannot be deleted.
     */
    public int release(final long ackedSeq)
    {
        synchronized (retentionLock)
        {
            ensureOpen();
            final int newestAppenderCycle;
            synchronized (appendLock)
            {
                newestAppenderCycle = appenderCycle;
            }
            int deleted = 0;
            try (ExcerptTailer tailer = queue.createTailer())
            {
                final SeqProbe probe = new SeqProbe(tailer, queue.rollCycle(), queueDirectory, probeDecoder);
                final List<CycleFiles.CycleFile> files = cycleFiles.list();
                for (int i = 0, n = files.size() - 1; i < n; i++)
                {
                    final CycleFiles.CycleFile file = files.get(i);
                    if (file.cycle() >= newestAppenderCycle && newestAppenderCycle != Integer.MIN_VALUE)
                    {
                        break;
                    }
                    final long lastSeqInCycle = probe.lastSeqInCycle(file.cycle());
                    if (lastSeqInCycle > ackedSeq)
                    {
                        break;
                    }
                    Files.deleteIfExists(file.path());
                    deleted++;
                }
            }
            catch (final IOException | RuntimeException ex)
            {
                refreshAfterRelease(ex);
                throw new JournalException("cannot release journal queue " + queueDirectory + " up to seq " +
                    ackedSeq + ": " + ex, ex);
            }
            if (deleted > 0)
            {
                refreshAfterRelease(null);
            }
            return deleted;
        }
    }

    /** Under retentionLock: tell Chronicle files went away and recompute the first retained seq. */
    private void refreshAfterRelease(final Exception failure)
    {
        try
        {
            queue.refreshDirectoryListing();
            try (ExcerptTailer tailer = queue.createTailer())
            {
                final long firstSeq = new SeqProbe(tailer, queue.rollCycle(), queueDirectory, probeDecoder).firstSeq();
                firstRetainedSeq = firstSeq == SeqProbe.NO_SEQ ? lastSeq + 1 : firstSeq;
            }
        }
        catch (final RuntimeException ex)
        {
            if (failure == null)
            {
                throw new JournalException("journal queue " + queueDirectory + ": released cycle files but " +
                    "cannot re-read the oldest retained entry: " + ex, ex);
            }
            failure.addSuppressed(ex);
        }
    }

    /**
     * Bytes of the queue files on disk, as file lengths. Chronicle pre-sizes each cycle file to its
     * mapped block (sparse), so this over-counts the data by up to one block per cycle file.
     */
    public long sizeBytes()
    {
        try
        {
            return cycleFiles.sizeBytes();
        }
        catch (final IOException ex)
        {
            throw new JournalException("cannot size journal queue " + queueDirectory + ": " + ex, ex);
        }
    }

    /** Syncs, then closes the queue; readers still open fail on their next poll. Idempotent. */
    @Override
    public void close()
    {
        synchronized (retentionLock)
        {
            synchronized (appendLock)
            {
                if (closed)
                {
                    return;
                }
                JournalException failure = null;
                try
                {
                    syncer.sync();
                }
                catch (final IOException ex)
                {
                    failure = new JournalException("cannot sync journal queue " + queueDirectory + " on close: " + ex, ex);
                }
                closed = true;
                try
                {
                    closeQuietly();
                }
                catch (final RuntimeException ex)
                {
                    if (failure == null)
                    {
                        failure = new JournalException("cannot close journal queue " + queueDirectory + ": " + ex, ex);
                    }
                    else
                    {
                        failure.addSuppressed(ex);
                    }
                }
                if (failure != null)
                {
                    throw failure;
                }
            }
        }
    }

    @Override
    public String toString()
    {
        return "Journal{directory=" + config.directory() + ", journalId=" + meta.journalId() + ", baseSeq=" +
            meta.baseSeq() + ", lastSeq=" + lastSeq + '}';
    }

    private void closeQuietly()
    {
        RuntimeException failure = null;
        if (pretoucher != null)
        {
            pretoucher.close();
        }
        try
        {
            syncer.close();
        }
        catch (final IOException ex)
        {
            failure = new JournalException("cannot close journal sync channel of " + queueDirectory, ex);
        }
        try
        {
            appender.close();
        }
        catch (final RuntimeException ex)
        {
            failure = addFailure(failure, ex);
        }
        try
        {
            queue.close();
        }
        catch (final RuntimeException ex)
        {
            failure = addFailure(failure, ex);
        }
        if (failure != null)
        {
            throw failure;
        }
    }

    private static RuntimeException addFailure(final RuntimeException failure, final RuntimeException ex)
    {
        if (failure == null)
        {
            return ex;
        }
        failure.addSuppressed(ex);
        return failure;
    }

    private void ensureOpen()
    {
        if (closed)
        {
            throw new JournalException("journal " + config.directory() + " is closed");
        }
    }

    private void checkPayloadLength(final String what, final int length)
    {
        if (length < 0 || length > maxPayloadBytes)
        {
            throw new IllegalArgumentException(what + " of " + length + " bytes refused by journal " +
                config.directory() + ": an entry holds at most maxPayloadBytes=" + maxPayloadBytes +
                " bytes; split the write");
        }
    }

    private static void checkVolumeIndex(final int volumeIndex)
    {
        if (volumeIndex < 0 || volumeIndex > JournalEntryDescriptor.MAX_VOLUME_INDEX)
        {
            throw new IllegalArgumentException("volumeIndex must be in 0.." + JournalEntryDescriptor.MAX_VOLUME_INDEX +
                ", was " + volumeIndex);
        }
    }

    private JournalException appendFailed(final long seq, final RuntimeException ex)
    {
        return new JournalException("cannot append seq " + seq + " to journal queue " + queueDirectory + ": " + ex, ex);
    }
}
