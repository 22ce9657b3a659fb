package dev.replicator.core.ext;

/**
 * What a {@link FaultProxy} does to a connection at a fault's byte. Each fault hits one direction of
 * one connection at one byte offset of that direction's stream.
 */
public enum FaultKind
{
    /**
     * Both sockets closed at once (FIN); the bytes the proxy holds, from the chunk that contained the
     * fault byte, are discarded. A peer sees an ordinary end of stream, usually mid-frame.
     */
    DROP,

    /** This direction's bytes from the fault byte on are held back for a delay (latency spike). */
    DELAY,

    /**
     * Both sockets reset: {@code SO_LINGER} 0, then close, so each peer gets an RST ("connection
     * reset") instead of an end of stream. Bytes held by the proxy are discarded.
     */
    RESET,

    /**
     * The whole connection stops forwarding, both directions, for a while, and then goes on: the
     * connection stays open, TCP buffers fill and a peer's read timeouts may fire (a network freeze).
     */
    STALL,

    /** The bytes before the fault byte are forwarded, then both sockets close (FIN): a cut frame. */
    TRUNCATE,

    /** One bit of the fault byte is inverted; the stream goes on (damage only checksums can catch). */
    FLIP;

    /** Whether the fault ends the connection at the proxy. */
    public boolean endsConnection()
    {
        return this == DROP || this == RESET || this == TRUNCATE;
    }
}
