package dev.replicator.core.config;

/** A config file is missing, unreadable or wrong. The message is one sentence an admin can act on. */
public final class ConfigException extends RuntimeException
{
    private static final long serialVersionUID = 1L;

    public ConfigException(final String message)
    {
        super(message);
    }
}
