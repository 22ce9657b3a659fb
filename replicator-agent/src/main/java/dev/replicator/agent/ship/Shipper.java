package dev.replicator.agent.ship;

import dev.replicator.core.codec.Checksums;
import dev.replicator.core.config.HostPort;
import dev.replicator.core.journal.Journal;
import dev.replicator.core.journal.JournalEntryDescriptor;
import dev.replicator.core.journal.JournalEntryHandler;
import dev.replicator.core.journal.JournalReader;
import dev.replicator.core.wire.BlockRecordDescriptor;
import dev.replicator.core.security.PeerRefusedException;
import dev.replicator.core.security.Transport;
import dev.replicator.core.wire.DataFrameEncoder;
import dev.replicator.core.wire.Frame;
import dev.replicator.core.wire.FrameChannel;
import dev.replicator.core.wire.FrameDescriptor;
import dev.replicator.core.wire.FingerprintsCodec;
import dev.replicator.core.wire.MessageType;
import dev.replicator.core.wire.Messages;
import dev.replicator.core.wire.ProtocolException;
import io.prometheus.metrics.core.metrics.Histogram;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.IdleStrategy;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;

/**
 * Streams the journal to the target: connects, says hello, and on welcome ships every entry after
 * the target's durable seq in data frames, with up to {@code windowFrames} frames unacknowledged.
 * On any disconnect it reconnects with backoff and resumes from the target's durable seq, so an
 * entry is resent rather than lost. Releases journal cycles the target has acknowledged.
 *
 * <p>Threads: {@link #run()} owns the connection and the journal reader; one ack reader thread
 * per connection handles the target's frames.
 */
public final class Shipper implements Runnable
{
    private static final Logger LOG = LoggerFactory.getLogger(Shipper.class);
    private static final int CONNECT_TIMEOUT_MS = 2000;
    private static final long INITIAL_BACKOFF_MS = 50;
    private static final long MAX_BACKOFF_MS = 2000;
    private static final long RELEASE_INTERVAL_MS = 1000;
    private static final int ENTRIES_PER_POLL = 64;
    /**
     * Plain bytes of one bulk-sync frame: 4 MiB, so a group commit at the target (up to 8 frames, one
     * set of fsyncs) covers 32 MiB instead of the 8 MiB of 1 MiB journal frames.
     */
    private static final int SYNC_FRAME_BYTES = 4 << 20;
    /** Runs one sync frame may hold (a scattered volume makes runs of one block). */
    private static final int SYNC_MAX_RUNS = 256;

    private final ShipperHost host;
    private final String group;
    private final String agentName;
    private final HostPort target;
    private final int windowFrames;
    private final int frameBytes;
    private final int heartbeatIntervalMs;
    private final Transport transport;
    private final DataFrameEncoder encoder = new DataFrameEncoder();
    private final IdleStrategy idle = new BackoffIdleStrategy(
        100, 10, TimeUnit.MICROSECONDS.toNanos(1), TimeUnit.MILLISECONDS.toNanos(1));
    private final Object ackMonitor = new Object();
    /** {last seq of the frame, System.nanoTime() when it was sent} of unacknowledged frames. */
    private final ArrayDeque<long[]> inflight = new ArrayDeque<>();
    private final Histogram roundTripSeconds = Histogram.builder()
        .name("replicator_agent_ship_round_trip_seconds")
        .help("Time from sending a data frame to the target's acknowledgement that it is durable")
        .classicExponentialUpperBounds(0.0001, 2, 16)
        .classicOnly()
        .build();

    /**
     * Unacknowledged sync frames: {frame number, frame bytes, run count, (volume, first block, blocks)
     * per run, then the xxHash64 of every block in run order}.
     */
    private final ArrayDeque<long[]> syncInflight = new ArrayDeque<>();
    private final long[] syncRun = new long[2];
    private final long[] syncRuns = new long[3 * SYNC_MAX_RUNS];
    private long[] syncFingerprints = new long[0];
    private int syncBlocks;
    private DataFrameEncoder syncEncoder;
    private ByteBuffer syncBuffer;
    private long[] syncCursor = new long[0];
    private int syncVolume;
    private long syncInflightBytes;
    private long syncFrameNumber;
    private long syncWindowBytes = 32L << 20;
    private long syncRateBytesPerS;
    private long syncSessionStartNs;
    private long syncSessionBytes;
    private volatile long syncBytesSent;

    private volatile boolean running = true;
    private volatile FrameChannel current;
    private volatile long ackedSeq;
    private volatile IOException connectionError;
    private long epoch;
    private long framesSent;
    private volatile long bytesSent;
    private long lastSendMs;
    private long lastStatsMs;
    private boolean loggedUnreachable;
    private String lastLoggedMessage = "";
    private long lastLoggedMs;
    private boolean welcomed;

    public Shipper(
        final ShipperHost host,
        final String group,
        final String agentName,
        final HostPort target,
        final int windowFrames,
        final int frameBytes,
        final int heartbeatIntervalMs,
        final Transport transport)
    {
        this.transport = transport;
        this.host = host;
        this.group = group;
        this.agentName = agentName;
        this.target = target;
        this.windowFrames = windowFrames;
        this.frameBytes = frameBytes;
        this.heartbeatIntervalMs = heartbeatIntervalMs;
    }

    /**
     * Bulk-sync flow control: at most {@code windowBytes} of sync frames unacknowledged, and (if
     * {@code rateBytesPerS > 0}) no faster than that on average over a connection. Call before {@link #run()}.
     */
    public Shipper syncLimits(final long windowBytes, final long rateBytesPerS)
    {
        this.syncWindowBytes = windowBytes;
        this.syncRateBytesPerS = rateBytesPerS;
        return this;
    }

    /** Bytes of bulk-sync frames written to the target since start (resends count again). */
    public long syncBytesSent()
    {
        return syncBytesSent;
    }

    public long framesSent()
    {
        return framesSent;
    }

    /** Bytes of data frames written to the target since start (resends count again). */
    public long bytesSent()
    {
        return bytesSent;
    }

    /** Send-to-durable-ack latency of data frames (exported by the agent's metrics endpoint). */
    public Histogram roundTripSeconds()
    {
        return roundTripSeconds;
    }

    public void stop()
    {
        running = false;
        final FrameChannel channel = current;
        if (channel != null)
        {
            try
            {
                channel.close();
            }
            catch (final IOException ignore)
            {
                // Closing to wake the threads: nothing more to do.
            }
        }
    }

    @Override
    public void run()
    {
        long backoffMs = INITIAL_BACKOFF_MS;
        while (running)
        {
            try
            {
                if (session())
                {
                    backoffMs = INITIAL_BACKOFF_MS;
                    continue;
                }
                backoffMs = INITIAL_BACKOFF_MS;
            }
            catch (final FatalRefusalException ex)
            {
                host.onFatalRefusal(ex.refused);
                return;
            }
            catch (final IOException | UncheckedIOException ex)
            {
                if (!running)
                {
                    return;
                }
                logDisconnect(ex);
            }
            catch (final dev.replicator.core.journal.JournalException ex)
            {
                // The journal names the damage and the last intact seq: a stack trace adds nothing.
                LOG.error("group={} epoch={} seq={} cannot read the journal: {}; retrying", group, epoch, ackedSeq,
                    ex.getMessage());
                host.onConnectionChange(false, ex.getMessage());
            }
            catch (final RuntimeException ex)
            {
                // A bug must not silently stop shipping for good: say so, retry.
                LOG.error("group={} epoch={} seq={} shipper failed unexpectedly; reconnecting", group, epoch, ackedSeq,
                    ex);
                host.onConnectionChange(false, ex.toString());
            }
            finally
            {
                current = null;
                host.onConnectionChange(false, null);
            }
            if (welcomed)
            {
                // The target was reachable and took us: this loss is new, not the latest of a run of
                // failed attempts. Without the reset every loss after the sixth waited the maximum.
                backoffMs = INITIAL_BACKOFF_MS;
            }
            parkMs(backoffMs);
            backoffMs = Math.min(MAX_BACKOFF_MS, backoffMs * 2);
        }
    }

    private void logDisconnect(final Exception ex)
    {
        final String raw = ex instanceof UncheckedIOException ? ex.getCause().getMessage() : ex.getMessage();
        final String detail = raw == null ? ex.toString() : raw;
        // A TLS failure after our handshake (the target refused our certificate) arrives as an alert.
        final String message = ex instanceof javax.net.ssl.SSLException && !(ex instanceof PeerRefusedException) ?
            "TLS: " + detail + " (the target may have refused this agent's certificate; see its log)" : detail;
        host.onConnectionChange(false, message);
        if (ex instanceof java.net.ConnectException)
        {
            if (!loggedUnreachable)
            {
                LOG.warn("group={} epoch={} seq={} target {} unreachable ({}); journaling locally and retrying", group,
                    host.epoch(), ackedSeq, target, message);
                loggedUnreachable = true;
            }
            return;
        }
        final long nowMs = System.currentTimeMillis();
        // A target that keeps refusing (paused, disk full) must not flood the log: say it once a minute.
        if (!message.equals(lastLoggedMessage) || nowMs - lastLoggedMs >= 60_000)
        {
            LOG.warn("group={} epoch={} seq={} connection to target {} lost: {}; will resume from the target's " +
                "durable seq", group, host.epoch(), ackedSeq, target, message);
            lastLoggedMessage = message;
            lastLoggedMs = nowMs;
        }
    }

    /** @return true to reconnect at once (roles switched), false for the usual backoff. */
    private boolean session() throws IOException
    {
        welcomed = false;
        final Socket socket = transport.connect(target, CONNECT_TIMEOUT_MS);
        try (FrameChannel channel = new FrameChannel(socket))
        {
            current = channel;
            if (!running)
            {
                return false;
            }
            channel.readTimeoutMs(heartbeatIntervalMs * 10);
            final Journal journal = host.journal();
            channel.send(MessageType.HELLO, host.epoch(), 0, new Messages.Hello(
                Messages.PROTOCOL_VERSION, group, agentName, journal.journalId(), host.epoch(), journal.lastSeq(),
                host.volumeInfos(), host.treeVolumes()));
            final Frame reply = channel.read();
            switch (reply.type())
            {
                case WELCOME ->
                {
                    final Messages.Welcome welcome = reply.bodyAs(Messages.Welcome.class);
                    loggedUnreachable = false;
                    welcomed = true;
                    host.onWelcome(welcome.epoch());
                    epoch = welcome.epoch();
                    host.onConnectionChange(true, null);
                    LOG.info("group={} epoch={} connected to target {} as primary; shipping after seq={}",
                        group, epoch, target, welcome.durableSeq());
                    ship(channel, journal, welcome.durableSeq());
                    return false;
                }
                case REFUSED ->
                {
                    final Messages.Refused refused = reply.bodyAs(Messages.Refused.class);
                    if (Messages.RefusalCode.DEMOTED.equals(refused.code()))
                    {
                        host.onConnectionChange(true, null);
                        host.serveDemoted(channel, refused);
                        return true;
                    }
                    if (Messages.RefusalCode.BUSY.equals(refused.code()))
                    {
                        throw new IOException("target is busy: " + refused.message());
                    }
                    throw new FatalRefusalException(refused);
                }
                default -> throw new ProtocolException("expected WELCOME or REFUSED, got " + reply.type());
            }
        }
    }

    private void ship(final FrameChannel channel, final Journal journal, final long durableSeq) throws IOException
    {
        ackedSeq = durableSeq;
        connectionError = null;
        inflight.clear();
        host.onAcked(durableSeq);
        final Thread ackReader = new Thread(() -> readAcks(channel), "ack-reader-" + group);
        ackReader.setDaemon(true);
        ackReader.start();
        final int[] blockSizes = host.blockSizes();
        final JournalEntryHandler handler = new FrameFiller(channel, blockSizes);
        final SyncSource sync = host.syncSource();
        startSyncSession(sync);
        long lastReleaseMs = System.currentTimeMillis();
        try (JournalReader reader = journal.reader(durableSeq))
        {
            encoder.begin();
            lastSendMs = System.currentTimeMillis();
            sendStats(channel, lastSendMs);
            while (running)
            {
                checkConnection();
                final int entries = pollUnchecked(reader, handler);
                if (!encoder.isEmpty() && (entries == 0 || encoder.encodedBytes() >= frameBytes))
                {
                    sendFrame(channel);
                }
                // Only with the journal drained and its frame sent: a block read from the volume now goes out
                // before every entry written after the read (they are polled later).
                final boolean synced = entries == 0 && encoder.isEmpty() && sync != null && sendSyncFrame(channel, sync);
                final long loopMs = System.currentTimeMillis();
                if (loopMs - lastStatsMs >= heartbeatIntervalMs)
                {
                    sendStats(channel, loopMs);
                }
                if (synced)
                {
                    idle.reset();
                }
                else if (entries == 0)
                {
                    final long nowMs = System.currentTimeMillis();
                    if (nowMs - lastSendMs >= heartbeatIntervalMs)
                    {
                        // The heartbeat's seq is the journal's newest: the target compares it with its durable
                        // seq to see how far behind it is (auto failover's max.lag.s).
                        channel.send(MessageType.HEARTBEAT, epoch, journal.lastSeq(), null);
                        lastSendMs = nowMs;
                    }
                    if (nowMs - lastReleaseMs >= RELEASE_INTERVAL_MS)
                    {
                        journal.release(ackedSeq);
                        lastReleaseMs = nowMs;
                    }
                    idle.idle();
                }
                else
                {
                    idle.reset();
                }
            }
        }
        finally
        {
            channel.close();
            try
            {
                ackReader.join(5000);
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
            }
        }
    }

    private void sendStats(final FrameChannel channel, final long nowMs) throws IOException
    {
        channel.send(MessageType.AGENT_STATS, epoch, ackedSeq, host.stats());
        lastStatsMs = nowMs;
    }

    private static int pollUnchecked(final JournalReader reader, final JournalEntryHandler handler) throws IOException
    {
        try
        {
            return reader.poll(handler, ENTRIES_PER_POLL);
        }
        catch (final UncheckedIOException ex)
        {
            throw ex.getCause();
        }
    }

    private void checkConnection() throws IOException
    {
        final IOException error = connectionError;
        if (error != null)
        {
            throw error;
        }
    }

    private void sendFrame(final FrameChannel channel) throws IOException
    {
        final long frameSeq = encoder.lastSeq();
        final long deadlineMs = System.currentTimeMillis() + heartbeatIntervalMs * 10L;
        synchronized (ackMonitor)
        {
            while (true)
            {
                while (!inflight.isEmpty() && inflight.peekFirst()[0] <= ackedSeq)
                {
                    inflight.pollFirst();
                }
                if (inflight.size() < windowFrames)
                {
                    break;
                }
                checkConnection();
                final long waitMs = deadlineMs - System.currentTimeMillis();
                if (waitMs <= 0)
                {
                    throw new IOException("no acknowledgement from the target for " + heartbeatIntervalMs * 10L + " ms");
                }
                try
                {
                    ackMonitor.wait(waitMs);
                }
                catch (final InterruptedException ex)
                {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted while waiting for acknowledgements", ex);
                }
            }
            inflight.addLast(new long[] {frameSeq, System.nanoTime()});
        }
        final ByteBuffer frame = encoder.finish(MessageType.DATA, epoch);
        final int frameLength = frame.remaining();
        channel.write(frame);
        bytesSent += frameLength;
        framesSent++;
        lastSendMs = System.currentTimeMillis();
        encoder.begin();
    }

    private void startSyncSession(final SyncSource sync)
    {
        synchronized (ackMonitor)
        {
            syncInflight.clear();
            syncInflightBytes = 0;
        }
        if (sync == null)
        {
            return;
        }
        if (syncEncoder == null)
        {
            syncEncoder = new DataFrameEncoder();
            syncBuffer = ByteBuffer.allocateDirect(SYNC_FRAME_BYTES);
        }
        int smallestBlock = Integer.MAX_VALUE;
        for (int v = 0; v < sync.volumeCount(); v++)
        {
            smallestBlock = Math.min(smallestBlock, sync.blockSize(v));
        }
        if (syncFingerprints.length < SYNC_FRAME_BYTES / smallestBlock)
        {
            syncFingerprints = new long[SYNC_FRAME_BYTES / smallestBlock];
        }
        // A new connection resends every block not yet acknowledged: the cursors start over.
        syncCursor = new long[sync.volumeCount()];
        syncVolume = 0;
        syncSessionStartNs = System.nanoTime();
        syncSessionBytes = 0;
    }

    /**
     * Reads the next blocks of the bulk sync from the volumes and sends them as one SYNC_DATA frame,
     * if the sync window and rate allow; @return whether a frame was sent.
     */
    private boolean sendSyncFrame(final FrameChannel channel, final SyncSource sync) throws IOException
    {
        if (!sync.outstanding())
        {
            // A volatile read: the idle loop of an agent without a sync pays nothing more.
            return false;
        }
        synchronized (ackMonitor)
        {
            if (syncInflightBytes >= syncWindowBytes)
            {
                return false;
            }
        }
        if (syncRateBytesPerS > 0 &&
            syncSessionBytes > syncRateBytesPerS * (System.nanoTime() - syncSessionStartNs) / 1_000_000_000L)
        {
            return false;
        }
        final long number = syncFrameNumber + 1;
        syncEncoder.begin();
        int plainBytes = 0;
        int runs = 0;
        int idleVolumes = 0;
        syncBlocks = 0;
        final int volumeCount = sync.volumeCount();
        while (idleVolumes < volumeCount && runs < SYNC_MAX_RUNS)
        {
            final int v = syncVolume;
            final int blockSize = sync.blockSize(v);
            final int maxBlocks = (SYNC_FRAME_BYTES - plainBytes) / blockSize;
            if (maxBlocks == 0)
            {
                break;
            }
            if (!sync.nextRun(v, syncCursor[v], maxBlocks, syncRun))
            {
                syncVolume = (v + 1) % volumeCount;
                idleVolumes++;
                continue;
            }
            final long first = syncRun[0];
            final int blocks = (int)syncRun[1];
            syncBuffer.clear().position(plainBytes).limit(plainBytes + blocks * blockSize);
            sync.read(v, first, syncBuffer);
            for (int i = 0; i < blocks; i++)
            {
                final int offset = plainBytes + i * blockSize;
                syncEncoder.addBlock(number, v, first + i, syncBuffer, offset, blockSize);
                syncFingerprints[syncBlocks + i] = Checksums.xxHash64(syncBuffer, offset, blockSize);
            }
            syncBlocks += blocks;
            syncRuns[3 * runs] = v;
            syncRuns[3 * runs + 1] = first;
            syncRuns[3 * runs + 2] = blocks;
            runs++;
            plainBytes += blocks * blockSize;
            syncCursor[v] = first + blocks;
        }
        if (runs == 0)
        {
            synchronized (ackMonitor)
            {
                if (syncInflight.isEmpty() && !sync.scanRunning() && sync.outstanding())
                {
                    // Blocks marked again behind the cursors (a scan that started over): another pass.
                    java.util.Arrays.fill(syncCursor, 0);
                }
            }
            return false;
        }
        final ByteBuffer frame = syncEncoder.finish(MessageType.SYNC_DATA, epoch);
        final int frameLength = frame.remaining();
        final long[] record = new long[3 + 3 * runs + syncBlocks];
        record[0] = number;
        record[1] = frameLength;
        record[2] = runs;
        System.arraycopy(syncRuns, 0, record, 3, 3 * runs);
        System.arraycopy(syncFingerprints, 0, record, 3 + 3 * runs, syncBlocks);
        synchronized (ackMonitor)
        {
            syncInflight.addLast(record);
            syncInflightBytes += frameLength;
        }
        syncFrameNumber = number;
        channel.write(frame);
        bytesSent += frameLength;
        syncBytesSent += frameLength;
        syncSessionBytes += frameLength;
        framesSent++;
        lastSendMs = System.currentTimeMillis();
        return true;
    }

    private void onSyncAck(final long number)
    {
        final SyncSource sync = host.syncSource();
        while (true)
        {
            final long[] record;
            synchronized (ackMonitor)
            {
                record = syncInflight.peekFirst();
                if (record == null || record[0] > number)
                {
                    return;
                }
                syncInflight.pollFirst();
                syncInflightBytes -= record[1];
            }
            final int runs = (int)record[2];
            int fingerprint = 3 + 3 * runs;
            for (int r = 0; r < runs; r++)
            {
                final int blocks = (int)record[5 + 3 * r];
                sync.acked((int)record[3 + 3 * r], record[4 + 3 * r], blocks, record, fingerprint);
                fingerprint += blocks;
            }
        }
    }

    private void readAcks(final FrameChannel channel)
    {
        final ByteBuffer fingerprintFrame = ByteBuffer.allocate(FrameDescriptor.HEADER_LENGTH +
            FingerprintsCodec.HEADER_LENGTH + FingerprintsCodec.MAX_COUNT * Long.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        try
        {
            while (true)
            {
                final Frame frame = channel.read();
                switch (frame.type())
                {
                    case ACK -> onAck(frame.seq());
                    case SYNC_ACK -> onSyncAck(frame.seq());
                    case HEARTBEAT ->
                    {
                    }
                    case NACK -> throw new IOException("target rejected a frame: " + frame.bodyAs(Messages.Refused.class)
                        .message());
                    case CHECKPOINT_REQUEST -> onCheckpointRequest(channel, frame.bodyAs(Messages.CheckpointRequest.class));
                    case FINGERPRINT_REQUEST ->
                    {
                        final Messages.FingerprintRequest request = frame.bodyAs(Messages.FingerprintRequest.class);
                        final long[] fingerprints = host.fingerprints(
                            request.volumeIndex(), request.firstBlock(), request.count());
                        final int length = FingerprintsCodec.encode(fingerprintFrame, request.volumeIndex(),
                            request.firstBlock(), fingerprints, fingerprints.length);
                        channel.sendBinary(fingerprintFrame, length, MessageType.FINGERPRINTS, epoch, 0, 0);
                    }
                    case REFUSED -> throw new IOException("target refused: " + frame.bodyAs(Messages.Refused.class)
                        .message());
                    default -> throw new ProtocolException("unexpected " + frame.type() + " while shipping");
                }
            }
        }
        catch (final IOException ex)
        {
            connectionError = ex instanceof EOFException ? new EOFException("target closed the connection") : ex;
        }
        catch (final RuntimeException ex)
        {
            connectionError = new IOException(ex.toString(), ex);
        }
        finally
        {
            synchronized (ackMonitor)
            {
                ackMonitor.notifyAll();
            }
        }
    }

    private void onAck(final long seq)
    {
        synchronized (ackMonitor)
        {
            if (seq > ackedSeq)
            {
                ackedSeq = seq;
            }
            final long nowNs = System.nanoTime();
            while (!inflight.isEmpty() && inflight.peekFirst()[0] <= seq)
            {
                roundTripSeconds.observe((nowNs - inflight.pollFirst()[1]) / 1e9);
            }
            ackMonitor.notifyAll();
        }
        host.onAcked(seq);
    }

    private void onCheckpointRequest(final FrameChannel channel, final Messages.CheckpointRequest request)
    {
        // A scan can take a while: run it off the ack reader so acks keep flowing.
        final Thread worker = new Thread(() ->
        {
            try
            {
                final long seq = host.checkpointOnRequest(request.label());
                channel.send(MessageType.CHECKPOINT_TAKEN, epoch, seq,
                    new Messages.CheckpointTaken(request.requestId(), seq));
            }
            catch (final IOException | RuntimeException ex)
            {
                LOG.warn("group={} epoch={} checkpoint '{}' failed: {}", group, epoch, request.label(), ex.getMessage());
                try
                {
                    channel.send(MessageType.CHECKPOINT_TAKEN, epoch, -1,
                        new Messages.CheckpointTaken(request.requestId(), -1));
                }
                catch (final IOException ignore)
                {
                    // The connection is gone; the target times the request out.
                }
            }
        }, "checkpoint-" + group);
        worker.setDaemon(true);
        worker.start();
    }

    private static void parkMs(final long ms)
    {
        final long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(ms);
        long remaining;
        while ((remaining = deadline - System.nanoTime()) > 0)
        {
            java.util.concurrent.locks.LockSupport.parkNanos(remaining);
        }
    }

    /** Adds journal entries to the current frame, sending it when the next entry does not fit. */
    private final class FrameFiller implements JournalEntryHandler
    {
        private final FrameChannel channel;
        private final int[] blockSizes;

        FrameFiller(final FrameChannel channel, final int[] blockSizes)
        {
            this.channel = channel;
            this.blockSizes = blockSizes;
        }

        @Override
        public void onWrite(
            final long seq, final long timestampMs, final int volumeIndex, final long firstBlock, final ByteBuffer payload)
        {
            final int blockSize = blockSizes[volumeIndex];
            final int blocks = payload.remaining() / blockSize;
            try
            {
                // frameBytes bounds every frame, not only the one a poll of the journal ends with:
                // while catching up, a poll of ENTRIES_PER_POLL entries would otherwise make frames
                // of up to 64 entries (8 MiB), and every loss resends a window of them.
                final boolean full = !encoder.isEmpty() && encoder.encodedBytes() >= frameBytes;
                if (full || !encoder.hasRoomFor(blocks, blockSize))
                {
                    sendFrame(channel);
                }
                final int base = payload.position();
                for (int i = 0; i < blocks; i++)
                {
                    encoder.addBlock(seq, volumeIndex, firstBlock + i, payload, base + i * blockSize, blockSize);
                }
            }
            catch (final IOException ex)
            {
                throw new UncheckedIOException(ex);
            }
        }

        @Override
        public void onTree(final long seq, final long timestampMs, final int treeIndex, final ByteBuffer payload)
        {
            try
            {
                final boolean full = !encoder.isEmpty() && encoder.encodedBytes() >= frameBytes;
                if (full || !encoder.tryAddTree(seq, treeIndex, payload, payload.position(), payload.remaining()))
                {
                    sendFrame(channel);
                    if (!encoder.tryAddTree(seq, treeIndex, payload, payload.position(), payload.remaining()))
                    {
                        throw new IllegalStateException("tree op seq " + seq + " of " + payload.remaining() +
                            " bytes does not fit an empty frame");
                    }
                }
            }
            catch (final IOException ex)
            {
                throw new UncheckedIOException(ex);
            }
        }

        @Override
        public void onCheckpoint(final long seq, final long timestampMs, final String label)
        {
            onCheckpoint(seq, timestampMs, label, 0);
        }

        @Override
        public void onCheckpoint(final long seq, final long timestampMs, final String label, final long flags)
        {
            final int wireFlags = (flags & JournalEntryDescriptor.CHECKPOINT_APP_CONSISTENT) != 0 ?
                BlockRecordDescriptor.CHECKPOINT_APP_CONSISTENT : 0;
            try
            {
                if (!encoder.tryAddCheckpoint(seq, timestampMs, label, wireFlags))
                {
                    sendFrame(channel);
                    encoder.tryAddCheckpoint(seq, timestampMs, label, wireFlags);
                }
            }
            catch (final IOException ex)
            {
                throw new UncheckedIOException(ex);
            }
        }
    }

    /** A refusal that retrying cannot fix (wrong volumes, another journal). */
    static final class FatalRefusalException extends IOException
    {
        private static final long serialVersionUID = 1L;
        final transient Messages.Refused refused;

        FatalRefusalException(final Messages.Refused refused)
        {
            super(refused.message());
            this.refused = refused;
        }
    }
}
