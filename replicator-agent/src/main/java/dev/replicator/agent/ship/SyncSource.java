package dev.replicator.agent.ship;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Blocks the shipper streams from the volumes themselves, outside the journal: the bulk (initial)
 * sync. The shipper reads a block only after the journal entries it has polled, and sends it before
 * any entry polled later, so a journal entry written after the read always lands after it.
 */
public interface SyncSource
{
    int volumeCount();

    int blockSize(int volumeIndex);

    /**
     * The next run of blocks to ship on a volume at or after {@code fromBlock} that the scan has
     * already passed: {@code run[0]} first block, {@code run[1]} block count (at most {@code maxBlocks}).
     *
     * @return false if there is none now.
     */
    boolean nextRun(int volumeIndex, long fromBlock, int maxBlocks, long[] run);

    /** Reads {@code dst.remaining()} bytes from block {@code firstBlock} of the volume. */
    void read(int volumeIndex, long firstBlock, ByteBuffer dst) throws IOException;

    /**
     * The target made these blocks durable; {@code fingerprints[offset..offset+count)} are the xxHash64
     * of the content shipped.
     */
    void acked(int volumeIndex, long firstBlock, int count, long[] fingerprints, int offset);

    /** Whether a pass that reached the end of every volume may still find blocks later (the scan is running). */
    boolean scanRunning();

    /** Whether any block is still to ship or unacknowledged; cheap (the shipper asks on every idle turn). */
    boolean outstanding();
}
