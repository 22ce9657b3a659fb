package dev.replicator.target.image;

import java.nio.file.Path;

/**
 * Where an image store keeps its files inside a group directory:
 *
 * <pre>
 * groupDir/
 *   volumes.manifest                 the volumes the store was created with ({@link VolumeManifest})
 *   store.state                      durable lastSeq and first retained checkpoint ({@link StateFileDescriptor})
 *   checkpoints.catalog              append-only checkpoint records ({@link CheckpointCatalogDescriptor})
 *   volumes/&lt;name&gt;.replica         newest content of each volume, sparse
 *   undo/&lt;baseCheckpointSeq&gt;.undo    one undo segment per checkpoint interval ({@link UndoSegmentDescriptor})
 * </pre>
 *
 * Immutable and thread-safe.
 */
final class StoreLayout
{
    static final String MANIFEST_FILE = "volumes.manifest";
    static final String STATE_FILE = "store.state";
    static final String CATALOG_FILE = "checkpoints.catalog";
    static final String VOLUMES_DIR = "volumes";
    static final String UNDO_DIR = "undo";
    static final String REPLICA_SUFFIX = ".replica";
    static final String UNDO_SUFFIX = ".undo";
    /** Long.MAX_VALUE has 19 digits; 20 keeps names sortable as text too. */
    static final int UNDO_NAME_DIGITS = 20;

    private final Path groupDir;

    StoreLayout(final Path groupDir)
    {
        this.groupDir = groupDir;
    }

    Path groupDir()
    {
        return groupDir;
    }

    Path manifest()
    {
        return groupDir.resolve(MANIFEST_FILE);
    }

    Path stateFile()
    {
        return groupDir.resolve(STATE_FILE);
    }

    Path catalog()
    {
        return groupDir.resolve(CATALOG_FILE);
    }

    Path volumesDir()
    {
        return groupDir.resolve(VOLUMES_DIR);
    }

    Path replica(final String volumeName)
    {
        return volumesDir().resolve(volumeName + REPLICA_SUFFIX);
    }

    Path undoDir()
    {
        return groupDir.resolve(UNDO_DIR);
    }

    Path undoSegment(final long baseCheckpointSeq)
    {
        return undoDir().resolve(undoSegmentName(baseCheckpointSeq));
    }

    static String undoSegmentName(final long baseCheckpointSeq)
    {
        final String digits = Long.toString(baseCheckpointSeq);
        return "0".repeat(UNDO_NAME_DIGITS - digits.length()) + digits + UNDO_SUFFIX;
    }

    /** The base checkpoint seq an undo segment's file name carries, or -1 if the name is not a segment's. */
    static long parseUndoSegmentName(final String fileName)
    {
        if (fileName.length() != UNDO_NAME_DIGITS + UNDO_SUFFIX.length() || !fileName.endsWith(UNDO_SUFFIX))
        {
            return -1;
        }
        for (int i = 0; i < UNDO_NAME_DIGITS; i++)
        {
            final char c = fileName.charAt(i);
            if (c < '0' || c > '9')
            {
                return -1;
            }
        }
        try
        {
            return Long.parseLong(fileName, 0, UNDO_NAME_DIGITS, 10);
        }
        catch (final NumberFormatException tooLarge)
        {
            return -1;
        }
    }
}
