package dev.replicator.agent.failback;

import dev.replicator.agent.capture.CaptureVolume;
import dev.replicator.core.bitmap.BlockBitmap;
import dev.replicator.core.codec.Checksums;
import dev.replicator.core.journal.Journal;
import dev.replicator.core.journal.JournalEntryHandler;
import dev.replicator.core.journal.JournalReader;
import dev.replicator.core.wire.DataFrameDecoder;
import dev.replicator.core.wire.DecodedBatch;
import dev.replicator.core.wire.FingerprintsCodec;
import dev.replicator.core.wire.Frame;
import dev.replicator.core.wire.FrameChannel;
import dev.replicator.core.wire.FrameDescriptor;
import dev.replicator.core.wire.MessageType;
import dev.replicator.core.wire.Messages;
import dev.replicator.core.wire.ProtocolException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The primary's side of failback, on the connection the target refused with DEMOTED: report the
 * journal tail the target never acknowledged, then write the blocks the target sends
 * (recovery-side content), answer fingerprint requests for verification, and on ROLE_SWITCH
 * become primary again with a fresh journal. Never ships. One thread: the connection's reader.
 */
public final class DemotedPrimary
{
    private static final Logger LOG = LoggerFactory.getLogger(DemotedPrimary.class);
    /**
     * Most FAILBACK_DATA frames written under one fsync: the target sends a window of frames and
     * waits for the ack of the oldest, so waiting frames are its window's, a few MiB.
     */
    private static final int GROUP_COMMIT_FRAMES = 16;
    /** How long the demoted side waits for the target to close after the role switch's ack. */
    private static final int CLOSE_WAIT_MS = 2_000;

    private final DemotedHost host;
    private final String group;
    private final int heartbeatIntervalMs;
    private final ByteBuffer fingerprintFrame = ByteBuffer.allocate(FrameDescriptor.HEADER_LENGTH +
        FingerprintsCodec.HEADER_LENGTH + FingerprintsCodec.MAX_COUNT * Long.BYTES).order(ByteOrder.LITTLE_ENDIAN);
    private long blocksWritten;
    private final TreeFailbackWriter trees;
    private int framesSinceSync;
    private boolean[] touched = new boolean[0];
    private long[] pendingBlocks = new long[1024];
    private int[] pendingVolumes = new int[1024];
    private long[] pendingFingerprints = new long[1024];
    private int pendingCount;

    public DemotedPrimary(final DemotedHost host, final String group, final int heartbeatIntervalMs)
    {
        this.host = host;
        this.group = group;
        this.heartbeatIntervalMs = heartbeatIntervalMs;
        this.trees = host.treeCapture() == null || host.treeCapture().isEmpty() ? null :
            new TreeFailbackWriter(host.treeCapture());
    }

    public void serve(final FrameChannel channel, final Messages.Refused refused) throws IOException
    {
        final long epoch = refused.epoch();
        LOG.warn("group={} epoch={} this agent was demoted: {}; keeping the journal and waiting for failback",
            group, epoch, refused.message());
        channel.send(MessageType.FAILBACK_REPORT, epoch, 0, report(refused.durableSeq()));
        final ScheduledExecutorService heartbeats = Executors.newSingleThreadScheduledExecutor(r ->
        {
            final Thread thread = new Thread(r, "demoted-heartbeat-" + group);
            thread.setDaemon(true);
            return thread;
        });
        heartbeats.scheduleAtFixedRate(() ->
        {
            try
            {
                channel.send(MessageType.HEARTBEAT, epoch, 0, null);
            }
            catch (final IOException ignore)
            {
                // The reader sees the broken connection.
            }
        }, heartbeatIntervalMs, heartbeatIntervalMs, TimeUnit.MILLISECONDS);
        try
        {
            final List<CaptureVolume> volumes = host.volumes();
            final int[] blockSizes = new int[volumes.size()];
            final long[] blockCounts = new long[volumes.size()];
            for (int i = 0; i < volumes.size(); i++)
            {
                blockSizes[i] = volumes.get(i).spec().blockSize();
                blockCounts[i] = volumes.get(i).spec().blockCount();
            }
            final DataFrameDecoder decoder = new DataFrameDecoder(blockSizes, blockCounts);
            touched = new boolean[volumes.size()];
            long lastFailbackSeq = 0;
            while (true)
            {
                final Frame frame = channel.read();
                switch (frame.type())
                {
                    case HEARTBEAT ->
                    {
                    }
                    case FAILBACK_DATA ->
                    {
                        final DecodedBatch batch = decoder.decode(frame, lastFailbackSeq);
                        write(batch, volumes);
                        if (trees != null)
                        {
                            trees.apply(batch);
                        }
                        lastFailbackSeq = frame.seq();
                        // Group commit: frames already waiting join this fsync, one ack covers them all.
                        if (++framesSinceSync == GROUP_COMMIT_FRAMES ||
                            !channel.hasBufferedFrame(MessageType.FAILBACK_DATA))
                        {
                            makeDurable(volumes);
                            framesSinceSync = 0;
                            channel.send(MessageType.FAILBACK_ACK, epoch, lastFailbackSeq, null);
                        }
                    }
                    case FINGERPRINT_REQUEST ->
                    {
                        final Messages.FingerprintRequest request = frame.bodyAs(Messages.FingerprintRequest.class);
                        final long[] fingerprints = fingerprints(volumes, request);
                        final int length = FingerprintsCodec.encode(fingerprintFrame, request.volumeIndex(),
                            request.firstBlock(), fingerprints, fingerprints.length);
                        channel.sendBinary(fingerprintFrame, length, MessageType.FINGERPRINTS, epoch, 0, 0);
                    }
                    case TREE_MANIFEST_REQUEST ->
                    {
                        if (trees == null)
                        {
                            throw new ProtocolException("a tree manifest was requested from an agent with no tree");
                        }
                        trees.sendManifest(channel, epoch, frame.seq());
                    }
                    case ROLE_SWITCH ->
                    {
                        final Messages.RoleSwitch roleSwitch = frame.bodyAs(Messages.RoleSwitch.class);
                        // No heartbeat from here on: the target's answer to one would arrive unread.
                        heartbeats.shutdownNow();
                        final long switchStartNs = System.nanoTime();
                        if (trees != null)
                        {
                            trees.rebase(roleSwitch.baseSeq());
                        }
                        final String journalId = host.switchToPrimary(roleSwitch.epoch(), roleSwitch.baseSeq());
                        final long switchMs = (System.nanoTime() - switchStartNs) / 1_000_000;
                        channel.send(MessageType.ROLE_SWITCH_ACK, roleSwitch.epoch(), roleSwitch.baseSeq(),
                            new Messages.RoleSwitchAck(roleSwitch.epoch(), roleSwitch.baseSeq(), journalId));
                        LOG.info("group={} epoch={} failback complete: {} blocks written back; primary again, " +
                            "journal {} starts after seq={} (role switch {} ms)", group, roleSwitch.epoch(), blocksWritten,
                            journalId, roleSwitch.baseSeq(), switchMs);
                        closeAfterTarget(channel);
                        return;
                    }
                    case FAILBACK_REPORT_REQUEST ->
                        // The request's seq comes back, so the target can tell this report from older ones.
                        channel.send(MessageType.FAILBACK_REPORT, epoch, frame.seq(), report(refused.durableSeq()));
                    case CHECKPOINT_REQUEST ->
                    {
                        // A demoted primary takes no checkpoints; the target times the request out.
                    }
                    default -> throw new ProtocolException("unexpected " + frame.type() + " while demoted");
                }
            }
        }
        finally
        {
            heartbeats.shutdownNow();
            if (trees != null)
            {
                trees.close();
            }
        }
    }

    /**
     * Lets the target read the ROLE_SWITCH_ACK before the connection goes: half-close, then read
     * (and drop) whatever the target still sends until it closes its side. Closing at once with a
     * frame of the target's unread reset the connection, and the target, failing to write to it, ended
     * the session before reading the ack: the failback then failed with roles already switched here.
     */
    private static void closeAfterTarget(final FrameChannel channel)
    {
        try
        {
            channel.shutdownOutput();
            channel.readTimeoutMs(CLOSE_WAIT_MS);
            while (true)
            {
                channel.read();
            }
        }
        catch (final IOException | UnsupportedOperationException done)
        {
            // The target closed (or went quiet, or the transport cannot half-close): nothing more to wait for.
        }
    }

    private Messages.FailbackReport report(final long targetDurableSeq)
    {
        final Journal journal = host.journal();
        final List<CaptureVolume> volumes = host.volumes();
        final BlockBitmap[] tails = new BlockBitmap[volumes.size()];
        for (int i = 0; i < tails.length; i++)
        {
            tails[i] = new BlockBitmap();
        }
        final long[] entries = new long[1];
        final long from = Math.max(targetDurableSeq, journal.firstRetainedSeq() - 1);
        final int[] blockSizes = volumes.stream().mapToInt(v -> v.spec().blockSize()).toArray();
        // A journal that ends before what the target holds is not the one the group replicated
        // from (a new disk, lost state): it has no tail to offer, and failback compares fingerprints.
        final boolean hasJournal = from <= journal.lastSeq();
        if (hasJournal)
        {
            readTail(journal, from, tails, entries, blockSizes);
        }
        for (int i = 0; i < tails.length; i++)
        {
            tails[i].or(host.unjournaledChanges(i));
        }
        final List<byte[]> bitmaps = new ArrayList<>();
        final List<Messages.VolumeInfo> infos = new ArrayList<>();
        long blocks = 0;
        for (int i = 0; i < tails.length; i++)
        {
            bitmaps.add(tails[i].toBytes());
            blocks += tails[i].cardinality();
            final var spec = volumes.get(i).spec();
            infos.add(new Messages.VolumeInfo(spec.name(), spec.sizeBytes(), spec.blockSize()));
        }
        LOG.info("group={} unshipped journal tail: {} entries, {} distinct blocks after seq={}{}", group, entries[0],
            blocks, targetDurableSeq, hasJournal ? "" : " (this journal is not the group's: fingerprints decide)");
        return new Messages.FailbackReport(hasJournal, journal.lastSeq(), targetDurableSeq, entries[0], bitmaps, infos);
    }

    private static void readTail(
        final Journal journal, final long from, final BlockBitmap[] tails, final long[] entries, final int[] blockSizes)
    {
        try (JournalReader reader = journal.reader(from))
        {
            final JournalEntryHandler handler = new JournalEntryHandler()
            {
                @Override
                public void onWrite(
                    final long seq, final long timestampMs, final int volumeIndex, final long firstBlock,
                    final ByteBuffer payload)
                {
                    final int blocks = payload.remaining() / blockSizes[volumeIndex];
                    tails[volumeIndex].setRange(firstBlock, firstBlock + blocks);
                    entries[0]++;
                }

                @Override
                public void onCheckpoint(final long seq, final long timestampMs, final String label)
                {
                }
            };
            while (reader.poll(handler, 1024) > 0)
            {
                // Read the whole tail.
            }
        }
    }

    /** Writes a frame's blocks (not yet durable) and keeps their fingerprints for {@link #makeDurable}. */
    private void write(final DecodedBatch batch, final List<CaptureVolume> volumes) throws IOException
    {
        for (int i = 0; i < batch.size(); i++)
        {
            if (batch.isCheckpoint(i) || batch.isTree(i))
            {
                continue;
            }
            final int v = batch.volumeIndex(i);
            final ByteBuffer block = batch.block(i);
            final long fingerprint = Checksums.xxHash64(block.duplicate());
            volumes.get(v).channel().writeBlocks(batch.blockIndex(i), block);
            touched[v] = true;
            if (pendingCount == pendingBlocks.length)
            {
                pendingBlocks = Arrays.copyOf(pendingBlocks, pendingCount * 2);
                pendingVolumes = Arrays.copyOf(pendingVolumes, pendingCount * 2);
                pendingFingerprints = Arrays.copyOf(pendingFingerprints, pendingCount * 2);
            }
            pendingBlocks[pendingCount] = batch.blockIndex(i);
            pendingVolumes[pendingCount] = v;
            pendingFingerprints[pendingCount] = fingerprint;
            pendingCount++;
            blocksWritten++;
        }
    }

    /** One fsync per touched volume for every frame written since the last; then the tables may say so. */
    private void makeDurable(final List<CaptureVolume> volumes) throws IOException
    {
        for (int v = 0; v < touched.length; v++)
        {
            if (touched[v])
            {
                volumes.get(v).channel().force();
                touched[v] = false;
            }
        }
        // Durable on the volume: the table may now say so, so the next scan does not re-journal it.
        for (int i = 0; i < pendingCount; i++)
        {
            volumes.get(pendingVolumes[i]).scanner().recordKnownContent(pendingBlocks[i], pendingFingerprints[i]);
        }
        pendingCount = 0;
    }

    /**
     * Fresh fingerprints straight from the volume; they also become the table's entries: after a
     * verified failback this content is exactly what the target holds. A {@code stored} request is
     * answered from the table: the startup scan made it match the volume, and every failback write
     * updated it after the write was durable.
     */
    static long[] fingerprints(final List<CaptureVolume> volumes, final Messages.FingerprintRequest request)
        throws IOException
    {
        if (request.volumeIndex() < 0 || request.volumeIndex() >= volumes.size())
        {
            throw new ProtocolException("fingerprints requested for volume " + request.volumeIndex());
        }
        final CaptureVolume volume = volumes.get(request.volumeIndex());
        final long blockCount = volume.spec().blockCount();
        if (request.firstBlock() < 0 || request.count() < 0 || request.count() > FingerprintsCodec.MAX_COUNT ||
            request.firstBlock() + request.count() > blockCount)
        {
            throw new ProtocolException("fingerprints requested for blocks outside the volume");
        }
        if (request.stored())
        {
            final long[] stored = new long[request.count()];
            volume.scanner().table().get(request.firstBlock(), stored, stored.length);
            return stored;
        }
        return fingerprintRange(volume, request.firstBlock(), request.count(), true);
    }

    public static long[] fingerprintRange(
        final CaptureVolume volume, final long firstBlock, final int count, final boolean updateTable) throws IOException
    {
        final int blockSize = volume.spec().blockSize();
        final long[] fingerprints = new long[count];
        final int chunkBlocks = Math.max(1, (1 << 20) / blockSize);
        final ByteBuffer buffer = ByteBuffer.allocateDirect(chunkBlocks * blockSize);
        for (int done = 0; done < count; done += chunkBlocks)
        {
            final int blocks = Math.min(chunkBlocks, count - done);
            buffer.clear().limit(blocks * blockSize);
            volume.channel().readBlocks(firstBlock + done, buffer);
            for (int i = 0; i < blocks; i++)
            {
                fingerprints[done + i] = Checksums.xxHash64(buffer, i * blockSize, blockSize);
                if (updateTable)
                {
                    volume.scanner().recordKnownContent(firstBlock + done + i, fingerprints[done + i]);
                }
            }
        }
        return fingerprints;
    }
}
