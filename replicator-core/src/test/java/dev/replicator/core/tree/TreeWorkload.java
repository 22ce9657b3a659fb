package dev.replicator.core.tree;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

/** Random file operations on a tree, driven by a seeded {@link Random}: what an application does. */
public final class TreeWorkload
{
    private final Path root;
    private final Random random;
    private int names;

    public TreeWorkload(final Path root, final Random random)
    {
        this.root = root;
        this.random = random;
    }

    /** Applies {@code count} random operations; returns a line per operation for failure reports. */
    public List<String> run(final int count) throws IOException
    {
        final List<String> log = new ArrayList<>();
        for (int i = 0; i < count; i++)
        {
            log.add(step());
        }
        return log;
    }

    private String step() throws IOException
    {
        final List<Path> files = list(true, false);
        final List<Path> dirs = list(false, true);
        dirs.add(root);
        final int choice = random.nextInt(14);
        final Path dir = dirs.get(random.nextInt(dirs.size()));
        if (files.isEmpty() || choice < 3)
        {
            final Path file = dir.resolve("f" + names++);
            final long size = random.nextInt(4) == 0 ? 0 : random.nextInt(300_000);
            try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw"))
            {
                if (random.nextBoolean() && size > 0)
                {
                    raf.setLength(size + 2_000_000); // sparse: a hole, then data
                    raf.seek(2_000_000);
                }
                raf.write(bytes((int)size));
            }
            return "create " + rel(file) + " " + size;
        }
        final Path file = files.get(random.nextInt(files.size()));
        switch (choice)
        {
            case 3, 4 ->
            {
                try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw"))
                {
                    final long at = raf.length() == 0 ? 0 : (long)(random.nextDouble() * raf.length());
                    raf.seek(at);
                    raf.write(bytes(1 + random.nextInt(70_000)));
                }
                return "write " + rel(file);
            }
            case 5 ->
            {
                try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw"))
                {
                    raf.setLength(random.nextBoolean() ? raf.length() / 2 : raf.length() + random.nextInt(500_000));
                }
                return "truncate " + rel(file);
            }
            case 6 ->
            {
                Files.delete(file);
                return "delete " + rel(file);
            }
            case 7 ->
            {
                final Path to = dirs.get(random.nextInt(dirs.size())).resolve("r" + names++);
                Files.move(file, to);
                return "rename " + rel(file) + " " + rel(to);
            }
            case 8 ->
            {
                final Path sub = dir.resolve("d" + names++);
                Files.createDirectory(sub);
                return "mkdir " + rel(sub);
            }
            case 9 ->
            {
                if (dir.equals(root))
                {
                    return "noop";
                }
                final Path target = dirs.get(random.nextInt(dirs.size()));
                if (target.startsWith(dir))
                {
                    return "noop";
                }
                final Path to = target.resolve("m" + names++);
                Files.move(dir, to);
                return "move dir " + rel(dir) + " " + rel(to);
            }
            case 10 ->
            {
                if (dir.equals(root))
                {
                    return "noop";
                }
                deleteTree(dir);
                return "rm -r " + rel(dir);
            }
            case 11 ->
            {
                Files.setAttribute(file, "unix:mode", random.nextBoolean() ? 0600 : 0755);
                return "chmod " + rel(file);
            }
            case 12 ->
            {
                Files.setLastModifiedTime(file, FileTime.fromMillis(1_600_000_000_000L + random.nextInt(1_000_000) * 1000L));
                return "touch " + rel(file);
            }
            default ->
            {
                final Path link = dir.resolve("l" + names++);
                Files.createSymbolicLink(link, Path.of(random.nextBoolean() ? rel(file) : "../nowhere/" + names));
                return "symlink " + rel(link);
            }
        }
    }

    private byte[] bytes(final int length)
    {
        final byte[] bytes = new byte[length];
        // Half random, half runs of zeros: zeros compress and may become holes.
        for (int i = 0; i < length; i++)
        {
            bytes[i] = (i / 8192) % 2 == 0 ? (byte)random.nextInt() : 0;
        }
        return bytes;
    }

    private String rel(final Path path)
    {
        return root.relativize(path).toString();
    }

    private List<Path> list(final boolean regularFiles, final boolean directories) throws IOException
    {
        final List<Path> out = new ArrayList<>();
        try (Stream<Path> paths = Files.walk(root))
        {
            paths.filter(p -> !p.equals(root))
                .filter(p -> regularFiles && Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS) ||
                    directories && Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS))
                .sorted()
                .forEach(out::add);
        }
        return out;
    }

    public static void deleteTree(final Path dir) throws IOException
    {
        if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS))
        {
            return;
        }
        Files.walkFileTree(dir, new SimpleFileVisitor<>()
        {
            @Override
            public FileVisitResult visitFile(final Path file, final BasicFileAttributes attrs) throws IOException
            {
                Files.delete(file);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(final Path d, final IOException ex) throws IOException
            {
                Files.delete(d);
                return FileVisitResult.CONTINUE;
            }
        });
    }
}
