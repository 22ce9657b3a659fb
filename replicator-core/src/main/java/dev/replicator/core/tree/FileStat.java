package dev.replicator.core.tree;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The attributes of one file-system entry, read without following symlinks (Linux "unix:" view).
 *
 * @param type       directory, regular file or symlink.
 * @param inode      the inode number: a file renamed keeps it, so renames are found without reading data.
 * @param mode       permission bits only (07777).
 * @param linkTarget the symlink's target, else null.
 */
public record FileStat(TreeEntry.Type type, long inode, long size, long mtimeNs, int mode, int uid, int gid, String linkTarget)
{
    private static final String ATTRIBUTES = "unix:ino,mode,uid,gid,size,lastModifiedTime,isDirectory,isRegularFile,isSymbolicLink";

    /**
     * @return the entry's attributes, or null for a kind a tree does not replicate (socket, fifo,
     * device) or an entry that vanished while being read.
     */
    public static FileStat read(final Path path) throws IOException
    {
        final Map<String, Object> a;
        try
        {
            a = Files.readAttributes(path, ATTRIBUTES, LinkOption.NOFOLLOW_LINKS);
        }
        catch (final java.nio.file.NoSuchFileException ex)
        {
            return null;
        }
        final TreeEntry.Type type;
        String linkTarget = null;
        if ((Boolean)a.get("isDirectory"))
        {
            type = TreeEntry.Type.DIRECTORY;
        }
        else if ((Boolean)a.get("isRegularFile"))
        {
            type = TreeEntry.Type.FILE;
        }
        else if ((Boolean)a.get("isSymbolicLink"))
        {
            type = TreeEntry.Type.SYMLINK;
            try
            {
                linkTarget = Files.readSymbolicLink(path).toString();
            }
            catch (final java.nio.file.NoSuchFileException ex)
            {
                return null;
            }
        }
        else
        {
            return null;
        }
        return new FileStat(type, (Long)a.get("ino"), type == TreeEntry.Type.FILE ? (Long)a.get("size") : 0,
            ((FileTime)a.get("lastModifiedTime")).to(TimeUnit.NANOSECONDS), (Integer)a.get("mode") & 07777,
            (Integer)a.get("uid"), (Integer)a.get("gid"), linkTarget);
    }
}
