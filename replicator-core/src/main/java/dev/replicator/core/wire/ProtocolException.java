package dev.replicator.core.wire;

import java.io.IOException;

/** The peer sent a well-formed frame that makes no sense here (wrong type for the state, bad body). */
public final class ProtocolException extends IOException
{
    private static final long serialVersionUID = 1L;

    public ProtocolException(final String message)
    {
        super(message);
    }

    public ProtocolException(final String message, final Throwable cause)
    {
        super(message, cause);
    }
}
