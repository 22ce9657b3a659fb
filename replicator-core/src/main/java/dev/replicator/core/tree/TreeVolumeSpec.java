package dev.replicator.core.tree;

import java.nio.file.Path;

/**
 * A directory tree replicated as a volume.
 *
 * @param name      the volume's name in the group.
 * @param root      the directory replicated (its own attributes are not).
 * @param blockSize bytes per fingerprinted block of each file: the unit a changed file is re-sent in.
 */
public record TreeVolumeSpec(String name, Path root, int blockSize)
{
    /** Bigger than a block volume's 4 KiB: a 10 GiB file costs 1.3 MB of index, a 1 MiB change sends about 1 MiB. */
    public static final int DEFAULT_BLOCK_SIZE = 64 * 1024;
}
