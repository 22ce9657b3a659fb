package dev.replicator.target.failback;

import dev.replicator.core.tree.TreeIndex;
import dev.replicator.core.tree.TreeManifest;
import dev.replicator.core.tree.TreeOpSink;
import dev.replicator.core.tree.TreeRecordDescriptor;
import dev.replicator.core.tree.TreeScanner;
import dev.replicator.core.wire.DataFrameEncoder;
import dev.replicator.target.admin.AdminException;
import dev.replicator.target.failover.FailoverService;
import dev.replicator.target.failover.TreeRecovery;
import dev.replicator.target.group.AgentLink;
import dev.replicator.target.group.Group;
import dev.replicator.target.group.GroupRole;
import dev.replicator.target.group.GroupState;
import dev.replicator.target.image.ImageStore;
import dev.replicator.target.tree.TreeImageStore;
import dev.replicator.target.tree.TreeVolumes;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Failback of a group of tree volumes: the tree counterpart of {@link FailbackService}, with its
 * epoch fencing, demoted-primary conversation and role switch.
 *
 * <p>The reverse delta of a tree is computed, not accumulated: the primary sends a fresh manifest of
 * its tree (so its unshipped changes, and what the replica received after the failover image, are in
 * it), and the recovery tree is scanned against that manifest with the recovery side's identities
 * ({@link TreeManifest#withLocalIdentities}: an entry takes the recovery inode its path had at
 * failover). The scan emits exactly the ops that turn the primary's tree into the recovery tree: a
 * file renamed on the recovery side is renamed on the primary (no data), a changed file sends only
 * the blocks whose fingerprint differs, and a file whose size and mtime match the primary's is not
 * read. The target's replica gets the same treatment from its manifest taken at failover. Then both
 * are compared with the recovery tree by per-file fingerprints; what still differs (the recovery
 * tree written during the copy) is shipped in another pass. Roles switch only when all three agree.
 *
 * <p>Callers hold no lock; each call takes the group's lock for its duration.
 */
public final class TreeFailback
{
    private static final Logger LOG = LoggerFactory.getLogger(TreeFailback.class);
    private static final int FRAME_FLUSH_BYTES = 1 << 20;
    private static final int WINDOW_FRAMES = 4;
    private static final int MAX_PASSES = 4;
    private static final int MISMATCHES_SHOWN = 5;

    private final FailoverService failover;

    public TreeFailback(final FailoverService failover)
    {
        this.failover = failover;
    }

    /** Result of an executed tree failback. */
    public record Result(TreeFailbackPlan plan, long opsShipped, long dataBytesShipped, long wireBytes, long replicaOps,
        int passes, long verifiedEntries, long newEpoch, long baseSeq, long elapsedMs)
    {
    }

    public TreeFailbackPlan plan(final Group group) throws AdminException, IOException
    {
        group.lock().lock();
        try
        {
            final AgentLink link = validate(group);
            final Sides sides = Sides.open(group, new FailbackPeer(link, group.state().epoch()));
            final List<TreeFailbackPlan.TreePlan> trees = new ArrayList<>();
            for (int t = 0; t < sides.count(); t++)
            {
                final TreeDeltaCounter counter = new TreeDeltaCounter(op -> { });
                final TreeIndex source = TreeManifest.withLocalIdentities(sides.primary(t), sides.failoverManifest(t));
                TreeManifest.readWhereContentDiffers(source, sides.recoveryNow(t, source.blockSize()));
                scan(sides.recoveryRoot(t), source, counter);
                trees.add(counter.plan(sides.name(t)));
            }
            return plan(group, trees);
        }
        finally
        {
            group.lock().unlock();
        }
    }

    public Result execute(final Group group) throws AdminException, IOException
    {
        final long startMs = System.currentTimeMillis();
        group.lock().lock();
        try
        {
            final AgentLink link = validate(group);
            final GroupState state = group.state();
            final FailbackPeer peer = new FailbackPeer(link, state.epoch());
            final Sides sides = Sides.open(group, peer);
            final Shipment shipment = new Shipment(group, peer, state.epoch());
            final List<Set<String>> replicaWritten = new ArrayList<>();
            final List<TreeIndex> identities = new ArrayList<>();
            for (int t = 0; t < sides.count(); t++)
            {
                replicaWritten.add(new HashSet<>());
                identities.add(sides.failoverManifest(t));
            }
            LOG.warn("group={} epoch={} TREE FAILBACK started: {} tree(s)", state.name(), state.epoch(), sides.count());
            TreeFailbackPlan firstPlan = null;
            long verified = 0;
            int passes = 0;
            while (true)
            {
                // Compare first: what differs is what this pass ships (the first pass: the whole reverse delta).
                final List<TreeFailbackPlan.TreePlan> trees = new ArrayList<>();
                long differing = 0;
                final List<String> mismatches = new ArrayList<>();
                verified = 0;
                for (int t = 0; t < sides.count(); t++)
                {
                    final TreeIndex primary = passes == 0 ? sides.primary(t) : sides.freshPrimary(t);
                    final TreeIndex replica = TreeManifest.refresh(sides.replicaRoot(t), sides.replicaManifest(t),
                        replicaWritten.get(t));
                    final TreeIndex recovery = sides.recoveryNow(t, replica.blockSize());
                    final TreeIndex recoveryAtPrimaryBlocks = primary.blockSize() == recovery.blockSize() ? recovery :
                        sides.recoveryNow(t, primary.blockSize());
                    final TreeManifest.Differences toPrimary =
                        TreeManifest.compare(primary, recoveryAtPrimaryBlocks, MISMATCHES_SHOWN);
                    final TreeManifest.Differences toReplica = TreeManifest.compare(replica, recovery, MISMATCHES_SHOWN);
                    verified += recovery.entries().size();
                    differing += toPrimary.count() + toReplica.count();
                    for (final String d : toPrimary.first())
                    {
                        mismatches.add("primary " + sides.name(t) + "/" + d);
                    }
                    for (final String d : toReplica.first())
                    {
                        mismatches.add("replica " + sides.name(t) + "/" + d);
                    }
                    if (differing > 0 && passes == MAX_PASSES)
                    {
                        continue;
                    }
                    final TreeDeltaCounter counter = new TreeDeltaCounter(shipment.toPrimary(t));
                    final TreeIndex toPrimarySource = TreeManifest.withLocalIdentities(primary, identities.get(t));
                    if (!toPrimary.isEmpty())
                    {
                        TreeManifest.readWhereContentDiffers(toPrimarySource, recoveryAtPrimaryBlocks);
                        scan(sides.recoveryRoot(t), toPrimarySource, counter);
                    }
                    trees.add(counter.plan(sides.name(t)));
                    if (!toReplica.isEmpty())
                    {
                        final TreeIndex toReplicaSource = TreeManifest.withLocalIdentities(replica, identities.get(t));
                        TreeManifest.readWhereContentDiffers(toReplicaSource, recovery);
                        scan(sides.recoveryRoot(t), toReplicaSource, shipment.toReplica(t, replicaWritten.get(t)));
                        identities.set(t, toReplicaSource);
                    }
                    if (!toPrimary.isEmpty())
                    {
                        // After the scan it describes the recovery tree as shipped, with its identities.
                        identities.set(t, toPrimarySource);
                    }
                }
                if (differing == 0)
                {
                    break;
                }
                if (passes == MAX_PASSES)
                {
                    throw AdminException.failed("verification failed: " + differing + " entries still differ after " +
                        passes + " pass(es) (the recovery tree is still being written? stop the application on it " +
                        "and run failback --execute again); roles were not switched; first: " + mismatches);
                }
                if (firstPlan == null)
                {
                    firstPlan = plan(group, trees);
                }
                shipment.finishPass();
                passes++;
                LOG.info("group={} tree failback pass {}: {} differing entries shipped", state.name(), passes, differing);
            }
            if (firstPlan == null)
            {
                firstPlan = plan(group, List.of());
            }

            final ImageStore store = group.store();
            final long baseSeq = Math.max(shipment.seq, store.lastSeq()) + 1;
            group.trees().checkpoint(baseSeq);
            store.addCheckpoint(baseSeq, System.currentTimeMillis(), "failback");
            store.commit(baseSeq);
            group.signalDurable();
            final long newEpoch = state.epoch() + 1;
            final String journalId = peer.switchRoles(newEpoch, baseSeq);
            group.updateState(state.withReplicating(newEpoch, journalId));
            failover.finish(group, newEpoch);
            final long elapsedMs = System.currentTimeMillis() - startMs;
            LOG.warn("group={} epoch={} TREE FAILBACK complete: {} ops ({} data bytes) shipped back in {} pass(es), {} " +
                "entries verified, primary replicates again after seq={} ({} ms)", state.name(), newEpoch,
                shipment.opsToPrimary, shipment.dataBytesToPrimary, passes, verified, baseSeq, elapsedMs);
            return new Result(firstPlan, shipment.opsToPrimary, shipment.dataBytesToPrimary, shipment.frames.wireBytes(),
                shipment.opsToReplica, passes, verified, newEpoch, baseSeq, elapsedMs);
        }
        finally
        {
            group.lock().unlock();
        }
    }

    private static TreeFailbackPlan plan(final Group group, final List<TreeFailbackPlan.TreePlan> trees)
    {
        final GroupState state = group.state();
        long ops = 0;
        long bytes = 0;
        for (final TreeFailbackPlan.TreePlan tree : trees)
        {
            ops += tree.ops();
            bytes += tree.bytes();
        }
        return new TreeFailbackPlan(state.name(), "tree", "the primary's fresh tree manifest (its unshipped " +
            "changes and what the replica received after the image included) against the recovery tree, scanned " +
            "with the identities it had at failover: renames move, changed files send changed blocks only",
            state.failover().imageSeq(), state.epoch(), trees, ops, bytes);
    }

    private static void scan(final Path root, final TreeIndex source, final TreeOpSink sink) throws IOException
    {
        new TreeScanner(TreeScanner.DEFAULT_MAX_WRITE_BYTES).scan(root, source, sink);
    }

    private AgentLink validate(final Group group) throws AdminException
    {
        final GroupState state = group.state();
        if (state.role() != GroupRole.FAILED_OVER)
        {
            throw AdminException.badInput("group '" + state.name() + "' is not failed over (it is " +
                state.role() + " at epoch " + state.epoch() + "); there is nothing to fail back");
        }
        if (!failover.recoveryReady(state.name()))
        {
            throw AdminException.failed("group '" + state.name() + "' has no complete recovery trees; " +
                "check the target log");
        }
        // The block failback's report (journal tail bitmaps) is not needed: the tree manifest says it all.
        final AgentLink link = group.demoted();
        if (link == null || link.isClosed())
        {
            throw AdminException.failed("the primary agent of group '" + state.name() + "' is not connected; " +
                "start it (replicator agent run --config FILE) and retry");
        }
        return link;
    }

    /** The three copies of each tree: the primary's (by its manifest), the recovery tree, the replica. */
    private static final class Sides
    {
        private final List<String> names;
        private final List<Path> recoveryRoots;
        private final List<Path> replicaRoots = new ArrayList<>();
        private final List<TreeIndex> failoverManifests = new ArrayList<>();
        private final List<TreeIndex> replicaManifests = new ArrayList<>();
        private final List<TreeIndex> primaries = new ArrayList<>();
        private final List<TreeIndex> recoveryAtOtherBlockSize = new ArrayList<>();
        private final List<TreeIndex> recoveryLast = new ArrayList<>();
        private final FailbackPeer peer;

        private Sides(final List<String> names, final List<Path> recoveryRoots, final FailbackPeer peer)
        {
            this.names = names;
            this.recoveryRoots = recoveryRoots;
            this.peer = peer;
        }

        static Sides open(final Group group, final FailbackPeer peer) throws IOException
        {
            final TreeVolumes trees = group.trees();
            final List<Path> roots = new ArrayList<>();
            for (final String path : group.state().failover().recoveryPaths())
            {
                roots.add(Path.of(path));
            }
            final Sides sides = new Sides(trees.names(), roots, peer);
            final Path dir = group.dir().resolve(FailoverService.FAILOVER_DIR);
            for (int t = 0; t < trees.names().size(); t++)
            {
                final TreeImageStore store = trees.store(t);
                sides.replicaRoots.add(store.replica());
                sides.failoverManifests.add(TreeRecovery.load(TreeRecovery.recoveryManifest(dir, trees.names().get(t))));
                sides.replicaManifests.add(TreeRecovery.load(TreeRecovery.replicaManifest(dir, trees.names().get(t))));
                sides.primaries.add(sides.freshPrimary(t));
                sides.recoveryAtOtherBlockSize.add(null);
                sides.recoveryLast.add(null);
            }
            return sides;
        }

        int count()
        {
            return names.size();
        }

        String name(final int t)
        {
            return names.get(t);
        }

        Path recoveryRoot(final int t)
        {
            return recoveryRoots.get(t);
        }

        Path replicaRoot(final int t)
        {
            return replicaRoots.get(t);
        }

        TreeIndex failoverManifest(final int t)
        {
            return failoverManifests.get(t);
        }

        TreeIndex replicaManifest(final int t)
        {
            return replicaManifests.get(t);
        }

        /** The primary's manifest fetched when this was opened. */
        TreeIndex primary(final int t)
        {
            return primaries.get(t);
        }

        /**
         * A fresh manifest of recovery tree {@code t} fingerprinted at {@code blockSize}: its failover
         * manifest refreshed (files whose size or mtime changed since are read); at another block size
         * (an agent's tree not at the default), the whole tree is read once, then refreshed.
         */
        TreeIndex recoveryNow(final int t, final int blockSize) throws IOException
        {
            if (blockSize == failoverManifests.get(t).blockSize())
            {
                // From the last refresh, not the failover manifest: a file changed once is not read every pass.
                final TreeIndex base = recoveryLast.get(t) == null ? failoverManifests.get(t) : recoveryLast.get(t);
                final TreeIndex now = TreeManifest.refresh(recoveryRoots.get(t), base, Set.of());
                recoveryLast.set(t, now);
                return now;
            }
            final TreeIndex previous = recoveryAtOtherBlockSize.get(t);
            final TreeIndex now = previous == null || previous.blockSize() != blockSize ?
                TreeManifest.take(recoveryRoots.get(t), blockSize) :
                TreeManifest.refresh(recoveryRoots.get(t), previous, Set.of());
            recoveryAtOtherBlockSize.set(t, now);
            return now;
        }

        TreeIndex freshPrimary(final int t) throws IOException
        {
            final byte[] bytes = peer.treeManifest(t);
            return TreeIndex.fromBytes(bytes, TreeIndex.blockSizeOf(bytes), "of the primary's tree " + names.get(t));
        }
    }

    /**
     * Sends ops to the primary in FAILBACK_DATA frames (a window of frames in flight, as block failback
     * does) and applies ops to the target's replica, all under one increasing seq.
     */
    private static final class Shipment
    {
        private final Group group;
        private final FailbackPeer peer;
        private final long epoch;
        private final FailbackFrames frames;
        private final DataFrameEncoder encoder;
        private long seq;
        private long opsToPrimary;
        private long dataBytesToPrimary;
        private long opsToReplica;

        Shipment(final Group group, final FailbackPeer peer, final long epoch)
        {
            this.group = group;
            this.peer = peer;
            this.epoch = epoch;
            this.seq = group.store().lastSeq();
            this.frames = new FailbackFrames(peer, epoch, WINDOW_FRAMES);
            this.encoder = frames.encoder();
        }

        TreeOpSink toPrimary(final int tree)
        {
            return op ->
            {
                final ByteBuffer encoded = TreeRecordDescriptor.encode(op);
                seq++;
                if (encoder.encodedBytes() >= FRAME_FLUSH_BYTES ||
                    !encoder.tryAddTree(seq, tree, encoded, encoded.position(), encoded.remaining()))
                {
                    frames.flush();
                    if (!encoder.tryAddTree(seq, tree, encoded, encoded.position(), encoded.remaining()))
                    {
                        throw new IOException("a tree op of " + encoded.remaining() + " bytes does not fit a frame");
                    }
                }
                opsToPrimary++;
                dataBytesToPrimary += op.data().length;
            };
        }

        TreeOpSink toReplica(final int tree, final Set<String> written)
        {
            return op ->
            {
                seq++;
                group.trees().store(tree).apply(seq, op);
                switch (op.kind())
                {
                    case WRITE, TRUNCATE, CREATE -> written.add(op.path());
                    default ->
                    {
                    }
                }
                opsToReplica++;
            };
        }

        /** Everything of this pass durable on the primary and in the replica. */
        void finishPass() throws IOException
        {
            frames.flush();
            frames.awaitAll();
            final ImageStore store = group.store();
            if (seq > store.lastSeq())
            {
                // The trees first, as the receiver commits: a seq the store calls durable is one every tree holds.
                group.trees().commit(seq);
                store.commit(seq);
            }
        }
    }
}
