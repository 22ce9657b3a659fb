package dev.replicator.core.io;

import com.sun.jna.LastErrorException;
import com.sun.jna.Native;
import com.sun.jna.Platform;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Path;

/**
 * The Linux file calls the JDK lacks, through JNA: {@code syncfs(2)}, which makes a whole file
 * system durable in one journal commit, {@code lseek(2)} with {@code SEEK_DATA}, which finds a
 * sparse file's data without reading its holes, and {@code posix_fadvise(WILLNEED)}, which reads
 * ahead of a scan.
 *
 * <p>Both are optimisations with an exact fallback: where JNA or the call is unavailable (another OS,
 * a file system without {@code SEEK_DATA}), {@link #available()} is false or {@link DataSeeker} reports
 * everything as data, and callers fsync file by file or read every byte.
 */
public final class NativeFiles
{
    private static final Logger LOG = LoggerFactory.getLogger(NativeFiles.class);

    private static final int O_RDONLY = 0;
    private static final int O_CLOEXEC = 0x80000;
    private static final int SEEK_DATA = 3;
    private static final int ENXIO = 6;
    private static final int POSIX_FADV_WILLNEED = 3;

    private static final boolean AVAILABLE = register();

    private NativeFiles()
    {
    }

    private static boolean register()
    {
        if (!Platform.isLinux() || !Platform.is64Bit())
        {
            return false;
        }
        try
        {
            Native.register(NativeFiles.class, "c");
            return true;
        }
        catch (final UnsatisfiedLinkError | RuntimeException ex)
        {
            LOG.info("native file calls unavailable ({}): fsync per file, sparse files read whole", ex.toString());
            return false;
        }
    }

    private static native int open(String path, int flags) throws LastErrorException;

    private static native int close(int fd) throws LastErrorException;

    private static native long lseek(int fd, long offset, int whence) throws LastErrorException;

    private static native int syncfs(int fd) throws LastErrorException;

    /** Returns the error number instead of setting errno. */
    private static native int posix_fadvise(int fd, long offset, long length, int advice);

    /** Whether {@link #syncFileSystem} works here. */
    public static boolean available()
    {
        return AVAILABLE;
    }

    /**
     * Makes every write to the file system holding {@code path} durable: file data, metadata and
     * directory entries (Linux 5.8 and later also report a writeback error of any file on it).
     *
     * @throws IOException if the file system reports an error, or the call is not {@link #available()}.
     */
    public static void syncFileSystem(final Path path) throws IOException
    {
        if (!AVAILABLE)
        {
            throw new IOException("syncfs is not available on this platform");
        }
        final int fd = openReadOnly(path);
        try
        {
            syncfs(fd);
        }
        catch (final LastErrorException ex)
        {
            throw new IOException("syncfs " + path + ": " + errno(ex), ex);
        }
        finally
        {
            closeQuietly(fd);
        }
    }

    /**
     * Opens a probe for where {@code file}'s data lies. The caller closes it.
     *
     * @throws IOException if the file cannot be opened.
     */
    public static DataSeeker dataSeeker(final Path file) throws IOException
    {
        return AVAILABLE ? new DataSeeker(openReadOnly(file)) : new DataSeeker(-1);
    }

    /**
     * Asks the kernel to start reading {@code file} into the page cache now, without waiting for it:
     * a scan that reads thousands of small files one after another then finds most of them cached.
     * A hint only: any failure is ignored.
     */
    public static void adviseWillNeed(final Path file)
    {
        if (!AVAILABLE)
        {
            return;
        }
        final int fd;
        try
        {
            fd = open(file.toString(), O_RDONLY | O_CLOEXEC);
        }
        catch (final LastErrorException ex)
        {
            return; // gone since the walk: the scan finds out when it reads it
        }
        posix_fadvise(fd, 0, 0, POSIX_FADV_WILLNEED);
        closeQuietly(fd);
    }

    private static int openReadOnly(final Path path) throws IOException
    {
        try
        {
            return open(path.toString(), O_RDONLY | O_CLOEXEC);
        }
        catch (final LastErrorException ex)
        {
            throw new IOException("open " + path + ": " + errno(ex), ex);
        }
    }

    private static void closeQuietly(final int fd)
    {
        try
        {
            close(fd);
        }
        catch (final LastErrorException ignored)
        {
            // read-only descriptor: nothing was written through it
        }
    }

    private static String errno(final LastErrorException ex)
    {
        return "errno " + ex.getErrorCode();
    }

    /** {@code lseek(SEEK_DATA)} on one read-only descriptor. Thread-safe: positional calls only. */
    public static final class DataSeeker implements AutoCloseable
    {
        /** Returned by {@link #nextData} when no data follows. */
        public static final long NO_MORE_DATA = Long.MAX_VALUE;

        private final int fd;
        /** Set once the file system answered that it cannot tell (EINVAL): everything is data. */
        private volatile boolean unsupported;
        private volatile boolean closed;

        private DataSeeker(final int fd)
        {
            this.fd = fd;
        }

        /** Whether this seeker can see holes at all. */
        public boolean seesHoles()
        {
            return fd >= 0 && !unsupported && !closed;
        }

        /**
         * The offset of the first byte of data at or after {@code from}, or {@link #NO_MORE_DATA}.
         * Where the file system cannot tell, everything is data: the answer is {@code from}.
         */
        public long nextData(final long from)
        {
            if (!seesHoles())
            {
                return from;
            }
            try
            {
                return lseek(fd, from, SEEK_DATA);
            }
            catch (final LastErrorException ex)
            {
                if (ex.getErrorCode() == ENXIO)
                {
                    return NO_MORE_DATA;
                }
                unsupported = true; // no SEEK_DATA here: stop asking
                return from;
            }
        }

        @Override
        public synchronized void close()
        {
            if (fd >= 0 && !closed)
            {
                closed = true;
                closeQuietly(fd);
            }
        }
    }
}
