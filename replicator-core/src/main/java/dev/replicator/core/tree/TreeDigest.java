package dev.replicator.core.tree;

import dev.replicator.core.codec.Checksums;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.TreeMap;

/**
 * A comparable description of a tree: per path its type, mode, owner, mtime, size and content
 * hash (xxHash64 over the whole file), or its link target. Two trees are the same image when their
 * digests are equal. Symlinks' own mode and mtime are left out (they are not replicated).
 */
public final class TreeDigest
{
    private TreeDigest()
    {
    }

    public static TreeMap<String, String> of(final Path root) throws IOException
    {
        final TreeMap<String, String> digest = new TreeMap<>(TreeIndex::compare);
        final ByteBuffer buffer = ByteBuffer.allocateDirect(1024 * 1024);
        for (final Map.Entry<String, FileStat> e : TreeScanner.walkSequentially(root).entrySet())
        {
            final FileStat s = e.getValue();
            final String line = switch (s.type())
            {
                case SYMLINK -> "l -> " + s.linkTarget();
                case DIRECTORY -> "d " + attributes(s);
                case FILE -> "f " + attributes(s) + " size " + s.size() + " hash " + Long.toHexString(hash(root.resolve(e.getKey()), buffer));
            };
            digest.put(e.getKey(), line);
        }
        return digest;
    }

    private static String attributes(final FileStat s)
    {
        return Integer.toOctalString(s.mode()) + " " + s.uid() + ":" + s.gid() + " mtime " + s.mtimeNs();
    }

    /** xxHash64 of each 1 MiB chunk, folded: enough to tell contents apart. */
    private static long hash(final Path file, final ByteBuffer buffer) throws IOException
    {
        long hash = 17;
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ))
        {
            long position = 0;
            while (true)
            {
                buffer.clear();
                final int n = channel.read(buffer, position);
                if (n <= 0)
                {
                    return hash;
                }
                hash = hash * 31 + Checksums.xxHash64(buffer, 0, n);
                position += n;
            }
        }
    }
}
