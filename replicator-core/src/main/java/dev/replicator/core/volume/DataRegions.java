package dev.replicator.core.volume;

import net.openhft.posix.PosixAPI;

import java.io.Closeable;
import java.nio.file.Path;

/**
 * Where a sparse file holds data: Linux {@code lseek(SEEK_DATA)} on its own read-only descriptor, so a
 * scan can skip holes without reading them (a hole reads as zeros). Java has no SEEK_DATA; the POSIX
 * binding is Chronicle's (net.openhft:posix, already on the class path for the journal).
 *
 * <p>Where the call is not available (a block device, a file system without it, no native binding)
 * every byte counts as data: callers then read everything, as before. Not thread-safe.
 */
public final class DataRegions implements Closeable
{
    private static final int O_RDONLY = 0;
    /**
     * Linux's whence values. Chronicle's {@code WhenceFlag} has SEEK_DATA = 4 and SEEK_HOLE = 5, which on
     * Linux ask for the next hole and fail: a scan trusting them skipped data.
     */
    private static final int SEEK_DATA = 3;
    private static final int SEEK_HOLE = 4;

    private final int fd;
    private final long sizeBytes;

    private DataRegions(final int fd, final long sizeBytes)
    {
        this.fd = fd;
        this.sizeBytes = sizeBytes;
    }

    /** Opens {@code path} for hole queries; never fails (falls back to "all data"). */
    public static DataRegions open(final Path path, final long sizeBytes)
    {
        int fd = -1;
        try
        {
            fd = PosixAPI.posix().open(path.toString(), O_RDONLY, 0);
        }
        catch (final RuntimeException | LinkageError ex)
        {
            // No native binding: every byte is data.
        }
        return new DataRegions(fd, sizeBytes);
    }

    /**
     * The first byte at or after {@code offset} that may hold data, or the file size if only a hole
     * follows. Without SEEK_DATA: {@code offset} itself.
     */
    public long nextData(final long offset)
    {
        if (fd < 0 || offset >= sizeBytes)
        {
            return Math.min(offset, sizeBytes);
        }
        try
        {
            final long next = PosixAPI.posix().lseek(fd, offset, SEEK_DATA);
            // -1: no data at or after offset (ENXIO), or no SEEK_DATA here; the binding has no errno, but a
            // file system that answers SEEK_HOLE supports SEEK_DATA too, so its -1 was ENXIO.
            return next < 0 ? (supportsHoles(offset) ? sizeBytes : offset) : Math.min(next, sizeBytes);
        }
        catch (final RuntimeException | LinkageError ex)
        {
            return offset;
        }
    }

    private boolean supportsHoles(final long offset)
    {
        return PosixAPI.posix().lseek(fd, offset, SEEK_HOLE) >= 0;
    }

    @Override
    public void close()
    {
        if (fd >= 0)
        {
            PosixAPI.posix().close(fd);
        }
    }
}
