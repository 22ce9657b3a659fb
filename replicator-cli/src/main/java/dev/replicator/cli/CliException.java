package dev.replicator.cli;

/** A command failed: one sentence for stderr and the exit code (1 runtime failure, 2 bad input). */
final class CliException extends Exception
{
    private static final long serialVersionUID = 1L;

    private final int exitCode;

    CliException(final int exitCode, final String message)
    {
        super(message);
        this.exitCode = exitCode;
    }

    int exitCode()
    {
        return exitCode;
    }
}
