package dev.replicator.core.tree;

import java.nio.file.Path;

/** Relative tree paths: '/'-separated, no empty, "." or ".." segments, so none escapes the root. */
public final class TreePaths
{
    private TreePaths()
    {
    }

    /** @throws IllegalArgumentException if {@code path} is not a safe relative tree path. */
    public static void check(final String path)
    {
        if (path.isEmpty() || path.startsWith("/") || path.endsWith("/") || path.indexOf('\0') >= 0)
        {
            throw new IllegalArgumentException("tree path '" + path + "' is not a relative path");
        }
        for (final String segment : path.split("/", -1))
        {
            if (segment.isEmpty() || segment.equals(".") || segment.equals(".."))
            {
                throw new IllegalArgumentException("tree path '" + path + "' has an empty, '.' or '..' segment");
            }
        }
    }

    /** {@code root} resolved with a checked relative path. */
    public static Path resolve(final Path root, final String path)
    {
        check(path);
        return root.resolve(path);
    }

    /** The relative path of {@code file} under {@code root}, '/'-separated. */
    public static String relative(final Path root, final Path file)
    {
        final Path rel = root.relativize(file);
        final StringBuilder sb = new StringBuilder();
        for (final Path segment : rel)
        {
            if (sb.length() > 0)
            {
                sb.append('/');
            }
            sb.append(segment);
        }
        return sb.toString();
    }

    /** The parent path, or null for an entry directly under the root. */
    public static String parent(final String path)
    {
        final int slash = path.lastIndexOf('/');
        return slash < 0 ? null : path.substring(0, slash);
    }

    public static int depth(final String path)
    {
        int depth = 0;
        for (int i = 0; i < path.length(); i++)
        {
            if (path.charAt(i) == '/')
            {
                depth++;
            }
        }
        return depth;
    }
}
