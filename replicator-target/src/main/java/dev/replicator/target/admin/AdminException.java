package dev.replicator.target.admin;

/**
 * An admin command failed with a message for the admin: exit code 2 for bad input (nothing was
 * changed), 1 for a runtime failure.
 */
public final class AdminException extends Exception
{
    private static final long serialVersionUID = 1L;
    public static final int BAD_INPUT = 2;
    public static final int FAILED = 1;

    private final int exitCode;

    public AdminException(final int exitCode, final String message)
    {
        super(message);
        this.exitCode = exitCode;
    }

    public static AdminException badInput(final String message)
    {
        return new AdminException(BAD_INPUT, message);
    }

    public static AdminException failed(final String message)
    {
        return new AdminException(FAILED, message);
    }

    public int exitCode()
    {
        return exitCode;
    }
}
