package dev.replicator.target.image;

import java.io.Closeable;
import java.io.IOException;

/** Closing on a failure path without losing the failure. Stateless and thread-safe. */
final class Closeables
{
    private Closeables()
    {
    }

    /** Closes {@code closeable} (null is ignored), attaching any failure to {@code primary}. */
    static void closeQuietly(final Closeable closeable, final Throwable primary)
    {
        if (closeable == null)
        {
            return;
        }
        try
        {
            closeable.close();
        }
        catch (final IOException | RuntimeException ex)
        {
            primary.addSuppressed(ex);
        }
    }
}
