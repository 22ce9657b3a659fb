package dev.replicator.core.wire;

import java.io.IOException;

/** A frame failed a check (length, CRC32C, record bounds, codec, xxHash64): nothing of it may be applied. */
public final class CorruptFrameException extends IOException
{
    private static final long serialVersionUID = 1L;

    public CorruptFrameException(final String message)
    {
        super(message);
    }

    public CorruptFrameException(final String message, final Throwable cause)
    {
        super(message, cause);
    }
}
