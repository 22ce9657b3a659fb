package dev.replicator.core.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * Small state files replaced atomically: write a temp file beside the target, fsync it, rename it
 * over the target, fsync the directory. After a crash a reader sees the old file or the new one,
 * never a mix.
 */
public final class AtomicFiles
{
    private AtomicFiles()
    {
    }

    public static void write(final Path path, final ByteBuffer content) throws IOException
    {
        final Path dir = path.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        final Path temp = dir.resolve(path.getFileName() + ".tmp");
        try (FileChannel channel = FileChannel.open(
            temp, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING))
        {
            while (content.hasRemaining())
            {
                channel.write(content);
            }
            channel.force(true);
        }
        try
        {
            Files.move(temp, path, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        }
        catch (final AtomicMoveNotSupportedException ex)
        {
            Files.move(temp, path, StandardCopyOption.REPLACE_EXISTING);
        }
        fsyncDirectory(dir);
    }

    public static void writeString(final Path path, final String content) throws IOException
    {
        write(path, ByteBuffer.wrap(content.getBytes(StandardCharsets.UTF_8)));
    }

    /** Makes a directory entry change (create, rename, delete) durable. */
    public static void fsyncDirectory(final Path dir) throws IOException
    {
        try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ))
        {
            channel.force(true);
        }
        catch (final IOException ex)
        {
            // Some file systems refuse to open a directory for fsync; the rename is then as durable
            // as that file system makes it, and there is nothing more to do.
            if (!Files.isDirectory(dir))
            {
                throw ex;
            }
        }
    }
}
