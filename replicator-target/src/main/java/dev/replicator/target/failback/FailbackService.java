package dev.replicator.target.failback;

import dev.replicator.core.bitmap.BlockBitmap;
import dev.replicator.core.codec.Checksums;
import dev.replicator.core.volume.VolumeSpec;
import dev.replicator.core.wire.DataFrameEncoder;
import dev.replicator.core.wire.Messages;
import dev.replicator.target.admin.AdminException;
import dev.replicator.target.failover.FailoverService;
import dev.replicator.target.failover.RecoveryVolumes;
import dev.replicator.target.group.AgentLink;
import dev.replicator.target.group.Group;
import dev.replicator.target.group.GroupRole;
import dev.replicator.target.group.GroupState;
import dev.replicator.target.image.ImageStore;
import dev.replicator.target.image.ImageView;
import dev.replicator.target.image.ProgressListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Failback: computes the reverse changed-block bitmap ({@link #plan}) and executes it: ships only
 * those blocks' recovery-side content to the demoted primary (and into the replica, so the target
 * stays identical to both), repeats for blocks written during the copy, verifies primary, recovery
 * volume and replica by per-block fingerprints, then switches roles with a new epoch. Forward
 * replication resumes from that common state.
 *
 * <p>Callers hold no lock; each call takes the group's lock for its duration.
 */
public final class FailbackService
{
    private static final Logger LOG = LoggerFactory.getLogger(FailbackService.class);
    private static final int FRAME_FLUSH_BYTES = 1 << 20;
    /**
     * FAILBACK_DATA frames sent before waiting for the primary's ack of the oldest: its fsync overlaps
     * the reading and sending of the next frames (one frame at a time waited a full fsync each), and it
     * writes the frames waiting for it under one fsync.
     */
    private static final int WINDOW_FRAMES = 8;
    private static final int MAX_PASSES = 8;
    /** Blocks of the recovery side fingerprinted per call during verification. */
    private static final int VERIFY_RUN_BLOCKS = 65_536;

    private final FailoverService failover;
    private final TreeFailback trees;

    public FailbackService(final FailoverService failover)
    {
        this.failover = failover;
        this.trees = new TreeFailback(failover);
    }

    /** Failback of groups of tree volumes. */
    public TreeFailback trees()
    {
        return trees;
    }

    /** Result of an executed failback. */
    public record Result(
        FailbackPlan plan, long blocksShipped, long wireBytes, int passes, long verifiedBlocks, long newEpoch,
        long baseSeq, long elapsedMs)
    {
    }

    public FailbackPlan plan(final Group group) throws AdminException, IOException
    {
        group.lock().lock();
        try
        {
            final Peer peer = validate(group);
            return computePlan(group, peer.tracker, peer.link);
        }
        finally
        {
            group.lock().unlock();
        }
    }

    public Result execute(final Group group, final ProgressListener progress) throws AdminException, IOException
    {
        final long startMs = System.currentTimeMillis();
        group.lock().lock();
        try
        {
            final Peer checked = validate(group);
            final GroupState state = group.state();
            final long planStartNs = System.nanoTime();
            final FailbackPlan plan = computePlan(group, checked.tracker, checked.link);
            final long shipStartNs = System.nanoTime();
            final FailbackPeer peer = new FailbackPeer(checked.link, state.epoch());
            final List<VolumeSpec> specs = group.volumeSpecs();
            LOG.warn("group={} epoch={} FAILBACK started ({} mode): {} blocks to ship back", state.name(),
                state.epoch(), plan.mode(), plan.blocks());

            final Shipment shipment = new Shipment(group, checked.tracker, peer, state.epoch(), progress);
            final List<BlockBitmap> toPrimary = new ArrayList<>();
            final List<BlockBitmap> toReplica = new ArrayList<>();
            for (final FailbackPlan.VolumePlan volumePlan : plan.volumes())
            {
                toPrimary.add(volumePlan.toPrimary());
                toReplica.add(volumePlan.toReplica());
            }
            shipment.ship(toPrimary, toReplica, plan.blocks());
            // Every block any pass wrote to the primary or the replica: verification reads these.
            final List<BlockBitmap> shipped = new ArrayList<>();
            for (int v = 0; v < specs.size(); v++)
            {
                shipped.add(toPrimary.get(v).copy().or(toReplica.get(v)));
            }
            final long rescanStartNs = System.nanoTime();
            int passes = 1;
            while (true)
            {
                final BlockBitmap[] delta = checked.tracker.scanNow();
                long changed = 0;
                for (final BlockBitmap bits : delta)
                {
                    changed += bits.cardinality();
                }
                if (changed == 0)
                {
                    break;
                }
                if (passes == MAX_PASSES)
                {
                    throw AdminException.failed("the recovery volume is still being written after " + passes +
                        " passes; stop the application on it and run failback --execute again");
                }
                LOG.info("group={} failback pass {}: {} more blocks written on the recovery volume during the copy",
                    state.name(), passes + 1, changed);
                shipment.ship(List.of(delta), List.of(delta), changed);
                for (int v = 0; v < delta.length; v++)
                {
                    shipped.get(v).or(delta[v]);
                }
                passes++;
            }

            final long verifyStartNs = System.nanoTime();
            long verified = 0;
            final List<BlockBitmap> mismatched = new ArrayList<>();
            long mismatchCount = 0;
            for (int v = 0; v < specs.size(); v++)
            {
                final BlockBitmap bad = verify(group, checked.tracker, peer, v, shipped.get(v));
                verified += specs.get(v).blockCount();
                mismatched.add(bad);
                mismatchCount += bad.cardinality();
            }
            if (mismatchCount > 0)
            {
                LOG.warn("group={} failback verification found {} differing blocks; shipping them again",
                    state.name(), mismatchCount);
                shipment.ship(mismatched, mismatched, mismatchCount);
                passes++;
                for (int v = 0; v < specs.size(); v++)
                {
                    final BlockBitmap stillBad = verify(group, checked.tracker, peer, v, mismatched.get(v));
                    if (!stillBad.isEmpty())
                    {
                        throw AdminException.failed("verification failed: " + stillBad.cardinality() +
                            " blocks of volume '" + specs.get(v).name() + "' still differ after failback; roles " +
                            "were not switched");
                    }
                }
            }

            final long checkpointStartNs = System.nanoTime();
            final ImageStore store = group.store();
            final long baseSeq = store.lastSeq() + 1;
            store.addCheckpoint(baseSeq, System.currentTimeMillis(), "failback");
            store.commit(baseSeq);
            group.signalDurable();
            final long newEpoch = state.epoch() + 1;
            final long switchStartNs = System.nanoTime();
            final String journalId = peer.switchRoles(newEpoch, baseSeq);
            final long finishStartNs = System.nanoTime();
            group.updateState(state.withReplicating(newEpoch, journalId));
            failover.finish(group, newEpoch);
            final long endNs = System.nanoTime();
            LOG.info("group={} failback stages (ms): plan={} ship={} rescan={} verify={} checkpoint={} " +
                "role-switch={} finish={}", state.name(), ms(shipStartNs - planStartNs), ms(rescanStartNs - shipStartNs),
                ms(verifyStartNs - rescanStartNs), ms(checkpointStartNs - verifyStartNs),
                ms(switchStartNs - checkpointStartNs), ms(finishStartNs - switchStartNs), ms(endNs - finishStartNs));
            final long elapsedMs = System.currentTimeMillis() - startMs;
            LOG.warn("group={} epoch={} FAILBACK complete: {} blocks shipped back in {} pass(es), {} blocks " +
                "verified, primary replicates again after seq={} ({} ms)", state.name(), newEpoch,
                shipment.blocksToPrimary, passes, verified, baseSeq, elapsedMs);
            return new Result(plan, shipment.blocksToPrimary, shipment.frames.wireBytes(), passes, verified, newEpoch,
                baseSeq, elapsedMs);
        }
        finally
        {
            group.lock().unlock();
        }
    }

    private static long ms(final long ns)
    {
        return ns / 1_000_000;
    }

    private record Peer(AgentLink link, RecoveryVolumes tracker)
    {
    }

    private Peer validate(final Group group) throws AdminException
    {
        final GroupState state = group.state();
        if (state.role() != GroupRole.FAILED_OVER)
        {
            throw AdminException.badInput("group '" + state.name() + "' is not failed over (it is " +
                state.role() + " at epoch " + state.epoch() + "); there is nothing to fail back");
        }
        final RecoveryVolumes tracker = failover.tracker(state.name());
        if (tracker == null)
        {
            throw AdminException.failed("group '" + state.name() + "' has no recovery volume tracker; " +
                "check the target log");
        }
        final AgentLink link = group.demoted();
        final Messages.FailbackReport report = group.failbackReport();
        if (link == null || link.isClosed() || report == null)
        {
            throw AdminException.failed("the primary agent of group '" + state.name() + "' is not connected; " +
                "start it (replicator agent run --config FILE) and retry");
        }
        final String mismatch = Messages.VolumeInfo.mismatch(state.volumes(), report.volumes(), "primary");
        if (mismatch != null)
        {
            throw AdminException.badInput(mismatch);
        }
        return new Peer(link, tracker);
    }

    private FailbackPlan computePlan(final Group group, final RecoveryVolumes tracker, final AgentLink link)
        throws IOException
    {
        final GroupState state = group.state();
        new FailbackPeer(link, state.epoch()).refreshReport();
        final Messages.FailbackReport report = group.failbackReport();
        final boolean journalKnown = report.hasJournal() && state.journalId().equals(group.demotedJournalId());
        final String mode = journalKnown ? "journal" : "fingerprints";
        final String reason = journalKnown ?
            "the primary kept its journal: reverse bitmap = written on recovery since failover + received by " +
                "the replica after the image + unshipped on the primary" :
            "the primary has no journal the target knows (new or replaced disk, lost state): every block's " +
                "fingerprint is compared";
        tracker.scanNow();
        final long imageSeq = state.failover().imageSeq();
        final ImageView image = group.store().openImage(imageSeq);
        final List<VolumeSpec> specs = group.volumeSpecs();
        final List<FailbackPlan.VolumePlan> volumes = new ArrayList<>();
        long blocks = 0;
        long bytes = 0;
        for (int v = 0; v < specs.size(); v++)
        {
            final VolumeSpec spec = specs.get(v);
            final BlockBitmap written = tracker.written(v);
            final BlockBitmap afterImage = image.changedSinceImage(v);
            final BlockBitmap toReplica = written.copy().or(afterImage);
            final BlockBitmap toPrimary;
            long unshipped = 0;
            long differing = 0;
            if (journalKnown)
            {
                final BlockBitmap tail = BlockBitmap.fromBytes(report.tailBitmaps().get(v));
                unshipped = tail.cardinality();
                toPrimary = toReplica.copy().or(tail);
            }
            else
            {
                final long[] primary = new FailbackPeer(link, state.epoch()).fingerprints(v, 0, spec.blockCount());
                toPrimary = new BlockBitmap();
                for (long b = 0; b < spec.blockCount(); b++)
                {
                    if (primary[(int)b] != tracker.fingerprint(v, b))
                    {
                        toPrimary.set(b);
                    }
                }
                differing = toPrimary.cardinality();
            }
            final long union = toPrimary.copy().or(toReplica).cardinality();
            volumes.add(new FailbackPlan.VolumePlan(spec.name(), spec.blockCount(), written.cardinality(),
                afterImage.cardinality(), unshipped, differing, toPrimary.cardinality(),
                toPrimary.cardinality() * spec.blockSize(), toPrimary, toReplica));
            blocks += toPrimary.cardinality();
            bytes += toPrimary.cardinality() * spec.blockSize();
            LOG.debug("group={} volume={} failback plan: {} to primary, {} to replica, {} in union", state.name(),
                spec.name(), toPrimary.cardinality(), toReplica.cardinality(), union);
        }
        return new FailbackPlan(state.name(), mode, reason, imageSeq, state.epoch(), volumes, blocks, bytes);
    }

    /**
     * Compares the primary, the recovery volume and the replica; returns the blocks that differ anywhere.
     *
     * <p>Over the whole volume: the primary's fingerprint table against the recovery volume's (as of the
     * tracker's last scan). Neither reads a volume: the primary's table matches its volume since its
     * startup scan and records every failback write once durable; the tracker's matches the recovery
     * volume as of the final scan. The replica is read only for {@code shipped}, the blocks failback
     * wrote: every other block of it is the failover image, which the recovery volume was made from,
     * and a block changed in the replica after the image is in the plan, so in {@code shipped}.
     * Reading all three volumes whole cost three full reads for a 1% change (the bottleneck of a
     * failback against rsync, see docs/PERFORMANCE.md).
     *
     * @param shipped blocks shipped to the primary or the replica; the only blocks re-checked when it
     *                is the mismatched set of an earlier verification.
     */
    private static BlockBitmap verify(
        final Group group, final RecoveryVolumes tracker, final FailbackPeer peer, final int v, final BlockBitmap shipped)
        throws IOException
    {
        final VolumeSpec spec = group.volumeSpecs().get(v);
        final ImageView replica = group.store().openLatest();
        final ByteBuffer block = ByteBuffer.allocateDirect(spec.blockSize());
        final BlockBitmap bad = new BlockBitmap();
        final long[] primary = peer.fingerprints(v, 0, spec.blockCount(), true);
        // In runs: an export's overlay is read a chunk per call, not a block per call.
        final long[] recovery = new long[(int)Math.min(VERIFY_RUN_BLOCKS, spec.blockCount())];
        final BlockBitmap.Cursor cursor = shipped.cursor();
        long nextShipped = cursor.hasNext() ? cursor.next() : -1;
        for (long first = 0; first < spec.blockCount(); first += recovery.length)
        {
            final long[] run = first + recovery.length <= spec.blockCount() ?
                recovery : new long[(int)(spec.blockCount() - first)];
            tracker.fingerprints(v, first, run);
            for (int i = 0; i < run.length; i++)
            {
                if (primary[(int)(first + i)] != run[i])
                {
                    bad.set(first + i);
                }
            }
            // The replica where failback wrote it, against the recovery side's fingerprints just taken
            // (not a second read of each of those blocks through the recovery side).
            while (nextShipped >= 0 && nextShipped < first + run.length)
            {
                block.clear();
                replica.readBlock(v, nextShipped, block);
                block.flip();
                if (Checksums.xxHash64(block, 0, spec.blockSize()) != run[(int)(nextShipped - first)])
                {
                    bad.set(nextShipped);
                }
                nextShipped = cursor.hasNext() ? cursor.next() : -1;
            }
        }
        return bad;
    }

    /** Ships recovery-side blocks to the primary and into the replica, frame by frame. */
    private static final class Shipment
    {
        private final Group group;
        private final RecoveryVolumes tracker;
        private final FailbackPeer peer;
        private final long epoch;
        private final ProgressListener progress;
        private final FailbackFrames frames;
        private final DataFrameEncoder encoder;
        private long blocksToPrimary;

        Shipment(final Group group, final RecoveryVolumes tracker, final FailbackPeer peer, final long epoch,
            final ProgressListener progress)
        {
            this.group = group;
            this.tracker = tracker;
            this.peer = peer;
            this.epoch = epoch;
            this.progress = progress;
            this.frames = new FailbackFrames(peer, epoch, WINDOW_FRAMES);
            this.encoder = frames.encoder();
        }

        void ship(final List<BlockBitmap> toPrimary, final List<BlockBitmap> toReplica, final long total)
            throws IOException
        {
            final ImageStore store = group.store();
            final List<VolumeSpec> specs = group.volumeSpecs();
            long seq = store.lastSeq();
            long done = 0;
            for (int v = 0; v < specs.size(); v++)
            {
                final int blockSize = specs.get(v).blockSize();
                final ByteBuffer block = ByteBuffer.allocateDirect(blockSize);
                final BlockBitmap primary = toPrimary.get(v);
                final BlockBitmap replica = toReplica.get(v);
                final BlockBitmap.Cursor cursor = primary.copy().or(replica).cursor();
                while (cursor.hasNext())
                {
                    final long b = cursor.next();
                    block.clear();
                    tracker.readBlocks(v, b, block);
                    block.flip();
                    final boolean shipToPrimary = primary.get(b);
                    if (shipToPrimary &&
                        (!encoder.hasRoomFor(1, blockSize) || encoder.encodedBytes() >= FRAME_FLUSH_BYTES))
                    {
                        frames.flush();
                    }
                    seq++;
                    if (replica.get(b))
                    {
                        store.applyBlock(seq, v, b, block.duplicate());
                    }
                    if (shipToPrimary)
                    {
                        encoder.addBlock(seq, v, b, block, 0, blockSize);
                        blocksToPrimary++;
                        done++;
                        if (progress != null && (done & 255) == 0)
                        {
                            progress.onProgress(done * blockSize, total * blockSize);
                        }
                    }
                }
            }
            frames.flush();
            // After the last frame went: the replica is committed once per pass, not per frame (three
            // fsyncs a frame on the target's one thread were most of a failback's shipping time, and
            // nothing needs the replica durable before the primary; a target that crashes mid-pass
            // recovers its replica to the last commit, and the failback run again ships the whole plan).
            // Here: the replica's fsyncs overlap the primary's last write and fsync.
            if (seq > store.lastSeq())
            {
                store.commit(seq);
            }
            frames.awaitAll();
            if (progress != null)
            {
                progress.onProgress(done * specs.get(0).blockSize(), total * specs.get(0).blockSize());
            }
        }

    }
}
