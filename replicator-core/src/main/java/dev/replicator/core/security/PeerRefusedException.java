package dev.replicator.core.security;

import java.io.IOException;

/** A connection's peer was refused during or right after the TLS handshake; the message says why. */
public final class PeerRefusedException extends IOException
{
    private static final long serialVersionUID = 1L;

    public PeerRefusedException(final String message, final Throwable cause)
    {
        super(message, cause);
    }
}
