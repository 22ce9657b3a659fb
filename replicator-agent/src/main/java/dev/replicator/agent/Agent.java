package dev.replicator.agent;

import dev.replicator.agent.capture.CaptureVolume;
import dev.replicator.agent.capture.ChangeLog;
import dev.replicator.agent.capture.ScanCapture;
import dev.replicator.agent.capture.VolumeWriter;
import dev.replicator.agent.failback.DemotedHost;
import dev.replicator.agent.failback.DemotedPrimary;
import dev.replicator.agent.ship.Shipper;
import dev.replicator.agent.ship.ShipperHost;
import dev.replicator.core.io.AtomicFiles;
import dev.replicator.core.journal.Journal;
import dev.replicator.core.journal.JournalConfig;
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
    private VolumeWriter writer;
    private Shipper shipper;
    private Thread shipperThread;
    private Thread scanThread;
    private volatile boolean running;

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
        Files.createDirectories(config.stateDir());
        state = AgentState.readOrNew(config.stateDir(), config.group());
        journal = Journal.open(journalConfig());
        try
        {
            for (int i = 0; i < config.volumes().size(); i++)
            {
                volumes.add(CaptureVolume.open(i, config.volumes().get(i), config.stateDir().resolve("fingerprints")));
            }
            final boolean sync = config.journalSync() == AgentConfig.JournalSync.CHECKPOINT;
            changeLog = new ChangeLog(config.group(), this::journal, volumes, config.stateDir().resolve("dirty"),
                config.maxUnshippedBytes(), sync);
            scanCapture = new ScanCapture(changeLog, volumes);
            writer = new VolumeWriter(changeLog, volumes);
            final long startSeq = scanCapture.scanAndCheckpoint(null);
            LOG.info("group={} epoch={} agent started: {} volume(s), journal {} at seq={}{}", config.group(),
                state.epoch(), volumes.size(), journal.journalId(), journal.lastSeq(),
                startSeq > 0 ? ", startup scan journaled " + scanCapture.lastScanChangedBlocks() + " blocks" : "");
        }
        catch (final IOException | RuntimeException ex)
        {
            closeQuietly();
            throw ex;
        }
        running = true;
        shipper = new Shipper(this, config.group(), config.agentName(), config.target(), config.windowFrames(),
            config.frameBytes(), config.heartbeatIntervalMs());
        shipperThread = new Thread(shipper, "shipper-" + config.group());
        shipperThread.start();
        // In API mode the loop only resyncs blocks recorded in bitmap mode.
        scanThread = new Thread(this::scanLoop, "scanner-" + config.group());
        scanThread.setDaemon(true);
        scanThread.start();
        writeStatus();
        return this;
    }

    private JournalConfig journalConfig()
    {
        return JournalConfig.builder(config.stateDir().resolve("journal"))
            .rollCycle(RollCycles.valueOf(config.rollCycle()))
            .build();
    }

    private void scanLoop()
    {
        while (running)
        {
            final long deadlineNs = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(config.scanIntervalMs());
            long remainingNs;
            while (running && (remainingNs = deadlineNs - System.nanoTime()) > 0)
            {
                java.util.concurrent.locks.LockSupport.parkNanos(this, remainingNs);
            }
            if (!running)
            {
                return;
            }
            try
            {
                if (role != AgentRole.DEMOTED && changeLog.resync() > 0)
                {
                    checkpoint("resync");
                }
                if (config.capture() == AgentConfig.Capture.SCAN)
                {
                    final long seq = scanCapture.scanAndCheckpoint(null);
                    if (seq > 0)
                    {
                        LOG.info("group={} scan journaled {} changed blocks, checkpoint seq={}", config.group(),
                            scanCapture.lastScanChangedBlocks(), seq);
                    }
                }
                writeStatus();
            }
            catch (final IOException | RuntimeException ex)
            {
                lastError = "scan failed: " + ex.getMessage();
                LOG.error("group={} scan failed: {}", config.group(), ex.getMessage());
            }
        }
    }

    /** The embedding API: writes through here are journaled in call order. */
    public VolumeWriter writer()
    {
        return writer;
    }

    /** Takes a checkpoint now (after a scan in scan mode); returns its seq, or -1 while demoted. */
    public long checkpoint(final String label) throws IOException
    {
        if (role == AgentRole.DEMOTED)
        {
            return -1;
        }
        final long seq = config.capture() == AgentConfig.Capture.SCAN ?
            scanCapture.scanAndCheckpoint(label) : writer.checkpoint(label);
        writeStatus();
        return seq;
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
            changeLog.dirtyBlocks(), lastError);
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
        LOG.error("group={} the target refused this agent: {}", config.group(), refused.message());
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
        return changeLog.dirty(volumeIndex);
    }

    @Override
    public synchronized String switchToPrimary(final long epoch, final long baseSeq) throws IOException
    {
        for (final CaptureVolume volume : volumes)
        {
            volume.table().force();
        }
        // The old journal (with its tail, now overwritten by failback) goes; the new one continues
        // the group's sequence after the target's failback checkpoint.
        journal.close();
        journal = Journal.create(journalConfig(), baseSeq);
        changeLog.reset();
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
            writeStatusIfOpen();
            closeQuietly();
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
