package dev.replicator.target.nbd;

import dev.replicator.core.codec.BlockCodec;
import dev.replicator.core.nbd.NbdBackend;
import dev.replicator.core.nbd.ZeroRuns;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Turns NBD's byte ranges into whole-block reads of a {@link BlockSource}, through one reused chunk
 * buffer, and answers {@code base:allocation} by looking at the bytes: an all-zero block is reported
 * as a hole that reads as zeros, so copying tools skip it.
 *
 * <p>Not thread-safe: the owning backend serialises calls.
 */
final class BlockRangeReader
{
    /** 1 MiB: the image store's own read chunk (large sequential reads, short lock holds). */
    static final int CHUNK_LENGTH_BYTES = 1 << 20;
    /**
     * Bytes one block-status call looks at before it answers. The store cannot tell a hole without
     * reading it (the replica is a sparse file and Java has no SEEK_DATA), so a request for a whole
     * 64 GiB volume is answered for its first 64 MiB, as the core server's {@link ZeroRuns} does: the
     * NBD protocol lets a server describe less than was asked, and clients ask again from where the
     * reply ended.
     */
    static final long STATUS_SCAN_LIMIT_BYTES = ZeroRuns.MAX_SCAN_BYTES;

    private final BlockSource source;
    private final int blockSize;
    private final ByteBuffer chunk;

    BlockRangeReader(final BlockSource source, final int blockSize)
    {
        this.source = source;
        this.blockSize = blockSize;
        this.chunk = ByteBuffer.allocateDirect(Math.max(blockSize, CHUNK_LENGTH_BYTES / blockSize * blockSize));
    }

    /** Fills {@code dst} with the bytes at {@code offset}, whatever its alignment. */
    void read(final long offset, final ByteBuffer dst) throws IOException
    {
        long position = offset;
        while (dst.hasRemaining())
        {
            final long firstBlock = position / blockSize;
            final int skip = (int)(position % blockSize);
            final int length = Math.min(dst.remaining(), chunk.capacity() - skip);
            final int blocks = (skip + length + blockSize - 1) / blockSize;
            chunk.clear().limit(blocks * blockSize);
            source.readBlocks(firstBlock, chunk);
            chunk.limit(skip + length).position(skip);
            dst.put(chunk);
            position += length;
        }
    }

    /**
     * Describes {@code [offset, offset + length)} block by block (all-zero: hole and zero; else data),
     * merging equal neighbours, for at most {@link #STATUS_SCAN_LIMIT_BYTES} or until the sink stops.
     */
    void blockStatus(final long offset, final long length, final NbdBackend.ExtentSink sink) throws IOException
    {
        final long end = offset + Math.min(length, STATUS_SCAN_LIMIT_BYTES);
        final int chunkBlocks = chunk.capacity() / blockSize;
        long runStart = offset;
        boolean runZero = false;
        boolean haveRun = false;
        long position = offset;
        while (position < end)
        {
            final long firstBlock = position / blockSize;
            final long blocksLeft = (end - firstBlock * blockSize + blockSize - 1) / blockSize;
            final int blocks = (int)Math.min(chunkBlocks, blocksLeft);
            chunk.clear().limit(blocks * blockSize);
            source.readBlocks(firstBlock, chunk);
            for (int i = 0; i < blocks; i++)
            {
                final boolean zero = BlockCodec.isAllZero(chunk, i * blockSize, blockSize);
                final long blockStart = Math.max(offset, (firstBlock + i) * blockSize);
                if (!haveRun)
                {
                    haveRun = true;
                    runZero = zero;
                    runStart = blockStart;
                }
                else if (zero != runZero)
                {
                    if (!sink.extent(blockStart - runStart, runZero, runZero))
                    {
                        return;
                    }
                    runZero = zero;
                    runStart = blockStart;
                }
            }
            position = (firstBlock + blocks) * blockSize;
        }
        if (haveRun)
        {
            sink.extent(end - runStart, runZero, runZero);
        }
    }
}
