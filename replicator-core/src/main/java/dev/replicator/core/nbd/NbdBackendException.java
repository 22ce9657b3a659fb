package dev.replicator.core.nbd;

import java.io.IOException;

/**
 * A backend refuses one request with a specific NBD error (e.g. {@link NbdProtocol#EPERM} while the
 * volume may not be written); any other {@link IOException} from a backend is sent as EIO.
 */
public final class NbdBackendException extends IOException
{
    private static final long serialVersionUID = 1L;
    private final int errno;

    public NbdBackendException(final int errno, final String message)
    {
        super(message);
        this.errno = errno;
    }

    /** The error sent to the client (one of the NbdProtocol errno constants). */
    public int errno()
    {
        return errno;
    }
}
