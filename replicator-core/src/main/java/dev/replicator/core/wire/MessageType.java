package dev.replicator.core.wire;

/**
 * Frame types. Direction in brackets: A = agent, T = target, C = admin CLI. Bodies are JSON
 * ({@link Messages}) unless marked binary.
 */
public enum MessageType
{
    /** [A-&gt;T] first frame of an agent connection: group, journal id, epoch, volumes. */
    HELLO(1),
    /** [T-&gt;A] accepted: resume shipping after the target's durable seq. */
    WELCOME(2),
    /** [T-&gt;A, T-&gt;C] refused, with a reason code; for a demoted primary the connection stays open. */
    REFUSED(3),
    /** [A-&gt;T] binary block records. */
    DATA(4),
    /** [T-&gt;A] binary header only: every entry up to seq is durable at the target. */
    ACK(5),
    /** [T-&gt;A] a frame failed its checks and was not applied; the connection closes and the agent resends. */
    NACK(6),
    /** [both] liveness while idle. */
    HEARTBEAT(7),
    /** [T-&gt;A] take a checkpoint now (admin request). */
    CHECKPOINT_REQUEST(8),
    /** [A-&gt;T] the checkpoint was journaled at seq. */
    CHECKPOINT_TAKEN(9),
    /** [A-&gt;T] the primary's health figures (RPO lag, journal use, backlog), every heartbeat interval. */
    AGENT_STATS(10),
    /** Blocks of the bulk (initial) sync read from the volume: applied in arrival order, outside the seq order. */
    SYNC_DATA(11),
    /** The sync frames up to the header's seq (a sync frame number) are durable at the target. */
    SYNC_ACK(12),

    /** [A-&gt;T] a demoted primary reports its unshipped journal tail (or that it has no journal). */
    FAILBACK_REPORT(20),
    /** [T-&gt;A] binary block records: recovery-side content to write on the primary. */
    FAILBACK_DATA(21),
    /** [A-&gt;T] binary header only: FAILBACK_DATA up to seq is durable on the primary. */
    FAILBACK_ACK(22),
    /** [T-&gt;A] send fingerprints of a block range. */
    FINGERPRINT_REQUEST(23),
    /** [A-&gt;T] binary: packed xxHash64 fingerprints (see {@link FingerprintsCodec}). */
    FINGERPRINTS(24),
    /** [T-&gt;A] failback done: become primary at this epoch, journal from base seq. */
    ROLE_SWITCH(25),
    /** [A-&gt;T] role switch persisted. */
    ROLE_SWITCH_ACK(26),
    /** [T-&gt;A] send a fresh FAILBACK_REPORT: the demoted primary may have been written since the last. */
    FAILBACK_REPORT_REQUEST(27),
    /** [T-&gt;A] no body: send a fresh manifest (TreeIndex) of the tree volume whose index is the seq. */
    TREE_MANIFEST_REQUEST(28),
    /**
     * [A-&gt;T] binary: one chunk of the TreeIndex bytes of tree {@code count}; seq = bytes still to
     * come after this chunk (0: the last).
     */
    TREE_MANIFEST(29),

    /** [C-&gt;T] an admin command. */
    ADMIN_REQUEST(40),
    /** [T-&gt;C] progress of a long admin command. */
    ADMIN_PROGRESS(41),
    /** [T-&gt;C] the result of an admin command; the connection then closes. */
    ADMIN_RESPONSE(42);

    private static final MessageType[] BY_CODE = new MessageType[64];

    static
    {
        for (final MessageType type : values())
        {
            BY_CODE[type.code] = type;
        }
    }

    private final byte code;

    MessageType(final int code)
    {
        this.code = (byte)code;
    }

    public byte code()
    {
        return code;
    }

    /** Frames of this type are a header and nothing else. */
    public boolean headerOnly()
    {
        return this == ACK || this == HEARTBEAT || this == FAILBACK_ACK || this == SYNC_ACK;
    }

    /** @return the type, or null for an unknown code. */
    public static MessageType fromCode(final int code)
    {
        return code >= 0 && code < BY_CODE.length ? BY_CODE[code] : null;
    }
}
