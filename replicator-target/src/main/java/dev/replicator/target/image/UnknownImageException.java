package dev.replicator.target.image;

/** The requested checkpoint never existed or was dropped by retention: a user's mistake, not damage. */
public final class UnknownImageException extends ImageStoreException
{
    private static final long serialVersionUID = 1L;

    public UnknownImageException(final String message)
    {
        super(message);
    }
}
