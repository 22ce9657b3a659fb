package dev.replicator.target.tree;

import dev.replicator.core.io.AtomicFiles;
import dev.replicator.core.tree.TreeOp;
import dev.replicator.core.tree.TreeRecordDescriptor;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The tree volumes of one group at the target: one {@link TreeImageStore} per tree under
 * {@code groups/NAME/trees/VOL/}, and {@code trees/volumes} naming them in index order (a group
 * whose trees changed is refused, not mixed up). Calls come under the group lock.
 */
public final class TreeVolumes implements AutoCloseable
{
    private final Path dir;
    private final List<String> names = new ArrayList<>();
    private final List<TreeImageStore> stores = new ArrayList<>();

    private TreeVolumes(final Path dir)
    {
        this.dir = dir;
    }

    /** Opens the trees a group already has (none if it has none). */
    public static TreeVolumes open(final Path groupDir) throws IOException
    {
        final TreeVolumes trees = new TreeVolumes(groupDir.resolve("trees"));
        final Path list = trees.dir.resolve("volumes");
        if (Files.exists(list))
        {
            for (final String name : Files.readString(list, StandardCharsets.UTF_8).split("\n"))
            {
                if (!name.isBlank())
                {
                    trees.names.add(name.trim());
                    trees.stores.add(TreeImageStore.open(trees.dir.resolve(name.trim())));
                }
            }
        }
        return trees;
    }

    /**
     * Agrees the agent's tree volumes with those the group has: the first time they are recorded.
     *
     * @return null if they agree, else one sentence saying how they differ.
     */
    public String bind(final List<String> agentTrees) throws IOException
    {
        if (names.equals(agentTrees))
        {
            return null;
        }
        if (!names.isEmpty())
        {
            return "the group's tree volumes are " + names + " but the agent has " + agentTrees;
        }
        Files.createDirectories(dir);
        for (final String name : agentTrees)
        {
            stores.add(TreeImageStore.open(dir.resolve(name)));
            names.add(name);
        }
        AtomicFiles.writeString(dir.resolve("volumes"), String.join("\n", names) + "\n");
        return null;
    }

    public List<String> names()
    {
        return List.copyOf(names);
    }

    public boolean isEmpty()
    {
        return names.isEmpty();
    }

    public TreeImageStore store(final int treeIndex)
    {
        if (treeIndex < 0 || treeIndex >= stores.size())
        {
            throw new IllegalArgumentException("tree volume " + treeIndex + " of " + stores.size());
        }
        return stores.get(treeIndex);
    }

    public TreeImageStore store(final String name)
    {
        final int i = names.indexOf(name);
        return i < 0 ? null : stores.get(i);
    }

    /** Applies one decoded-from-the-wire op (its encoded bytes in {@code encoded}). */
    public void apply(final long seq, final int treeIndex, final ByteBuffer encoded) throws IOException
    {
        final TreeOp op;
        try
        {
            op = TreeRecordDescriptor.decode(encoded);
        }
        catch (final IllegalArgumentException ex)
        {
            throw new IOException("tree op seq " + seq + " cannot be decoded: " + ex.getMessage(), ex);
        }
        store(treeIndex).apply(seq, op);
    }

    public void commit(final long seq) throws IOException
    {
        for (final TreeImageStore store : stores)
        {
            store.commit(seq);
        }
    }

    public void checkpoint(final long seq) throws IOException
    {
        for (final TreeImageStore store : stores)
        {
            store.checkpoint(seq);
        }
    }

    public void retain(final long firstRetainedSeq) throws IOException
    {
        for (final TreeImageStore store : stores)
        {
            store.retain(firstRetainedSeq);
        }
    }

    @Override
    public void close() throws IOException
    {
        IOException failure = null;
        for (final TreeImageStore store : stores)
        {
            try
            {
                store.close();
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

    @Override
    public String toString()
    {
        return "trees " + Arrays.toString(names.toArray());
    }
}
