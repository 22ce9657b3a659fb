package dev.replicator.core.nbd;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * What an NBD export serves: the agent's journaled front end, an image read from the target's store,
 * or a writable recovery overlay. The server validates every request against {@link #size()} and
 * {@link #readOnly()} before calling in, so a backend sees only in-range offsets and lengths.
 * <p>
 * Implementations are thread-safe: a connection may have several requests in flight and the server
 * may call a backend from more than one thread. A backend orders its own side effects (the agent's
 * front end journals writes in the order it applies them).
 */
public interface NbdBackend extends AutoCloseable
{
    /** Export size in bytes, fixed for the life of the export. */
    long size();

    boolean readOnly();

    /** Preferred I/O granularity in bytes (the volume's block size), advertised in NBD_INFO_BLOCK_SIZE. */
    int blockSize();

    /** Fills {@code dst} from {@code offset} for {@code dst.remaining()} bytes. */
    void read(long offset, ByteBuffer dst) throws IOException;

    /** Writes all of {@code src} at {@code offset}; with {@code fua} it is durable when this returns. */
    void write(long offset, ByteBuffer src, boolean fua) throws IOException;

    /** Makes {@code [offset, offset + length)} read as zeros; with {@code fua} durable on return. */
    void writeZeroes(long offset, long length, boolean fua) throws IOException;

    /** The client no longer needs {@code [offset, offset + length)}; reads of it return zeros after this. */
    void trim(long offset, long length) throws IOException;

    /** Every write completed before this call is durable when it returns. */
    void flush() throws IOException;

    /**
     * Describes {@code [offset, offset + length)} for {@code base:allocation} as consecutive extents,
     * starting at {@code offset}, until the sink returns false or the range is covered. A backend
     * that must read to know (see {@link ZeroRuns}) may stop early, after at least one extent.
     */
    void blockStatus(long offset, long length, ExtentSink sink) throws IOException;

    @Override
    void close() throws IOException;

    /** Receives one extent of a block-status reply. */
    @FunctionalInterface
    interface ExtentSink
    {
        /**
         * @param length bytes in this extent (> 0)
         * @param hole   not allocated (NBD_STATE_HOLE)
         * @param zero   reads as zeros (NBD_STATE_ZERO)
         * @return false to stop after this extent
         */
        boolean extent(long length, boolean hole, boolean zero);
    }
}
