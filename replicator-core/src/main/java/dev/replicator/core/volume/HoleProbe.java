package dev.replicator.core.volume;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Native;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.Closeable;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Finds the holes of a sparse regular file with {@code lseek(SEEK_DATA)} (Linux, through JNA), so a
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
    private static final int O_RDONLY = 0;
    private static final int O_CLOEXEC = 0x80000;
    private static final int SEEK_DATA = 3;
    private static final int ENXIO = 6;
    private static final LibC LIBC = load();

    private final int fd;

    private HoleProbe(final int fd)
    {
        this.fd = fd;
    }

    /** A probe of the regular file at {@code path}; one that sees no holes where they cannot be found. */
    public static HoleProbe open(final Path path)
    {
        if (LIBC == null || !Files.isRegularFile(path))
        {
            return new HoleProbe(-1);
        }
        try
        {
            return new HoleProbe(LIBC.open(path.toAbsolutePath().toString(), O_RDONLY | O_CLOEXEC));
        }
        catch (final LastErrorException ex)
        {
            LOG.debug("no hole probe for {}: {}", path, ex.getMessage());
            return new HoleProbe(-1);
        }
    }

    /** Whether this probe can see holes at all. */
    public boolean seesHoles()
    {
        return fd >= 0;
    }

    /**
     * The offset of the first data byte at or after {@code offset}, or {@code Long.MAX_VALUE} if only a
     * hole follows it (or {@code offset} is at or past the end). Without hole support: {@code offset}.
     */
    public long nextData(final long offset)
    {
        if (fd < 0)
        {
            return offset;
        }
        try
        {
            return LIBC.lseek(fd, offset, SEEK_DATA);
        }
        catch (final LastErrorException ex)
        {
            // ENXIO: no data at or after offset. Anything else: we do not know, so it is data.
            return ex.getErrorCode() == ENXIO ? Long.MAX_VALUE : offset;
        }
    }

    @Override
    public void close()
    {
        if (fd >= 0)
        {
            try
            {
                LIBC.close(fd);
            }
            catch (final LastErrorException ex)
            {
                LOG.debug("closing hole probe: {}", ex.getMessage());
            }
        }
    }

    private static LibC load()
    {
        try
        {
            return Native.load("c", LibC.class);
        }
        catch (final LinkageError ex)
        {
            LOG.info("libc is not reachable through JNA ({}): scans read sparse volumes whole", ex.toString());
            return null;
        }
    }

    /** The libc calls used, mapped by JNA; each throws with errno on failure. */
    interface LibC extends Library
    {
        int open(String path, int flags) throws LastErrorException;

        long lseek(int fd, long offset, int whence) throws LastErrorException;

        int close(int fd) throws LastErrorException;
    }
}
