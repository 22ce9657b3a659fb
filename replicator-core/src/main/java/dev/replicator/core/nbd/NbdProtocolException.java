package dev.replicator.core.nbd;

import java.io.IOException;

/** A peer broke the protocol (bad magic, oversized or malformed message): its connection is closed. */
public final class NbdProtocolException extends IOException
{
    private static final long serialVersionUID = 1L;

    public NbdProtocolException(final String message)
    {
        super(message);
    }
}
