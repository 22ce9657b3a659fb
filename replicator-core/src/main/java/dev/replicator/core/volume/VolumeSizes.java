package dev.replicator.core.volume;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;

/** Sizes of regular files and Linux block devices (whose FileChannel size reads as 0). */
final class VolumeSizes
{
    private static final int SECTOR_BYTES = 512;

    private VolumeSizes()
    {
    }

    static long sizeOf(final Path path, final FileChannel channel) throws IOException
    {
        if (!VolumeChannel.isBlockDevice(path))
        {
            return channel.size();
        }
        final Path real = path.toRealPath();
        final Path sysSize = Path.of("/sys/class/block", real.getFileName().toString(), "size");
        if (!Files.isReadable(sysSize))
        {
            throw new IOException("cannot read the size of block device " + path + " from " + sysSize);
        }
        return Long.parseLong(Files.readString(sysSize).trim()) * SECTOR_BYTES;
    }
}
