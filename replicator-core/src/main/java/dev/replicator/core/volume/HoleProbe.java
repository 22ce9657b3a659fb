package dev.replicator.core.volume;

import dev.replicator.core.io.NativeFiles;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Finds the holes of a sparse regular file with {@code lseek(SEEK_DATA)} ({@link NativeFiles}), so a
 * scan can skip what reads as zeros without reading it, and without touching what describes it.
 * Where holes cannot be found (not a regular file, a file system without SEEK_DATA, no JNA) every
 * byte counts as data: callers then read everything, as before.
 *
 * <p>Holes are a hint about zeros, not a promise of them for ever: a caller that skips a hole must
 * still account for what it knew about those bytes before. Thread-safe (positional calls only).
 */
public final class HoleProbe implements Closeable
{
    private static final Logger LOG = LoggerFactory.getLogger(HoleProbe.class);

    /** Null where holes cannot be seen. */
    private final NativeFiles.DataSeeker seeker;

    private HoleProbe(final NativeFiles.DataSeeker seeker)
    {
        this.seeker = seeker;
    }

    /** A probe of the regular file at {@code path}; one that sees no holes where they cannot be found. */
    public static HoleProbe open(final Path path)
    {
        if (!Files.isRegularFile(path))
        {
            return new HoleProbe(null);
        }
        try
        {
            return new HoleProbe(NativeFiles.dataSeeker(path.toAbsolutePath()));
        }
        catch (final IOException ex)
        {
            LOG.debug("no hole probe for {}: {}", path, ex.getMessage());
            return new HoleProbe(null);
        }
    }

    /** Whether this probe can see holes at all. */
    public boolean seesHoles()
    {
        return seeker != null && seeker.seesHoles();
    }

    /**
     * The offset of the first data byte at or after {@code offset}, or {@code Long.MAX_VALUE} if only a
     * hole follows it (or {@code offset} is at or past the end). Without hole support: {@code offset}.
     */
    public long nextData(final long offset)
    {
        return seeker == null ? offset : seeker.nextData(offset);
    }

    @Override
    public void close()
    {
        if (seeker != null)
        {
            seeker.close();
        }
    }
}
