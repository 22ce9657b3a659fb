package dev.replicator.target.group;

import dev.replicator.core.wire.FrameChannel;

import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * The target's handle on one connected agent: its channel (any thread may send) and an inbox for
 * replies that a command waits for (fingerprints, failback acks, role switch ack).
 */
public final class AgentLink
{
    private final FrameChannel channel;
    private final String agentName;
    private final BlockingQueue<Reply> inbox = new LinkedBlockingQueue<>();
    private volatile boolean closed;

    public AgentLink(final FrameChannel channel, final String agentName)
    {
        this.channel = channel;
        this.agentName = agentName;
    }

    public FrameChannel channel()
    {
        return channel;
    }

    public String agentName()
    {
        return agentName;
    }

    public BlockingQueue<Reply> inbox()
    {
        return inbox;
    }

    public boolean isClosed()
    {
        return closed || channel.isClosed();
    }

    /** The connection ended: wake whoever waits on the inbox. */
    public void markClosed()
    {
        closed = true;
        inbox.offer(Reply.disconnected());
    }

    /**
     * A reply from the agent, copied out of the receive buffer.
     *
     * @param kind         what arrived.
     * @param seq          FAILBACK_ACK: seq acknowledged.
     * @param volumeIndex  FINGERPRINTS: volume.
     * @param firstBlock   FINGERPRINTS: first block of the range.
     * @param fingerprints FINGERPRINTS: the values.
     * @param journalId    ROLE_SWITCH_ACK: the agent's new journal.
     * @param data         TREE_MANIFEST: the chunk's bytes (volumeIndex: the tree; seq: bytes still to come).
     */
    public record Reply(Kind kind, long seq, int volumeIndex, long firstBlock, long[] fingerprints, String journalId,
        byte[] data)
    {
        public Reply(final Kind kind, final long seq, final int volumeIndex, final long firstBlock,
            final long[] fingerprints, final String journalId)
        {
            this(kind, seq, volumeIndex, firstBlock, fingerprints, journalId, null);
        }

        public enum Kind
        {
            FAILBACK_ACK,
            FINGERPRINTS,
            ROLE_SWITCH_ACK,
            FAILBACK_REPORT,
            TREE_MANIFEST,
            DISCONNECTED
        }

        public static Reply disconnected()
        {
            return new Reply(Kind.DISCONNECTED, 0, 0, 0, null, null);
        }
    }
}
