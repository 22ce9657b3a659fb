package dev.replicator.core.nbd;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * {@code base:allocation} by content, for backends that cannot ask the file system where its holes
 * are (Java has no SEEK_HOLE): runs of all-zero blocks are reported as {@code NBD_STATE_ZERO}, the
 * rest as data. Copying tools then skip the zero runs. One call scans at most {@link #MAX_SCAN_BYTES},
 * so a status request over a large range costs a bounded read; the client asks again for the rest.
 * Thread-safe.
 */
public final class ZeroRuns
{
    /** Bytes scanned per call at most: 64 MiB, a fraction of a second even from disk. */
    public static final long MAX_SCAN_BYTES = 64L << 20;
    private static final int CHUNK_BYTES = 1 << 20;
    /** Shared zeros to compare against and to write from; never written (read-only view). */
    private static final ByteBuffer ZEROS = ByteBuffer.allocateDirect(CHUNK_BYTES).asReadOnlyBuffer();
    private static final ThreadLocal<ByteBuffer> SCRATCH = ThreadLocal.withInitial(
        () -> ByteBuffer.allocateDirect(CHUNK_BYTES));

    /** Reads bytes of the export. */
    @FunctionalInterface
    public interface Reader
    {
        void read(long offset, ByteBuffer dst) throws IOException;
    }

    private ZeroRuns()
    {
    }

    /** A read-only buffer of {@code length} (at most 1 MiB) zero bytes. */
    public static ByteBuffer zeros(final int length)
    {
        return ZEROS.duplicate().limit(length);
    }

    /** The largest length {@link #zeros(int)} serves. */
    public static int maxZerosLength()
    {
        return CHUNK_BYTES;
    }

    /** Whether {@code buffer}'s remaining bytes are all zero. */
    public static boolean isZero(final ByteBuffer buffer)
    {
        final ByteBuffer rest = buffer.duplicate();
        while (rest.hasRemaining())
        {
            final int n = Math.min(rest.remaining(), CHUNK_BYTES);
            final ByteBuffer piece = rest.slice(rest.position(), n);
            if (piece.mismatch(zeros(n)) >= 0)
            {
                return false;
            }
            rest.position(rest.position() + n);
        }
        return true;
    }

    /** Describes {@code [offset, offset + length)} (up to {@link #MAX_SCAN_BYTES} of it) block by block. */
    public static void describe(
        final Reader reader, final long offset, final long length, final int blockSize, final NbdBackend.ExtentSink sink)
        throws IOException
    {
        final ByteBuffer scratch = SCRATCH.get();
        final long end = offset + Math.min(length, MAX_SCAN_BYTES);
        final int chunkBytes = CHUNK_BYTES - CHUNK_BYTES % blockSize;
        long runStart = offset;
        boolean runZero = false;
        long position = offset;
        while (position < end)
        {
            final int n = (int)Math.min(chunkBytes, end - position);
            scratch.clear().limit(n);
            reader.read(position, scratch);
            int at = 0;
            while (at < n)
            {
                final long absolute = position + at;
                final int piece = (int)Math.min(n - at, blockSize - absolute % blockSize);
                final boolean zero = scratch.slice(at, piece).mismatch(zeros(piece)) < 0;
                if (absolute > runStart && zero != runZero)
                {
                    if (!sink.extent(absolute - runStart, false, runZero))
                    {
                        return;
                    }
                    runStart = absolute;
                }
                runZero = zero;
                at += piece;
            }
            position += n;
        }
        if (end > runStart)
        {
            sink.extent(end - runStart, false, runZero);
        }
    }
}
