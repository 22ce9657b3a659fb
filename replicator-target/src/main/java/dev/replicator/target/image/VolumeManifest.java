package dev.replicator.target.image;

import dev.replicator.core.io.AtomicFiles;
import dev.replicator.core.volume.VolumeSpec;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The volumes a store was created with, so that a later open with a different group definition fails
 * with a clear message instead of misreading undo records (which name volumes by index and whose
 * payload length depends on the block size). Written once, atomically, as the last step of creating a
 * store: its presence means the store is complete. Text, one line per volume:
 *
 * <pre>
 * replicator-image-store 1
 * volume &lt;index&gt; &lt;name&gt; &lt;sizeBytes&gt; &lt;blockSize&gt;
 * ...
 * </pre>
 *
 * Stateless and thread-safe.
 */
final class VolumeManifest
{
    static final String HEADER = "replicator-image-store 1";

    private VolumeManifest()
    {
    }

    static void write(final Path path, final List<VolumeSpec> volumes) throws IOException
    {
        final StringBuilder text = new StringBuilder(HEADER).append('\n');
        for (int i = 0; i < volumes.size(); i++)
        {
            final VolumeSpec spec = volumes.get(i);
            text.append("volume ").append(i).append(' ').append(spec.name()).append(' ')
                .append(spec.sizeBytes()).append(' ').append(spec.blockSize()).append('\n');
        }
        AtomicFiles.writeString(path, text.toString());
    }

    /** @throws GroupMismatchException if {@code volumes} differ from the ones in the manifest. */
    static void validate(final Path path, final List<VolumeSpec> volumes) throws IOException
    {
        final List<String> lines = Files.readAllLines(path, StandardCharsets.UTF_8);
        if (lines.isEmpty() || !lines.get(0).equals(HEADER))
        {
            throw new ImageStoreException("image store manifest " + path + " is not a replicator manifest");
        }
        final int stored = lines.size() - 1;
        if (stored != volumes.size())
        {
            throw new GroupMismatchException("the image store in " + path.getParent() + " holds " + stored +
                " volumes but the group defines " + volumes.size() + "; volumes cannot be added to or removed " +
                "from an existing group");
        }
        for (int i = 0; i < stored; i++)
        {
            final String[] fields = lines.get(i + 1).split(" ");
            if (fields.length != 5 || !fields[0].equals("volume") || !fields[1].equals(Integer.toString(i)))
            {
                throw new ImageStoreException("image store manifest " + path + " is damaged at line " + (i + 2));
            }
            final VolumeSpec spec = volumes.get(i);
            final String expected = spec.name() + " " + spec.sizeBytes() + " " + spec.blockSize();
            final String found = fields[2] + " " + fields[3] + " " + fields[4];
            if (!expected.equals(found))
            {
                throw new GroupMismatchException("volume " + i + " of the image store in " + path.getParent() +
                    " is '" + fields[2] + "' of " + fields[3] + " bytes in blocks of " + fields[4] +
                    ", but the group defines '" + spec.name() + "' of " + spec.sizeBytes() + " bytes in blocks of " +
                    spec.blockSize() + "; a volume's name, size and block size cannot change in an existing group");
            }
        }
    }
}
