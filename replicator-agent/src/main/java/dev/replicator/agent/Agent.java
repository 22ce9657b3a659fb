package dev.replicator.agent;

import dev.replicator.agent.capture.BulkSync;
import dev.replicator.agent.capture.CaptureVolume;
import dev.replicator.agent.capture.ChangeLog;
import dev.replicator.agent.capture.NbdFrontEnd;
import dev.replicator.agent.capture.ScanCapture;
import dev.replicator.agent.capture.VolumeWriter;
import dev.replicator.agent.failback.DemotedHost;
import dev.replicator.agent.failback.DemotedPrimary;
import dev.replicator.agent.failback.JournalDiscard;
import dev.replicator.agent.quiesce.Quiescer;
import dev.replicator.agent.ship.Shipper;
import dev.replicator.core.config.ConfigException;
import dev.replicator.core.security.AccessPolicy;
import dev.replicator.core.security.Transport;
import dev.replicator.agent.ship.ShipperHost;
import dev.replicator.agent.tree.TreeCapture;
import dev.replicator.core.io.AtomicFiles;
import dev.replicator.core.journal.Journal;
import dev.replicator.core.journal.JournalConfig;
import dev.replicator.core.metrics.MetricsEndpoint;
import dev.replicator.core.journal.JournalEntryDescriptor;
import net.openhft.chronicle.queue.RollCycles;
import dev.replicator.core.volume.VolumeSpec;
import dev.replicator.core.wire.FrameChannel;
import dev.replicator.core.wire.Json;
import dev.replicator.core.wire.Messages;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * The agent: protects one group. Owns the journal, the capture (API writer and/or periodic scans),
 * the shipper, and the primary's side of failback.
 *
 * <pre>
 *  writes --&gt; VolumeWriter --\
 *                             +--&gt; Journal (Chronicle Queue) --&gt; Shipper ==TCP==&gt; target
 *  volume --&gt; ScanCapture ---/                                      |
 *                                                     DEMOTED: DemotedPrimary (failback)
 * </pre>
 *
 * Lifecycle: {@link #start()} then {@link #close()}. Thread-safe.
 */
public final class Agent implements AutoCloseable, ShipperHost, DemotedHost
{
    private static final Logger LOG = LoggerFactory.getLogger(Agent.class);

    private final AgentConfig config;
    private final List<CaptureVolume> volumes = new ArrayList<>();
    private final CountDownLatch stopped = new CountDownLatch(1);
    private volatile Journal journal;
    private volatile AgentState state;
    private volatile AgentRole role = AgentRole.UNKNOWN;
    private volatile boolean connected;
    private volatile long ackedSeq;
    private volatile String lastError;
    private volatile Messages.Refused fatalRefusal;
    private ChangeLog changeLog;
    private ScanCapture scanCapture;
    private BulkSync bulkSync;
    /** Set when the bulk sync completes (by the ack reader); the scanner then takes the first checkpoint. */
    private volatile boolean bulkSyncDone;
    /** Notified when the bulk sync ends and when its first checkpoint is taken: checkpoints asked for meanwhile wait. */
    private final Object bulkSyncMonitor = new Object();
    /** From the bulk sync's end until the scanner has taken its first checkpoint. */
    private volatile boolean initialCheckpointPending;
    /** An agent of tree volumes only leaves its first scan to the scanner thread, which runs it at once. */
    private volatile boolean treeStartupScanPending;
    private long bulkSyncSinceMs;
    private VolumeWriter writer;
    private NbdFrontEnd nbdFrontEnd;
    private TreeCapture treeCapture;
    /** Serialises tree scans with block scans and checkpoints: a checkpoint never splits a tree scan. */
    private final Object scanLock = new Object();
    private Shipper shipper;
    private Thread shipperThread;
    private Thread scanThread;
    private MetricsEndpoint metrics;
    private volatile boolean running;
    private Quiescer quiescer;
    private long lastIntervalCheckpointNs;

    public Agent(final AgentConfig config)
    {
        this.config = config;
    }

    /**
     * Opens the journal and volumes, runs the first scan (the initial sync, or the changes made
     * while the agent was down), then starts shipping and periodic scans.
     */
    public synchronized Agent start() throws IOException
    {
        warmUpInBackground();
        final Transport transport = transport();
        Files.createDirectories(config.stateDir());
        state = AgentState.readOrNew(config.stateDir(), config.group());
        // First of all: a previous run killed while a file system was frozen must not leave it frozen.
        quiescer = new Quiescer(config.group(), config.stateDir(), config.quiesce());
        quiescer.thawLeftovers();
        new JournalDiscard(config.stateDir()).deleteLeftovers();
        journal = Journal.open(journalConfig());
        try
        {
            final Path fingerprintDir = config.stateDir().resolve("fingerprints");
            final List<Path> tables = new ArrayList<>();
            for (final VolumeSpec spec : config.volumes())
            {
                tables.add(fingerprintDir.resolve(spec.name() + ".fp"));
            }
            // Before a table is created: a fresh table means the target may have none of the volume. Scan
            // capture only: an API agent has never synced what its volume held before it started.
            if (config.capture() == AgentConfig.Capture.SCAN)
            {
                BulkSync.beginIfFresh(config.stateDir(), tables);
            }
            for (int i = 0; i < config.volumes().size(); i++)
            {
                volumes.add(CaptureVolume.open(i, config.volumes().get(i), config.stateDir().resolve("fingerprints")));
            }
            final boolean sync = config.journalSync() == AgentConfig.JournalSync.CHECKPOINT;
            changeLog = new ChangeLog(config.group(), this::journal, volumes, config.stateDir().resolve("dirty"),
                config.maxUnshippedBytes(), sync);
            bulkSync = BulkSync.open(config.stateDir(), volumes, this::onBulkSyncDone);
            bulkSyncSinceMs = System.currentTimeMillis();
            changeLog.holdCheckpointsWhile(bulkSync::outstanding);
            scanCapture = new ScanCapture(changeLog, volumes);
            writer = new VolumeWriter(changeLog, volumes);
            treeCapture = new TreeCapture(config.treeVolumes(), config.stateDir(), this::journal, this::wakeScanner);
            // A bulk sync scans on the scanner thread while the shipper streams what it found. So does the
            // first scan of an agent with only tree volumes: nothing is written through it, so the ops the
            // scan journals can ship while the scan goes on (an initial sync of a big tree overlaps).
            treeStartupScanPending = volumes.isEmpty() && !treeCapture.isEmpty();
            final long startSeq = bulkSync.isActive() || treeStartupScanPending ? -1 : scanAndCheckpoint(null, false);
            if (bulkSync.isActive())
            {
                LOG.info("group={} bulk sync: the volumes are streamed to the target from the scan, outside the " +
                    "journal; the first checkpoint follows it", config.group());
            }
            LOG.info("group={} epoch={} agent started: {} volume(s), journal {} at seq={}{}", config.group(),
                state.epoch(), volumes.size(), journal.journalId(), journal.lastSeq(),
                startSeq > 0 ? ", startup scan journaled " + scanCapture.lastScanChangedBlocks() + " blocks" : "");
            if (!config.nbdFronts().isEmpty())
            {
                // After the startup scan: from here on the host's writes are captured as they are made.
                nbdFrontEnd = NbdFrontEnd.start(config.nbdFronts(), volumes, writer, changeLog,
                    () -> role != AgentRole.DEMOTED);
            }
        }
        catch (final IOException | RuntimeException ex)
        {
            closeQuietly();
            throw ex;
        }
        running = true;
        shipper = new Shipper(this, config.group(), config.agentName(), config.target(), config.windowFrames(),
            config.frameBytes(), config.heartbeatIntervalMs(), transport)
            .syncLimits(config.syncWindowBytes(), config.syncRateBytesPerS());
        if (config.metricsListen() != null)
        {
            try
            {
                metrics = AgentMetrics.serve(this, config.metricsListen());
            }
            catch (final IOException ex)
            {
                closeQuietly();
                throw ex;
            }
            LOG.info("group={} metrics on http://{}:{}/metrics", config.group(), config.metricsListen().host(),
                metrics.port());
        }
        shipperThread = new Thread(shipper, "shipper-" + config.group());
        shipperThread.start();
        // In API mode the loop only resyncs blocks recorded in bitmap mode.
        scanThread = new Thread(this::scanLoop, "scanner-" + config.group());
        scanThread.setDaemon(true);
        lastIntervalCheckpointNs = System.nanoTime();
        scanThread.start();
        writeStatus();
        return this;
    }

    /**
     * A cold JVM spends a noticeable part of an agent's start initialising Jackson for the hello and
     * welcome; doing it on another thread while the journal opens takes it off the path to the first
     * shipped byte (it matters for a bulk sync, which ships as soon as the hello is answered).
     */
    private static void warmUpInBackground()
    {
        final Thread thread = new Thread(() ->
        {
            try
            {
                final byte[] hello = Json.encode(new Messages.Hello(Messages.PROTOCOL_VERSION, "warm-up", "warm-up",
                    "warm-up", 0, 0, List.of(new Messages.VolumeInfo("warm-up", 4096, 4096)), List.of()));
                Json.decode(hello, 0, hello.length, Messages.Hello.class);
                final byte[] welcome = Json.encode(new Messages.Welcome("warm-up", 1, 0));
                Json.decode(welcome, 0, welcome.length, Messages.Welcome.class);
            }
            catch (final dev.replicator.core.wire.ProtocolException | RuntimeException ex)
            {
                LOG.debug("warm-up failed (harmless): {}", ex.toString());
            }
        }, "agent-warm-up");
        thread.setDaemon(true);
        thread.start();
    }

    /** Settled before anything is opened: an agent with unusable TLS material must not start at all. */
    private Transport transport()
    {
        final Transport transport;
        try
        {
            transport = Transport.of(config.tls().resolve(false, false, "tls.dir in the agent config"));
        }
        catch (final IOException | IllegalStateException ex)
        {
            throw new ConfigException("agent TLS: " + ex.getMessage());
        }
        if (!transport.secure())
        {
            LOG.warn("INSECURE: group={} ships to {} without TLS (--insecure or REPLICATOR_INSECURE=1): the volume's " +
                "blocks cross the network in the clear and anyone can pose as the target; use a lab network only",
                config.group(), config.target());
        }
        else
        {
            LOG.info("group={} connects to {} with {}", config.group(), config.target(), transport.describe());
            // The target decides; saying it here as well points at the config line to fix.
            final String refusal = AccessPolicy.refuseHello(transport.self(), config.group(), config.agentName());
            if (refusal != null)
            {
                LOG.warn("group={} the target will refuse this agent: {}", config.group(), refusal);
            }
        }
        return transport;
    }

    private JournalConfig journalConfig()
    {
        return JournalConfig.builder(config.stateDir().resolve("journal"))
            .rollCycle(RollCycles.valueOf(config.rollCycle()))
            .build();
    }

    private void scanLoop()
    {
        boolean syncScanned = false;
        while (running)
        {
            if (!syncScanned && bulkSync.isActive() && role != AgentRole.DEMOTED)
            {
                syncScanned = bulkSyncScan();
            }
            final long deadlineNs = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(config.scanIntervalMs());
            long remainingNs;
            while (running && !treeCapture.changedSinceScan() && !bulkSyncDone && !treeStartupScanPending &&
                (remainingNs = deadlineNs - System.nanoTime()) > 0)
            {
                java.util.concurrent.locks.LockSupport.parkNanos(this, remainingNs);
            }
            if (!running)
            {
                return;
            }
            try
            {
                treeStartupScanPending = false; // every branch below scans
                if (bulkSyncDone && role != AgentRole.DEMOTED)
                {
                    bulkSyncDone = false;
                    try
                    {
                        if (bulkSync.markedBlocks() > 0)
                        {
                            final long seq = crashConsistentCheckpoint("initial-sync");
                            LOG.info("group={} epoch={} seq={} bulk sync of {} blocks complete: first checkpoint",
                                config.group(), state.epoch(), seq, bulkSync.ackedBlocks());
                        }
                    }
                    finally
                    {
                        initialCheckpointPending = false;
                        synchronized (bulkSyncMonitor)
                        {
                            bulkSyncMonitor.notifyAll();
                        }
                    }
                }
                if (role != AgentRole.DEMOTED && changeLog.resync() > 0)
                {
                    crashConsistentCheckpoint("resync");
                }
                if (config.checkpointIntervalMs() > 0 && role != AgentRole.DEMOTED &&
                    System.nanoTime() - lastIntervalCheckpointNs >= TimeUnit.MILLISECONDS.toNanos(config.checkpointIntervalMs()))
                {
                    lastIntervalCheckpointNs = System.nanoTime();
                    final long seq = checkpoint("interval");
                    LOG.info("group={} periodic checkpoint seq={}", config.group(), seq);
                }
                else if (config.capture() == AgentConfig.Capture.SCAN || !treeCapture.isEmpty())
                {
                    final long seq = scanAndCheckpoint(null, false);
                    if (seq > 0)
                    {
                        LOG.info("group={} epoch={} seq={} scan journaled {} changed blocks and a checkpoint",
                            config.group(), state.epoch(), seq, scanCapture.lastScanChangedBlocks());
                    }
                }
                writeStatus();
            }
            catch (final IOException | RuntimeException ex)
            {
                lastError = "scan failed: " + ex.getMessage();
                LOG.error("group={} epoch={} seq={} scan failed: {}", config.group(), state.epoch(), journal.lastSeq(),
                    ex.getMessage());
            }
        }
    }

    /** The NBD front end serving the host, or null if no volume has {@code front = nbd}. */
    public NbdFrontEnd nbdFrontEnd()
    {
        return nbdFrontEnd;
    }

    /** The embedding API: writes through here are journaled in call order. */
    public VolumeWriter writer()
    {
        return writer;
    }

    /**
     * Takes a checkpoint now (after a scan in scan mode), quiesced by the configured hooks and fsfreeze
     * (application-consistent if they all succeed); returns its seq, or -1 while demoted. During the
     * initial (bulk) sync it first waits for the sync to end: no image exists before the whole volume
     * is at the target.
     */
    public long checkpoint(final String label) throws IOException
    {
        if (Thread.currentThread() != scanThread)
        {
            awaitBulkSync();
        }
        if (!quiescer.isConfigured())
        {
            return crashConsistentCheckpoint(label);
        }
        if (role == AgentRole.DEMOTED || bulkSyncOutstanding())
        {
            return -1;
        }
        // One quiesced checkpoint at a time: two would freeze and thaw under each other.
        synchronized (quiescer)
        {
            final long seq;
            final String notConsistent;
            try (Quiescer.Quiesced quiesced = quiescer.quiesce(label))
            {
                final LongSupplier flags = () -> quiesced.seal() ? JournalEntryDescriptor.CHECKPOINT_APP_CONSISTENT : 0;
                seq = config.capture() == AgentConfig.Capture.SCAN ?
                    scanCapture.scanAndCheckpoint(label, flags) : writer.checkpoint(label, flags.getAsLong());
                notConsistent = quiesced.notConsistentBecause();
            }
            if (notConsistent != null)
            {
                LOG.warn("group={} checkpoint '{}' seq={} is only crash-consistent: {}", config.group(), label, seq,
                    notConsistent);
            }
            else
            {
                LOG.info("group={} checkpoint '{}' seq={} is application-consistent", config.group(), label, seq);
            }
            writeStatus();
            return seq;
        }
    }

    private long crashConsistentCheckpoint(final String label) throws IOException
    {
        if (role == AgentRole.DEMOTED)
        {
            return -1;
        }
        final long seq = scanAndCheckpoint(label, true);
        writeStatus();
        return seq;
    }

    /**
     * Scans the trees (their ops are journaled first), then the block volumes in scan mode, then
     * journals a checkpoint if anything changed or {@code explicit}.
     */
    private long scanAndCheckpoint(final String label, final boolean explicit) throws IOException
    {
        if (bulkSyncOutstanding())
        {
            // A scan now would journal every block the sync has not shipped yet, and no checkpoint may
            // be taken before it ends: the sync's own scan and the one after it cover the volume.
            return -1;
        }
        synchronized (scanLock)
        {
            final long treeOps = scanCapture.isPaused() ? 0 : treeCapture.scan();
            if (config.capture() == AgentConfig.Capture.SCAN)
            {
                final long seq = scanCapture.scanAndCheckpoint(label);
                return seq < 0 && treeOps > 0 ? changeLog.checkpoint(System.currentTimeMillis(), "scan") : seq;
            }
            return explicit || treeOps > 0 ? writer.checkpoint(label == null && !explicit ? "scan" : label) : -1;
        }
    }

    /** @return whether the scan went through (a failure is retried at the next turn). */
    private boolean bulkSyncScan()
    {
        try
        {
            final long startNs = System.nanoTime();
            final long marked = scanCapture.syncScan(bulkSync);
            LOG.info("group={} bulk sync scan marked {} blocks in {} ms", config.group(), marked,
                (System.nanoTime() - startNs) / 1_000_000);
            writeStatus();
            return marked >= 0;
        }
        catch (final IOException | RuntimeException ex)
        {
            lastError = "bulk sync scan failed: " + ex.getMessage();
            LOG.error("group={} bulk sync scan failed: {}; retrying", config.group(), ex.getMessage());
            return false;
        }
    }

    private void onBulkSyncDone()
    {
        initialCheckpointPending = true;
        bulkSyncDone = true;
        synchronized (bulkSyncMonitor)
        {
            bulkSyncMonitor.notifyAll();
        }
        wakeScanner();
    }

    /**
     * Until the bulk sync has ended and its first checkpoint is taken (so a checkpoint asked for during
     * the sync is the newest image once taken), or the agent stops or is demoted.
     */
    private void awaitBulkSync() throws IOException
    {
        synchronized (bulkSyncMonitor)
        {
            while ((bulkSyncOutstanding() || initialCheckpointPending) && running && role != AgentRole.DEMOTED)
            {
                try
                {
                    // Rechecked each time round: the agent may stop or be demoted without a notification.
                    bulkSyncMonitor.wait(100);
                }
                catch (final InterruptedException ex)
                {
                    Thread.currentThread().interrupt();
                    throw new java.io.InterruptedIOException("interrupted while waiting for the initial sync");
                }
            }
        }
    }

    /** Blocks the bulk sync's scans marked to ship from the volumes since start (0 without a bulk sync). */
    public long bulkSyncMarkedBlocks()
    {
        return bulkSync == null ? 0 : bulkSync.markedBlocks();
    }

    /** Whether a bulk (initial) sync is still shipping blocks from the volumes (no checkpoint before it ends). */
    public boolean bulkSyncOutstanding()
    {
        return bulkSync != null && bulkSync.outstanding();
    }

    private void wakeScanner()
    {
        final Thread thread = scanThread;
        if (thread != null)
        {
            java.util.concurrent.locks.LockSupport.unpark(thread);
        }
    }

    /** Scan-mode capture (its figures, and a test hook to keep a scan running). */
    public ScanCapture scanCapture()
    {
        return scanCapture;
    }

    /** Tree volume capture (empty when the group has none). */
    public TreeCapture treeCapture()
    {
        return treeCapture;
    }

    /** Blocks until the agent stops; returns the exit code (0, or 2 if the target refused it for good). */
    public int awaitStop() throws InterruptedException
    {
        stopped.await();
        return fatalRefusal == null ? 0 : 2;
    }

    public Messages.Refused fatalRefusal()
    {
        return fatalRefusal;
    }

    public AgentConfig config()
    {
        return config;
    }

    public AgentStatus status()
    {
        final Journal j = journal;
        return new AgentStatus(config.group(), role.name(), state.epoch(), connected, j.lastSeq(), ackedSeq,
            scanCapture.lastCheckpointSeq(), scanCapture.scans(), scanCapture.lastScanChangedBlocks(),
            scanCapture.lastScanEndMs(), j.sizeBytes(), changeLog.mode().name(), changeLog.unshippedBytes(),
            changeLog.dirtyBlocks(), lastError, oldestUnackedAgeMs());
    }

    /**
     * The RPO lag as the agent sees it: while a bulk sync is outstanding the volume's content is not
     * all at the target, so it counts from when this start found the sync to do.
     */
    private long oldestUnackedAgeMs()
    {
        final long nowMs = System.currentTimeMillis();
        final long journalAgeMs = changeLog.oldestUnackedAgeMs(nowMs);
        return bulkSyncOutstanding() ? Math.max(journalAgeMs, nowMs - bulkSyncSinceMs) : journalAgeMs;
    }

    /** The figures sent to the target with every heartbeat, and exported as metrics. */
    @Override
    public Messages.AgentStats stats()
    {
        final Journal j = journal;
        return new Messages.AgentStats(j.lastSeq(), ackedSeq, oldestUnackedAgeMs(),
            changeLog.unshippedBytes(), changeLog.maxUnshippedBytes(), j.sizeBytes(), changeLog.mode().name(),
            changeLog.dirtyBlocks(), changeLog.dirtyBytes(), scanCapture.lastCheckpointSeq());
    }

    /** The shipper, for its counters and latency histogram; null before {@link #start()}. */
    Shipper shipper()
    {
        return shipper;
    }

    ChangeLog changeLog()
    {
        return changeLog;
    }

    /** The port the metrics endpoint listens on, or -1 if it is off. */
    public int metricsPort()
    {
        final MetricsEndpoint endpoint = metrics;
        return endpoint == null ? -1 : endpoint.port();
    }

    /** The target's durable seq as last acknowledged: cheap, for callers that poll it (benchmarks). */
    public long ackedSeq()
    {
        return ackedSeq;
    }

    private void writeStatus()
    {
        try
        {
            AtomicFiles.write(config.stateDir().resolve(AgentStatus.FILE_NAME), ByteBuffer.wrap(Json.encode(status())));
        }
        catch (final IOException | RuntimeException ex)
        {
            LOG.debug("could not write agent status: {}", ex.getMessage());
        }
    }

    // ---------------------------------------------------------------- ShipperHost

    @Override
    public Journal journal()
    {
        return journal;
    }

    @Override
    public int[] blockSizes()
    {
        return config.volumes().stream().mapToInt(VolumeSpec::blockSize).toArray();
    }

    @Override
    public List<String> treeVolumes()
    {
        return treeCapture == null ? List.of() : treeCapture.names();
    }

    @Override
    public List<Messages.VolumeInfo> volumeInfos()
    {
        final List<Messages.VolumeInfo> infos = new ArrayList<>();
        for (final VolumeSpec spec : config.volumes())
        {
            infos.add(new Messages.VolumeInfo(spec.name(), spec.sizeBytes(), spec.blockSize()));
        }
        return infos;
    }

    @Override
    public long epoch()
    {
        return state.epoch();
    }

    @Override
    public dev.replicator.agent.ship.SyncSource syncSource()
    {
        return bulkSync;
    }

    @Override
    public void onWelcome(final long epoch) throws IOException
    {
        if (epoch != state.epoch())
        {
            final AgentState next = state.withEpoch(epoch);
            next.write(config.stateDir());
            state = next;
        }
        role = AgentRole.PRIMARY;
        scanCapture.resume();
    }

    @Override
    public void onConnectionChange(final boolean isConnected, final String error)
    {
        connected = isConnected;
        if (error != null)
        {
            lastError = error;
        }
        writeStatus();
    }

    private long lastStatusMs;

    @Override
    public void onAcked(final long seq)
    {
        ackedSeq = seq;
        changeLog.onAcked(seq);
        final long nowMs = System.currentTimeMillis();
        if (nowMs - lastStatusMs > 500)
        {
            lastStatusMs = nowMs;
            writeStatus();
        }
    }

    @Override
    public long checkpointOnRequest(final String label) throws IOException
    {
        return checkpoint(label);
    }

    @Override
    public long[] fingerprints(final int volumeIndex, final long firstBlock, final int count) throws IOException
    {
        return DemotedPrimary.fingerprintRange(volumes.get(volumeIndex), firstBlock, count, false);
    }

    @Override
    public void serveDemoted(final FrameChannel channel, final Messages.Refused refused) throws IOException
    {
        role = AgentRole.DEMOTED;
        scanCapture.pause();
        writeStatus();
        new DemotedPrimary(this, config.group(), config.heartbeatIntervalMs()).serve(channel, refused);
    }

    @Override
    public void onFatalRefusal(final Messages.Refused refused)
    {
        fatalRefusal = refused;
        lastError = refused.message();
        LOG.error("group={} epoch={} seq={} the target refused this agent ({}): {}; stopping", config.group(),
            refused.epoch(), refused.durableSeq(), refused.code(), refused.message());
        writeStatus();
        running = false;
        stopped.countDown();
    }

    // ---------------------------------------------------------------- DemotedHost

    @Override
    public List<CaptureVolume> volumes()
    {
        return volumes;
    }

    @Override
    public dev.replicator.core.bitmap.BlockBitmap unjournaledChanges(final int volumeIndex)
    {
        // Blocks the bulk sync has not shipped are not at the target either.
        return changeLog.dirty(volumeIndex).or(bulkSync.pending(volumeIndex));
    }

    @Override
    public synchronized String switchToPrimary(final long epoch, final long baseSeq) throws IOException
    {
        // The fingerprint tables are not forced here: every entry failback set follows a durable
        // write, so an entry the kernel has not written back yet only lags, and a lagging entry costs a
        // resend at the next startup scan, never a lost change.
        // The old journal (with its tail, now overwritten by failback) goes; the new one continues
        // the group's sequence after the target's failback checkpoint. Its files are freed in the
        // background: deleting a multi-GiB queue held the target's ROLE_SWITCH_ACK for seconds.
        journal.close();
        final JournalDiscard discard = new JournalDiscard(config.stateDir());
        final Path aside = discard.keepAside(journalConfig().directory());
        journal = Journal.create(journalConfig(), baseSeq);
        discard.deleteInBackground(aside);
        changeLog.reset();
        bulkSync.reset();
        final AgentState next = state.withEpoch(epoch);
        next.write(config.stateDir());
        state = next;
        role = AgentRole.PRIMARY;
        scanCapture.resume();
        writeStatus();
        return journal.journalId();
    }

    // ---------------------------------------------------------------- lifecycle

    @Override
    public void close()
    {
        running = false;
        if (nbdFrontEnd != null)
        {
            // The host's writes stop first, so every write it was answered for is journaled.
            nbdFrontEnd.close();
        }
        if (metrics != null)
        {
            metrics.close();
        }
        if (shipper != null)
        {
            shipper.stop();
        }
        joinQuietly(shipperThread);
        if (scanThread != null)
        {
            java.util.concurrent.locks.LockSupport.unpark(scanThread);
            joinQuietly(scanThread);
        }
        synchronized (this)
        {
            if (journal != null && state != null)
            {
                LOG.info("group={} epoch={} seq={} agent stopping (target acknowledged seq={})", config.group(),
                    state.epoch(), journal.lastSeq(), ackedSeq);
            }
            writeStatusIfOpen();
            closeQuietly();
        }
        if (quiescer != null)
        {
            quiescer.close();
        }
        stopped.countDown();
    }

    private void writeStatusIfOpen()
    {
        if (journal != null && scanCapture != null)
        {
            writeStatus();
        }
    }

    private void closeQuietly()
    {
        for (final CaptureVolume volume : volumes)
        {
            try
            {
                volume.close();
            }
            catch (final IOException ex)
            {
                LOG.warn("closing volume {}: {}", volume.spec().name(), ex.getMessage());
            }
        }
        volumes.clear();
        if (treeCapture != null)
        {
            treeCapture.close();
        }
        if (journal != null)
        {
            journal.close();
        }
    }

    private static void joinQuietly(final Thread thread)
    {
        if (thread == null)
        {
            return;
        }
        try
        {
            thread.join(10_000);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
        }
    }
}
