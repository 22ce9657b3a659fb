package dev.replicator.target.image;

import dev.replicator.core.codec.BlockCodec;
import dev.replicator.core.codec.Checksums;
import dev.replicator.core.io.AtomicFiles;
import dev.replicator.core.volume.VolumeChannel;
import dev.replicator.core.volume.VolumeSpec;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Writes one volume of an image to a new sparse file: large chunks read through the view (replica plus
 * undo overlay), all-zero blocks left as holes, every block's fingerprint computed from the bytes
 * written, one fsync at the end. A failure deletes the partial file. One use, one thread.
 */
final class ImageMaterializer
{
    /** 1 MiB reads: large enough for sequential disk speed, small enough to hold the read lock briefly. */
    static final int CHUNK_LENGTH_BYTES = 1 << 20;

    private final ImageView view;
    private final VolumeSpec spec;
    private final int volumeIndex;

    ImageMaterializer(final ImageView view, final VolumeSpec spec, final int volumeIndex)
    {
        this.view = view;
        this.spec = spec;
        this.volumeIndex = volumeIndex;
    }

    void writeTo(final Path out, final ProgressListener progress, final BlockFingerprintSink fingerprints)
        throws IOException
    {
        if (Files.exists(out))
        {
            throw new ImageStoreException(out + " already exists; an image is materialized into a new file");
        }
        final VolumeChannel channel = VolumeChannel.createSparse(out, spec.sizeBytes(), spec.blockSize());
        try
        {
            copy(channel, progress, fingerprints);
            channel.force();
            channel.close();
            final Path parent = out.toAbsolutePath().getParent();
            if (parent != null)
            {
                AtomicFiles.fsyncDirectory(parent);
            }
        }
        catch (final IOException | RuntimeException ex)
        {
            Closeables.closeQuietly(channel, ex);
            try
            {
                Files.deleteIfExists(out);
            }
            catch (final IOException deleteFailure)
            {
                ex.addSuppressed(deleteFailure);
            }
            throw ex;
        }
    }

    private void copy(final VolumeChannel channel, final ProgressListener progress, final BlockFingerprintSink fingerprints)
        throws IOException
    {
        final int blockSize = spec.blockSize();
        final long blockCount = spec.blockCount();
        final int chunkBlocks = Math.max(1, CHUNK_LENGTH_BYTES / blockSize);
        final ByteBuffer chunk = ByteBuffer.allocateDirect(chunkBlocks * blockSize);
        final ByteBuffer run = chunk.duplicate();
        final long zeroFingerprint = Checksums.zeroBlockFingerprint(blockSize);
        for (long firstBlock = 0; firstBlock < blockCount; firstBlock += chunkBlocks)
        {
            final int blocks = (int)Math.min(chunkBlocks, blockCount - firstBlock);
            chunk.clear().limit(blocks * blockSize);
            view.readBlocks(volumeIndex, firstBlock, chunk);
            int runStart = -1;
            for (int i = 0; i <= blocks; i++)
            {
                final boolean zero = i == blocks || BlockCodec.isAllZero(chunk, i * blockSize, blockSize);
                if (i < blocks && fingerprints != null)
                {
                    fingerprints.accept(firstBlock + i,
                        zero ? zeroFingerprint : Checksums.xxHash64(chunk, i * blockSize, blockSize));
                }
                if (!zero && runStart < 0)
                {
                    runStart = i;
                }
                else if (zero && runStart >= 0)
                {
                    run.clear().position(runStart * blockSize).limit(i * blockSize);
                    channel.writeBlocks(firstBlock + runStart, run);
                    runStart = -1;
                }
            }
            if (progress != null)
            {
                progress.onProgress((firstBlock + blocks) * blockSize, spec.sizeBytes());
            }
        }
    }
}
