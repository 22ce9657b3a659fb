package dev.replicator.target.failover;

import dev.replicator.core.bitmap.BlockBitmap;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * A failed-over group's recovery volumes as failback sees them: what was written since failover, the
 * current content and fingerprints. Two kinds: plain files found changed by scanning
 * ({@link RecoveryTracker}), and NBD exports whose overlay records every write exactly
 * ({@link OverlayRecovery}).
 *
 * <p>Thread-safe.
 */
public interface RecoveryVolumes extends Closeable
{
    /** Takes in writes since the last call; returns, per volume, the blocks found newly written. */
    BlockBitmap[] scanNow() throws IOException;

    /** Blocks written on volume {@code index} since failover, as of the last {@link #scanNow()}, as a new bitmap. */
    BlockBitmap written(int index);

    /** xxHash64 of a recovery block (as of the last scan, for scanned volumes). */
    long fingerprint(int index, long block) throws IOException;

    /**
     * xxHash64 of blocks {@code firstBlock .. firstBlock + dst.length - 1} of volume {@code index} into
     * {@code dst}; what {@link #fingerprint(int, long)} gives for each, which is what this default does.
     */
    default void fingerprints(final int index, final long firstBlock, final long[] dst) throws IOException
    {
        for (int i = 0; i < dst.length; i++)
        {
            dst[i] = fingerprint(index, firstBlock + i);
        }
    }

    /** Reads whole blocks of volume {@code index} from {@code firstBlock} into {@code dst}, advancing it. */
    void readBlocks(int index, long firstBlock, ByteBuffer dst) throws IOException;

    /** Where the recovery volumes are served, for status (e.g. {@code nbd://127.0.0.1:10809}); null for files. */
    String export();

    @Override
    void close();
}
