package dev.replicator.target.failover;

import dev.replicator.core.tree.TreeIndex;
import dev.replicator.core.tree.TreeManifest;
import dev.replicator.core.tree.TreeVolumeSpec;
import dev.replicator.target.group.Group;
import dev.replicator.target.tree.TreeImageStore;
import dev.replicator.target.tree.TreeVolumes;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * The recovery side of a tree failover: each tree's image materialised into its recovery directory,
 * and two manifests kept in the failover dir, what tree failback diffs from:
 *
 * <pre>
 * groups/NAME/failover/
 *   TREE.recovery.manifest   the recovery directory as materialised (its inodes, fingerprints)
 *   TREE.replica.manifest    the target's replica of TREE at failover (it does not change until failback)
 * </pre>
 * Both are {@link TreeIndex} files (see its format), fingerprinted at the default tree block size.
 * Writes made in the recovery directory afterwards need no events: failback scans it against its
 * manifest (a file is read again only if its size or mtime changed), which is the source of truth.
 */
public final class TreeRecovery
{
    /** The block size manifests taken at the target use; the agent's trees may use another. */
    public static final int MANIFEST_BLOCK_SIZE = TreeVolumeSpec.DEFAULT_BLOCK_SIZE;

    private TreeRecovery()
    {
    }

    /** Materialises image {@code imageSeq} of every tree into its recovery path, then the manifests. */
    static void produce(final Group group, final long imageSeq, final List<Path> recoveryPaths, final Path failoverDir)
        throws IOException
    {
        final TreeVolumes trees = group.trees();
        for (int t = 0; t < trees.names().size(); t++)
        {
            final String name = trees.names().get(t);
            final TreeImageStore store = trees.store(t);
            store.export(imageSeq, recoveryPaths.get(t));
            TreeManifest.take(recoveryPaths.get(t), MANIFEST_BLOCK_SIZE).save(recoveryManifest(failoverDir, name));
            TreeManifest.take(store.replica(), MANIFEST_BLOCK_SIZE).save(replicaManifest(failoverDir, name));
        }
    }

    public static Path recoveryManifest(final Path failoverDir, final String tree)
    {
        return failoverDir.resolve(tree + ".recovery.manifest");
    }

    public static Path replicaManifest(final Path failoverDir, final String tree)
    {
        return failoverDir.resolve(tree + ".replica.manifest");
    }

    /** Loads a manifest written by {@link #produce}; a missing one is an error, not an empty tree. */
    public static TreeIndex load(final Path manifest) throws IOException
    {
        if (!java.nio.file.Files.exists(manifest))
        {
            throw new IOException("tree failover manifest " + manifest + " is missing");
        }
        return TreeIndex.load(manifest, MANIFEST_BLOCK_SIZE);
    }

    /** The recovery directories of a tree failover to {@code to}: {@code to} itself for one tree, else to/NAME. */
    public static List<Path> paths(final Group group, final Path to) throws IOException
    {
        final List<String> names = group.trees().names();
        if (names.size() == 1)
        {
            return List.of(to.toAbsolutePath());
        }
        return names.stream().map(n -> to.toAbsolutePath().resolve(n)).toList();
    }
}
