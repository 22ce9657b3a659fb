package dev.replicator.target.nbd;

import java.io.IOException;
import java.nio.ByteBuffer;

/** Whole blocks of one volume, read into a buffer: what the byte-range readers below sit on. */
@FunctionalInterface
interface BlockSource
{
    /** Fills {@code dst} (a whole number of blocks) from {@code firstBlock}, advancing its position. */
    void readBlocks(long firstBlock, ByteBuffer dst) throws IOException;
}
