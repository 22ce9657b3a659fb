package dev.replicator.target.image;

/**
 * The volumes a store was opened with differ from the ones it was created with (count, name, size or
 * block size): a configuration mistake. Nothing was changed on disk.
 */
public final class GroupMismatchException extends ImageStoreException
{
    private static final long serialVersionUID = 1L;

    public GroupMismatchException(final String message)
    {
        super(message);
    }
}
