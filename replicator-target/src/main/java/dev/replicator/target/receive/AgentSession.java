package dev.replicator.target.receive;

import dev.replicator.core.bitmap.BlockBitmap;
import dev.replicator.core.wire.BlockRecordDescriptor;
import dev.replicator.core.wire.CorruptFrameException;
import dev.replicator.core.wire.DataFrameDecoder;
import dev.replicator.core.wire.DecodedBatch;
import dev.replicator.core.wire.FingerprintsCodec;
import dev.replicator.core.wire.Frame;
import dev.replicator.core.wire.FrameChannel;
import dev.replicator.core.wire.MessageType;
import dev.replicator.core.wire.Messages;
import dev.replicator.core.wire.ProtocolException;
import dev.replicator.target.group.AgentLink;
import dev.replicator.target.group.Group;
import dev.replicator.target.group.GroupRole;
import dev.replicator.target.group.GroupState;
import dev.replicator.target.group.Groups;
import dev.replicator.target.tree.TreeVolumes;
import dev.replicator.target.image.ImageStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One agent connection at the target. Decides from the hello what the agent is (the group's
 * primary, a demoted primary, or refused), then either receives its journal, applying each data
 * frame durably before acknowledging it, or serves it as the failback peer.
 *
 * <p>Runs on the connection's own thread. A frame that fails any check is never applied: the
 * session answers NACK and closes, and the agent resends from the durable seq.
 */
public final class AgentSession implements Runnable
{
    private static final Logger LOG = LoggerFactory.getLogger(AgentSession.class);
    /**
     * Data frames one commit may cover (group commit), and their bytes: whichever is reached first.
     * Bytes, not frames, bound it: a window of 1 MiB journal frames and one of 4 MiB bulk-sync frames
     * both fit one commit (64 MiB, one set of fsyncs), and the bound still caps how long admin
     * commands wait for the group lock.
     */
    static final int GROUP_COMMIT_FRAMES = 64;
    static final long GROUP_COMMIT_BYTES = 64L << 20;

    private final FrameChannel channel;
    private final Messages.Hello hello;
    private final Groups groups;
    private final int heartbeatIntervalMs;
    private final int retainCheckpoints;
    private final AtomicLong corruptFrames;
    private final AtomicLong framesApplied;
    /** Plain bytes of the frame being applied, per volume (reused: one session thread). */
    private long[] appliedByVolume = new long[0];
    /** The newest sync frame number applied since the last commit, 0 if none (one session thread). */
    private long lastSyncFrame;

    /**
     * @param corruptFrames incremented for each frame refused by a check (shared by all sessions).
     * @param framesApplied incremented for each data frame made durable and acknowledged (shared).
     */
    public AgentSession(
        final FrameChannel channel,
        final Messages.Hello hello,
        final Groups groups,
        final int heartbeatIntervalMs,
        final int retainCheckpoints,
        final AtomicLong corruptFrames,
        final AtomicLong framesApplied)
    {
        this.channel = channel;
        this.hello = hello;
        this.groups = groups;
        this.heartbeatIntervalMs = heartbeatIntervalMs;
        this.retainCheckpoints = retainCheckpoints;
        this.corruptFrames = corruptFrames;
        this.framesApplied = framesApplied;
    }

    @Override
    public void run()
    {
        try (channel)
        {
            channel.readTimeoutMs(heartbeatIntervalMs * 10);
            final String refusal = checkHello();
            if (refusal != null)
            {
                refuse(Messages.RefusalCode.BAD_REQUEST, refusal, 0, 0);
                return;
            }
            Group group = groups.get(hello.group());
            if (group == null)
            {
                group = groups.create(hello);
            }
            final AgentLink link = new AgentLink(channel, hello.agentName());
            final Decision decision = decide(group, link);
            switch (decision)
            {
                case PRIMARY -> receive(group, link);
                case DEMOTED -> serveDemoted(group, link);
                default ->
                {
                }
            }
        }
        catch (final EOFException ex)
        {
            LOG.info("group={} {} agent {} disconnected from {}", hello.group(), position(), hello.agentName(),
                channel.peer());
        }
        catch (final IOException ex)
        {
            LOG.warn("group={} {} agent {} connection from {} ended: {}", hello.group(), position(),
                hello.agentName(), channel.peer(), ex.getMessage());
        }
        catch (final RuntimeException ex)
        {
            LOG.error("group={} agent {} session failed", hello.group(), channel.peer(), ex);
        }
    }

    /** "epoch=E seq=S" of the group now, for log lines ("epoch=? seq=?" if it does not exist). */
    private String position()
    {
        final Group group = hello.group() == null ? null : groups.get(hello.group());
        return group == null ? "epoch=? seq=?" : "epoch=" + group.state().epoch() + " seq=" + group.store().lastSeq();
    }

    private String checkHello()
    {
        if (hello.protocolVersion() != Messages.PROTOCOL_VERSION)
        {
            return "protocol version " + hello.protocolVersion() + " is not supported (this target speaks " +
                Messages.PROTOCOL_VERSION + ")";
        }
        if (hello.group() == null || !dev.replicator.core.volume.VolumeSpec.isValidName(hello.group()))
        {
            return "group name '" + hello.group() + "' is not valid";
        }
        if ((hello.volumes() == null || hello.volumes().isEmpty()) && hello.treeVolumeNames().isEmpty())
        {
            return "hello names no volumes";
        }
        try
        {
            Group.specsOf(hello.volumes());
        }
        catch (final IllegalArgumentException ex)
        {
            return ex.getMessage();
        }
        return null;
    }

    private enum Decision
    {
        PRIMARY,
        DEMOTED,
        REFUSED
    }

    private Decision decide(final Group group, final AgentLink link) throws IOException
    {
        group.lock().lock();
        try
        {
            final GroupState state = group.state();
            final long durable = group.store().lastSeq();
            String mismatch = Messages.VolumeInfo.mismatch(state.volumes(), hello.volumes(), "agent");
            if (mismatch == null)
            {
                mismatch = group.trees().bind(hello.treeVolumeNames());
            }
            if (mismatch != null)
            {
                refuse(Messages.RefusalCode.VOLUME_MISMATCH, mismatch, state.epoch(), durable);
                LOG.warn("group={} epoch={} refused agent {}: {}", state.name(), state.epoch(), hello.agentName(),
                    mismatch);
                return Decision.REFUSED;
            }
            if (state.role() == GroupRole.FAILED_OVER)
            {
                final AgentLink previous = group.demoted();
                if (previous != null)
                {
                    previous.channel().close();
                }
                group.demoted(link, hello.journalId());
                // The tail the old primary must report starts where its shipping stopped, not at seqs the
                // target assigned itself since (a --latest checkpoint, an interrupted failback's writes).
                final long tailAfter = state.failover() == null ? durable : state.failover().tailAfterSeq(durable);
                refuse(Messages.RefusalCode.DEMOTED, "group '" + state.name() + "' failed over at epoch " +
                    state.epoch() + "; this primary is demoted and must not ship until failback", state.epoch(),
                    tailAfter);
                LOG.warn("group={} epoch={} old primary {} (epoch {}) is back: refused as demoted, kept for failback",
                    state.name(), state.epoch(), hello.agentName(), hello.epoch());
                return Decision.DEMOTED;
            }
            if (!state.journalId().equals(hello.journalId()) || hello.epoch() > state.epoch())
            {
                final String message = "agent '" + hello.agentName() + "' has journal " + hello.journalId() +
                    " at epoch " + hello.epoch() + ", but group '" + state.name() + "' replicates from journal " +
                    state.journalId() + " at epoch " + state.epoch() + "; this agent is not the group's primary";
                refuse(Messages.RefusalCode.JOURNAL_MISMATCH, message, state.epoch(), durable);
                LOG.warn("group={} epoch={} refused agent {}: journal mismatch", state.name(), state.epoch(),
                    hello.agentName());
                return Decision.REFUSED;
            }
            final AgentLink previous = group.primary();
            if (previous != null && !previous.isClosed())
            {
                // Same journal: the agent reconnected before we saw the old connection die.
                previous.channel().close();
            }
            // WELCOME goes out before the link is published: an admin command must not send the agent
            // a request before the frame that tells it the session is on.
            channel.send(MessageType.WELCOME, state.epoch(), durable,
                new Messages.Welcome(state.name(), state.epoch(), durable));
            group.primaryHeard(System.nanoTime());
            group.primary(link);
            group.activity().onHeard(System.currentTimeMillis());
            LOG.info("group={} epoch={} primary {} connected from {}; durable seq={}", state.name(), state.epoch(),
                hello.agentName(), channel.peer(), durable);
            return Decision.PRIMARY;
        }
        finally
        {
            group.lock().unlock();
        }
    }

    private void refuse(final String code, final String message, final long epoch, final long durable)
        throws IOException
    {
        channel.send(MessageType.REFUSED, epoch, durable, new Messages.Refused(code, message, epoch, durable));
    }

    private void receive(final Group group, final AgentLink link) throws IOException
    {
        final List<dev.replicator.core.volume.VolumeSpec> specs = group.volumeSpecs();
        final int[] blockSizes = specs.stream().mapToInt(dev.replicator.core.volume.VolumeSpec::blockSize).toArray();
        final long[] blockCounts = specs.stream().mapToLong(dev.replicator.core.volume.VolumeSpec::blockCount).toArray();
        final DataFrameDecoder decoder = new DataFrameDecoder(blockSizes, blockCounts);
        appliedByVolume = new long[blockSizes.length];
        try
        {
            while (true)
            {
                final Frame frame;
                try
                {
                    frame = channel.read();
                }
                catch (final CorruptFrameException ex)
                {
                    nack(group, ex);
                    return;
                }
                group.activity().onHeard(System.currentTimeMillis());
                if (group.primary() == link)
                {
                    group.primaryHeard(System.nanoTime());
                }
                switch (frame.type())
                {
                    case AGENT_STATS -> group.activity().onAgentStats(frame.bodyAs(Messages.AgentStats.class),
                        System.currentTimeMillis());
                    case DATA, SYNC_DATA ->
                    {
                        if (!applyData(group, link, decoder, frame))
                        {
                            return;
                        }
                    }
                    case HEARTBEAT ->
                    {
                        group.primaryNewestSeq(frame.seq());
                        channel.send(MessageType.HEARTBEAT, group.state().epoch(), group.store().lastSeq(), null);
                    }
                    case CHECKPOINT_TAKEN ->
                    {
                        final Messages.CheckpointTaken taken = frame.bodyAs(Messages.CheckpointTaken.class);
                        final CompletableFuture<Long> request = group.checkpointRequests().remove(taken.requestId());
                        if (request != null)
                        {
                            request.complete(taken.seq());
                        }
                    }
                    case FINGERPRINTS -> link.inbox().offer(fingerprints(frame));
                    default -> throw new ProtocolException("unexpected " + frame.type() + " from a primary");
                }
            }
        }
        finally
        {
            link.markClosed();
            if (group.primary() == link)
            {
                group.primary(null);
            }
        }
    }

    /**
     * Applies a data frame and, with it, the data frames already waiting in the socket (at most
     * {@link #GROUP_COMMIT_FRAMES} or {@link #GROUP_COMMIT_BYTES}), then makes them durable with one commit and acknowledges them
     * with one ACK: group commit. The agent keeps up to its window of frames in flight, so at a high
     * write rate several wait here, and one commit's three fsyncs (undo, replica, durable seq) cover
     * them all instead of each. Nothing is acknowledged before it is durable. A frame that cannot be
     * applied (corrupt, refused) first has the frames before it committed and acknowledged.
     *
     * @return false if the session must end.
     */
    private boolean applyData(final Group group, final AgentLink link, final DataFrameDecoder decoder, final Frame first)
        throws IOException
    {
        final long[] appliedByVolume = this.appliedByVolume;
        java.util.Arrays.fill(appliedByVolume, 0);
        final long startNs = System.nanoTime();
        int frames = 0;
        long frameBytes = 0;
        group.lock().lock();
        try
        {
            final ImageStore store = group.store();
            final TreeVolumes trees = group.trees();
            Frame frame = first;
            long lastFrameSeq = 0;
            lastSyncFrame = 0;
            boolean checkpointed = false;
            while (true)
            {
                final GroupState state = group.state();
                if (state.role() != GroupRole.REPLICATING || frame.epoch() != state.epoch() || group.primary() != link)
                {
                    commitAndAck(group, store, trees, frames, lastFrameSeq, checkpointed);
                    refuse(Messages.RefusalCode.DEMOTED, "group '" + state.name() + "' is at epoch " + state.epoch() +
                        " (" + state.role() + "); frames of epoch " + frame.epoch() + " are refused",
                        state.epoch(), store.lastSeq());
                    LOG.warn("group={} epoch={} refused a data frame of epoch {} from {}", state.name(), state.epoch(),
                        frame.epoch(), hello.agentName());
                    return false;
                }
                final boolean sync = frame.type() == MessageType.SYNC_DATA;
                final DecodedBatch batch;
                try
                {
                    // A sync frame's records carry the agent's sync frame number, not a journal seq.
                    batch = decoder.decode(frame, sync ? 0 : Math.max(store.lastSeq(), lastFrameSeq));
                }
                catch (final CorruptFrameException ex)
                {
                    commitAndAck(group, store, trees, frames, lastFrameSeq, checkpointed);
                    nack(group, ex);
                    return false;
                }
                try
                {
                    if (sync)
                    {
                        applySyncRecords(store, batch, appliedByVolume);
                    }
                    else
                    {
                        checkpointed |= applyRecords(store, trees, batch, appliedByVolume);
                    }
                }
                catch (final IOException | RuntimeException ex)
                {
                    pause(group, ex);
                    return false;
                }
                frames++;
                frameBytes += frame.body().limit();
                if (sync)
                {
                    lastSyncFrame = Math.max(lastSyncFrame, frame.seq());
                }
                else
                {
                    lastFrameSeq = Math.max(lastFrameSeq, frame.seq());
                }
                if (frames == GROUP_COMMIT_FRAMES || frameBytes >= GROUP_COMMIT_BYTES ||
                    !(channel.hasBufferedFrame(MessageType.DATA) || channel.hasBufferedFrame(MessageType.SYNC_DATA)))
                {
                    break;
                }
                try
                {
                    frame = channel.read();
                }
                catch (final CorruptFrameException ex)
                {
                    commitAndAck(group, store, trees, frames, lastFrameSeq, checkpointed);
                    nack(group, ex);
                    return false;
                }
            }
            if (!commitAndAck(group, store, trees, frames, lastFrameSeq, checkpointed))
            {
                return false;
            }
            group.activity().onApplied(appliedByVolume, System.nanoTime() - startNs, System.currentTimeMillis());
            if (group.pausedReason() != null)
            {
                group.pausedReason(null);
                LOG.warn("group={} epoch={} replication resumed: the target can write again (durable seq={})",
                    group.name(), group.state().epoch(), group.store().lastSeq());
            }
        }
        finally
        {
            group.lock().unlock();
        }
        return true;
    }

    /**
     * Makes {@code frames} applied frames durable, then acknowledges them (the store's durable seq);
     * nothing to do if none was applied.
     *
     * @return false if the store failed (replication paused, the agent was told).
     */
    private boolean commitAndAck(
        final Group group, final ImageStore store, final TreeVolumes trees, final int frames, final long lastFrameSeq,
        final boolean checkpointed) throws IOException
    {
        if (frames == 0)
        {
            return true;
        }
        try
        {
            // The trees first: a seq the store calls durable is one every tree holds.
            trees.commit(lastFrameSeq);
            store.commit(lastFrameSeq);
            if (checkpointed)
            {
                // Drops the oldest images beyond the retention count, and their undo segments.
                store.retainLast(retainCheckpoints);
                if (!store.checkpoints().isEmpty())
                {
                    trees.retain(store.checkpoints().get(0).seq());
                }
            }
        }
        catch (final IOException | RuntimeException ex)
        {
            pause(group, ex);
            return false;
        }
        framesApplied.addAndGet(frames);
        group.signalDurable();
        channel.send(MessageType.ACK, group.state().epoch(), store.lastSeq(), null);
        if (lastSyncFrame > 0)
        {
            channel.send(MessageType.SYNC_ACK, group.state().epoch(), lastSyncFrame, null);
            lastSyncFrame = 0;
        }
        return true;
    }

    /** Applies a sync frame's blocks (read from the agent's volume) in arrival order, outside the seq order. */
    private static void applySyncRecords(final ImageStore store, final DecodedBatch batch, final long[] appliedByVolume)
        throws IOException
    {
        for (int i = 0; i < batch.size(); i++)
        {
            if (batch.isTree(i) || batch.isCheckpoint(i))
            {
                throw new IllegalArgumentException("a sync frame holds only blocks");
            }
            final ByteBuffer block = batch.block(i);
            appliedByVolume[batch.volumeIndex(i)] += block.remaining();
            store.applySyncBlock(batch.volumeIndex(i), batch.blockIndex(i), block);
        }
    }

    /**
     * Applies a frame's records without committing, adding the plain bytes applied per volume to
     * {@code appliedByVolume}; @return whether it held a checkpoint.
     */
    private static boolean applyRecords(final ImageStore store, final TreeVolumes trees, final DecodedBatch batch,
        final long[] appliedByVolume) throws IOException
    {
        boolean checkpointed = false;
        for (int i = 0; i < batch.size(); i++)
        {
            if (batch.isTree(i))
            {
                trees.apply(batch.seq(i), batch.volumeIndex(i), batch.block(i));
            }
            else if (batch.isCheckpoint(i))
            {
                // The trees first: a checkpoint the catalog holds is one every tree can produce.
                trees.checkpoint(batch.seq(i));
                store.addCheckpoint(batch.seq(i), batch.timestampMs(i), batch.label(i),
                    (batch.checkpointFlags(i) & BlockRecordDescriptor.CHECKPOINT_APP_CONSISTENT) != 0);
                checkpointed = true;
            }
            else
            {
                final ByteBuffer block = batch.block(i);
                appliedByVolume[batch.volumeIndex(i)] += block.remaining();
                store.applyBlock(batch.seq(i), batch.volumeIndex(i), batch.blockIndex(i), block);
            }
        }
        return checkpointed;
    }

    /**
     * The store could not write (disk full, I/O error): nothing of the frame is acknowledged, the
     * store is reopened (recovering as after a crash) and the agent is told to retry later. It keeps
     * its journal, so nothing is lost; replication resumes by itself when writes succeed again.
     */
    private void pause(final Group group, final Exception cause) throws IOException
    {
        final String reason = "the target cannot write the replica: " + rootMessage(cause);
        if (!reason.equals(group.pausedReason()))
        {
            LOG.error("group={} epoch={} replication PAUSED: {}; the agent keeps journaling and retries; " +
                "free space or fix the disk and it resumes by itself", group.name(), group.state().epoch(), reason);
        }
        group.pausedReason(reason);
        try
        {
            group.reopenStore();
        }
        catch (final IOException | RuntimeException ex)
        {
            LOG.warn("group={} store not reopened yet: {}", group.name(), rootMessage(ex));
        }
        channel.send(MessageType.REFUSED, group.state().epoch(), group.store().lastSeq(), new Messages.Refused(
            Messages.RefusalCode.PAUSED, reason, group.state().epoch(), group.store().lastSeq()));
    }

    private static String rootMessage(final Throwable error)
    {
        Throwable t = error;
        while (t.getCause() != null && t.getCause() != t)
        {
            t = t.getCause();
        }
        return t.getMessage() == null ? t.toString() : t.getMessage();
    }

    private void nack(final Group group, final CorruptFrameException ex) throws IOException
    {
        final long count = corruptFrames.incrementAndGet();
        LOG.warn("group={} epoch={} rejected a corrupt frame from {} ({} so far): {}; nothing applied, " +
            "the agent resends from seq={}", group.name(), group.state().epoch(), hello.agentName(), count,
            ex.getMessage(), group.store().lastSeq());
        channel.send(MessageType.NACK, group.state().epoch(), group.store().lastSeq(),
            new Messages.Refused("CORRUPT_FRAME", ex.getMessage(), group.state().epoch(), group.store().lastSeq()));
    }

    private void serveDemoted(final Group group, final AgentLink link) throws IOException
    {
        try
        {
            while (true)
            {
                final Frame frame = channel.read();
                group.activity().onHeard(System.currentTimeMillis());
                switch (frame.type())
                {
                    case HEARTBEAT -> channel.send(MessageType.HEARTBEAT, group.state().epoch(), 0, null);
                    case FAILBACK_REPORT ->
                    {
                        final Messages.FailbackReport report = frame.bodyAs(Messages.FailbackReport.class);
                        group.failbackReport(report);
                        long tail = 0;
                        for (final byte[] bits : report.tailBitmaps())
                        {
                            tail += BlockBitmap.fromBytes(bits).cardinality();
                        }
                        LOG.info("group={} epoch={} demoted primary {} reports {} unshipped entries ({} blocks) " +
                            "after seq={}", group.name(), group.state().epoch(), hello.agentName(),
                            report.tailEntries(), tail, report.targetDurableSeq());
                        link.inbox().offer(new AgentLink.Reply(
                            AgentLink.Reply.Kind.FAILBACK_REPORT, frame.seq(), 0, 0, null, null));
                    }
                    case FAILBACK_ACK -> link.inbox().offer(
                        new AgentLink.Reply(AgentLink.Reply.Kind.FAILBACK_ACK, frame.seq(), 0, 0, null, null));
                    case FINGERPRINTS -> link.inbox().offer(fingerprints(frame));
                    case TREE_MANIFEST ->
                    {
                        final ByteBuffer body = frame.body();
                        final byte[] chunk = new byte[body.remaining()];
                        body.get(body.position(), chunk);
                        link.inbox().offer(new AgentLink.Reply(
                            AgentLink.Reply.Kind.TREE_MANIFEST, frame.seq(), frame.count(), 0, null, null, chunk));
                    }
                    case ROLE_SWITCH_ACK ->
                    {
                        final Messages.RoleSwitchAck ack = frame.bodyAs(Messages.RoleSwitchAck.class);
                        link.inbox().offer(new AgentLink.Reply(
                            AgentLink.Reply.Kind.ROLE_SWITCH_ACK, ack.baseSeq(), 0, 0, null, ack.journalId()));
                    }
                    default -> throw new ProtocolException("unexpected " + frame.type() + " from a demoted primary");
                }
            }
        }
        finally
        {
            link.markClosed();
            if (group.demoted() == link)
            {
                group.demoted(null, null);
            }
        }
    }

    private static AgentLink.Reply fingerprints(final Frame frame) throws IOException
    {
        final ByteBuffer body = frame.body();
        FingerprintsCodec.validate(body);
        final int count = FingerprintsCodec.count(body);
        final long[] values = new long[count];
        for (int i = 0; i < count; i++)
        {
            values[i] = FingerprintsCodec.fingerprint(body, i);
        }
        return new AgentLink.Reply(AgentLink.Reply.Kind.FINGERPRINTS, 0, FingerprintsCodec.volumeIndex(body),
            FingerprintsCodec.firstBlock(body), values, null);
    }
}
