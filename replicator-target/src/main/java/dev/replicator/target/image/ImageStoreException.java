package dev.replicator.target.image;

/**
 * The image store cannot do what was asked, and the message says why in one sentence an admin can act
 * on: a damaged store file, a closed or failed store, an output that already exists. Subclasses mark
 * the user's mistakes ({@link UnknownImageException}, {@link GroupMismatchException}). Unchecked so
 * that plain I/O failures ({@link java.io.IOException}) stay distinguishable from these.
 */
public class ImageStoreException extends RuntimeException
{
    private static final long serialVersionUID = 1L;

    public ImageStoreException(final String message)
    {
        super(message);
    }

    public ImageStoreException(final String message, final Throwable cause)
    {
        super(message, cause);
    }
}
