package dev.replicator.core.volume;

import dev.replicator.core.io.NativeFiles;

import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Where a volume file holds data, so a scan can skip holes without reading them (a hole reads as
 * zeros): {@code lseek(SEEK_DATA)} through {@link NativeFiles}, bounded by the volume's size.
 *
 * <p>Where holes cannot be found (a block device, a file system without SEEK_DATA, no native binding)
 * every byte counts as data: callers then read everything, as before. Not thread-safe.
 */
public final class DataRegions implements Closeable
{
    private final NativeFiles.DataSeeker seeker;
    private final long sizeBytes;

    private DataRegions(final NativeFiles.DataSeeker seeker, final long sizeBytes)
    {
        this.seeker = seeker;
        this.sizeBytes = sizeBytes;
    }

    /** Opens {@code path} for hole queries; never fails (falls back to "all data"). */
    public static DataRegions open(final Path path, final long sizeBytes)
    {
        NativeFiles.DataSeeker seeker;
        try
        {
            seeker = NativeFiles.dataSeeker(path);
        }
        catch (final IOException ex)
        {
            seeker = null; // unreadable here: the scan's own read reports it
        }
        return new DataRegions(seeker, sizeBytes);
    }

    /**
     * The first byte at or after {@code offset} that may hold data, or the volume size if only a hole
     * follows. Without SEEK_DATA: {@code offset} itself.
     */
    public long nextData(final long offset)
    {
        if (seeker == null || offset >= sizeBytes)
        {
            return Math.min(offset, sizeBytes);
        }
        return Math.min(seeker.nextData(offset), sizeBytes);
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
