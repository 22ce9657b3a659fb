package dev.replicator.target.failback;

import dev.replicator.core.wire.FingerprintsCodec;
import dev.replicator.core.wire.MessageType;
import dev.replicator.core.wire.Messages;
import dev.replicator.target.group.AgentLink;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;

/**
 * Requests and replies with the demoted primary over its {@link AgentLink}: the failback
 * commands' side of the conversation. One command at a time per link.
 */
final class FailbackPeer
{
    private static final long REPLY_TIMEOUT_MS = 120_000;
    private static final java.util.concurrent.atomic.AtomicLong REPORT_REQUESTS = new java.util.concurrent.atomic.AtomicLong();

    private final AgentLink link;
    private final long epoch;

    FailbackPeer(final AgentLink link, final long epoch)
    {
        this.link = link;
        this.epoch = epoch;
    }

    /** Fingerprints of blocks [first, first + count) of the primary's volume, read fresh from it. */
    long[] fingerprints(final int volumeIndex, final long firstBlock, final long count) throws IOException
    {
        return fingerprints(volumeIndex, firstBlock, count, false);
    }

    /**
     * Fingerprints of blocks [first, first + count) of the primary's volume: fresh from the volume, or
     * with {@code stored} from its fingerprint table (no volume read on the primary).
     */
    long[] fingerprints(final int volumeIndex, final long firstBlock, final long count, final boolean stored)
        throws IOException
    {
        final long[] result = new long[(int)count];
        for (long done = 0; done < count; done += FingerprintsCodec.MAX_COUNT)
        {
            final int n = (int)Math.min(FingerprintsCodec.MAX_COUNT, count - done);
            link.channel().send(MessageType.FINGERPRINT_REQUEST, epoch, 0,
                new Messages.FingerprintRequest(volumeIndex, firstBlock + done, n, stored));
            final AgentLink.Reply reply = await(AgentLink.Reply.Kind.FINGERPRINTS);
            if (reply.volumeIndex() != volumeIndex || reply.firstBlock() != firstBlock + done ||
                reply.fingerprints().length != n)
            {
                throw new IOException("the primary answered fingerprints for another range");
            }
            System.arraycopy(reply.fingerprints(), 0, result, (int)done, n);
        }
        return result;
    }

    /** Asks for a fresh report of what the primary holds unshipped; it lands in the group when this returns. */
    void refreshReport() throws IOException
    {
        final long requestId = REPORT_REQUESTS.incrementAndGet();
        link.channel().send(MessageType.FAILBACK_REPORT_REQUEST, epoch, requestId, null);
        while (await(AgentLink.Reply.Kind.FAILBACK_REPORT).seq() != requestId)
        {
            // An older report (sent on connect or for an earlier request): wait for the answer to this one.
        }
    }

    /** A fresh manifest (TreeIndex bytes) of the primary's tree {@code treeIndex}. */
    byte[] treeManifest(final int treeIndex) throws IOException
    {
        link.channel().send(MessageType.TREE_MANIFEST_REQUEST, epoch, treeIndex, null);
        final java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        while (true)
        {
            final AgentLink.Reply reply = await(AgentLink.Reply.Kind.TREE_MANIFEST);
            if (reply.volumeIndex() != treeIndex)
            {
                throw new IOException("the primary answered a manifest of another tree");
            }
            bytes.write(reply.data());
            if (reply.seq() == 0)
            {
                return bytes.toByteArray();
            }
        }
    }

    void send(final ByteBuffer frame) throws IOException
    {
        link.channel().write(frame);
    }

    /** Waits until the primary has made failback data durable up to {@code seq}; returns the seq it acked. */
    long awaitAck(final long seq) throws IOException
    {
        while (true)
        {
            final AgentLink.Reply reply = await(AgentLink.Reply.Kind.FAILBACK_ACK);
            if (reply.seq() >= seq)
            {
                return reply.seq();
            }
        }
    }

    /**
     * Waits until the primary acknowledges the oldest frame in flight, then drops it and every later
     * frame the same ack covers: the primary acknowledges the frames it had waiting under one fsync
     * with one ack, so waiting for each frame's own ack would wait for acks that never come.
     */
    void awaitOldest(final java.util.Deque<Long> inflight) throws IOException
    {
        final long acked = awaitAck(inflight.peekFirst());
        while (!inflight.isEmpty() && inflight.peekFirst() <= acked)
        {
            inflight.pollFirst();
        }
    }

    /** Tells the primary to become primary at {@code newEpoch}; returns its new journal id. */
    String switchRoles(final long newEpoch, final long baseSeq) throws IOException
    {
        link.channel().send(MessageType.ROLE_SWITCH, newEpoch, baseSeq, new Messages.RoleSwitch(newEpoch, baseSeq));
        return await(AgentLink.Reply.Kind.ROLE_SWITCH_ACK).journalId();
    }

    private AgentLink.Reply await(final AgentLink.Reply.Kind kind) throws IOException
    {
        final long deadlineNs = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(REPLY_TIMEOUT_MS);
        while (true)
        {
            final long remainingNs = deadlineNs - System.nanoTime();
            if (remainingNs <= 0)
            {
                throw new IOException("the primary did not answer within " + REPLY_TIMEOUT_MS / 1000 + " s");
            }
            final AgentLink.Reply reply;
            try
            {
                reply = link.inbox().poll(remainingNs, TimeUnit.NANOSECONDS);
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while waiting for the primary", ex);
            }
            if (reply == null)
            {
                continue;
            }
            if (reply.kind() == AgentLink.Reply.Kind.DISCONNECTED)
            {
                throw new IOException("the primary disconnected during failback");
            }
            if (reply.kind() == kind)
            {
                return reply;
            }
        }
    }
}
