package dev.replicator.core.ext;

/** One direction of a proxied connection. */
public enum FaultDirection
{
    /** From the client that connected to the proxy to the server behind it (agent to target). */
    UPSTREAM,

    /** From the server back to the client (target to agent: acknowledgements, heartbeats). */
    DOWNSTREAM
}
