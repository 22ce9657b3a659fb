package dev.replicator.target.tree;

import dev.replicator.core.tree.FileStat;
import dev.replicator.core.tree.TreeApplier;
import dev.replicator.core.tree.TreeEntry;
import dev.replicator.core.tree.TreePaths;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/** Copies a tree keeping types, contents (holes stay holes), modes, owners and mtimes. */
public final class TreeCopy
{
    private static final int CHUNK_BYTES = 1024 * 1024;

    private TreeCopy()
    {
    }

    /** @throws IOException if {@code to} exists and is not an empty directory. */
    public static void copy(final Path from, final Path to) throws IOException
    {
        if (Files.exists(to))
        {
            try (var entries = Files.list(to))
            {
                if (!Files.isDirectory(to) || entries.findAny().isPresent())
                {
                    throw new IOException(to + " exists and is not an empty directory");
                }
            }
        }
        Files.createDirectories(to);
        final List<String> attributed = new ArrayList<>();
        final ByteBuffer buffer = ByteBuffer.allocateDirect(CHUNK_BYTES);
        Files.walkFileTree(from, new SimpleFileVisitor<>()
        {
            @Override
            public FileVisitResult preVisitDirectory(final Path dir, final BasicFileAttributes attrs) throws IOException
            {
                if (!dir.equals(from))
                {
                    final String rel = TreePaths.relative(from, dir);
                    Files.createDirectory(to.resolve(rel));
                    attributed.add(rel);
                }
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(final Path file, final BasicFileAttributes attrs) throws IOException
            {
                final String rel = TreePaths.relative(from, file);
                if (attrs.isSymbolicLink())
                {
                    Files.createSymbolicLink(to.resolve(rel), Files.readSymbolicLink(file));
                }
                else if (attrs.isRegularFile())
                {
                    copyFile(file, to.resolve(rel), buffer);
                    attributed.add(rel);
                }
                return FileVisitResult.CONTINUE;
            }
        });
        attributed.sort(Comparator.comparingInt(TreePaths::depth).reversed());
        for (final String rel : attributed)
        {
            final FileStat stat = FileStat.read(from.resolve(rel));
            if (stat != null && stat.type() != TreeEntry.Type.SYMLINK)
            {
                TreeApplier.setAttributes(to.resolve(rel), stat.mode(), stat.uid(), stat.gid(), stat.mtimeNs());
            }
        }
    }

    private static void copyFile(final Path from, final Path to, final ByteBuffer buffer) throws IOException
    {
        try (FileChannel in = FileChannel.open(from, StandardOpenOption.READ);
            FileChannel out = FileChannel.open(to, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE))
        {
            final long size = in.size();
            for (long offset = 0; offset < size; offset += CHUNK_BYTES)
            {
                buffer.clear().limit((int)Math.min(CHUNK_BYTES, size - offset));
                while (buffer.hasRemaining() && in.read(buffer, offset + buffer.position()) >= 0)
                {
                    // read until the chunk is full
                }
                buffer.flip();
                if (!isZero(buffer))
                {
                    while (buffer.hasRemaining())
                    {
                        out.write(buffer, offset + buffer.position());
                    }
                }
            }
        }
        try (RandomAccessFile file = new RandomAccessFile(to.toFile(), "rw"))
        {
            file.setLength(Files.size(from));
        }
    }

    private static boolean isZero(final ByteBuffer buffer)
    {
        for (int i = buffer.position(); i < buffer.limit(); i++)
        {
            if (buffer.get(i) != 0)
            {
                return false;
            }
        }
        return true;
    }
}
