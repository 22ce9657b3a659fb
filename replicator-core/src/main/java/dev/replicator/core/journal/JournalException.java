package dev.replicator.core.journal;

/**
 * A journal operation failed: the journal's files could not be read or written, an entry is not a
 * journal entry, or the requested position no longer exists (entries were released). The message
 * names the journal directory.
 */
public final class JournalException extends RuntimeException
{
    private static final long serialVersionUID = 1L;

    public JournalException(final String message)
    {
        super(message);
    }

    public JournalException(final String message, final Throwable cause)
    {
        super(message, cause);
    }
}
