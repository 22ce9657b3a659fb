package dev.replicator.target.image;

import dev.replicator.core.io.AtomicFiles;
import dev.replicator.core.volume.VolumeChannel;
import dev.replicator.core.volume.VolumeSpec;

import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The replica files of a group, {@code volumes/<name>.replica}: each the newest content of its
 * volume, sparse. The store's writer writes them; image views read them concurrently (positional I/O
 * on a {@link java.nio.channels.FileChannel} is thread-safe).
 */
final class ReplicaSet implements Closeable
{
    private final VolumeChannel[] channels;

    private ReplicaSet(final VolumeChannel[] channels)
    {
        this.channels = channels;
    }

    /** Creates (or truncates) every replica as a sparse file of its volume's size, durably. */
    static void create(final StoreLayout layout, final List<VolumeSpec> volumes) throws IOException
    {
        Files.createDirectories(layout.volumesDir());
        for (int i = 0; i < volumes.size(); i++)
        {
            final VolumeSpec spec = volumes.get(i);
            try (VolumeChannel channel = VolumeChannel.createSparse(
                layout.replica(spec.name()), spec.sizeBytes(), spec.blockSize()))
            {
                channel.force();
            }
        }
        AtomicFiles.fsyncDirectory(layout.volumesDir());
    }

    /** Opens the existing replicas read-write after checking that each has its volume's size. */
    static ReplicaSet open(final StoreLayout layout, final List<VolumeSpec> volumes) throws IOException
    {
        final VolumeChannel[] channels = new VolumeChannel[volumes.size()];
        try
        {
            for (int i = 0; i < volumes.size(); i++)
            {
                final VolumeSpec spec = volumes.get(i);
                final Path path = layout.replica(spec.name());
                if (!Files.isRegularFile(path))
                {
                    throw new ImageStoreException("the replica of volume '" + spec.name() + "' is missing (" + path +
                        "); the group's image store is incomplete");
                }
                channels[i] = VolumeChannel.openReadWrite(path, spec.blockSize());
                final long size = channels[i].sizeBytes();
                if (size != spec.sizeBytes())
                {
                    throw new GroupMismatchException("the replica of volume '" + spec.name() + "' (" + path + ") has " +
                        size + " bytes but the group defines " + spec.sizeBytes() + "; a volume's size cannot change " +
                        "in an existing group");
                }
            }
            return new ReplicaSet(channels);
        }
        catch (final IOException | RuntimeException ex)
        {
            for (int i = 0; i < channels.length; i++)
            {
                Closeables.closeQuietly(channels[i], ex);
            }
            throw ex;
        }
    }

    VolumeChannel channel(final int volumeIndex)
    {
        return channels[volumeIndex];
    }

    int count()
    {
        return channels.length;
    }

    @Override
    public void close() throws IOException
    {
        IOException failure = null;
        for (int i = 0; i < channels.length; i++)
        {
            try
            {
                channels[i].close();
            }
            catch (final IOException ex)
            {
                if (failure == null)
                {
                    failure = ex;
                }
                else
                {
                    failure.addSuppressed(ex);
                }
            }
        }
        if (failure != null)
        {
            throw failure;
        }
    }
}
