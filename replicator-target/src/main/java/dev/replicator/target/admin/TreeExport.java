package dev.replicator.target.admin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.replicator.core.volume.VolumeSpec;
import dev.replicator.core.wire.Json;
import dev.replicator.target.group.Group;
import dev.replicator.target.failover.FailoverService;
import dev.replicator.target.image.Checkpoint;
import dev.replicator.target.image.ImageView;
import dev.replicator.target.tree.TreeVolumes;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * {@code images export} of a group with tree volumes. A group of one tree exports it to {@code to}
 * itself (a new or empty directory); otherwise {@code to/NAME} for each tree and {@code to/NAME.img}
 * for each block volume.
 */
final class TreeExport
{
    private TreeExport()
    {
    }

    static JsonNode export(final Group group, final ImageId id, final Path to) throws AdminException, IOException
    {
        final Path base = to.toAbsolutePath();
        final long startMs = System.currentTimeMillis();
        final List<VolumeSpec> blocks = group.volumeSpecs();
        final ObjectNode node = Json.mapper().createObjectNode();
        node.put("image", id.toString());
        final ArrayNode paths = node.putArray("paths");
        group.lock().lock();
        try
        {
            final TreeVolumes trees = group.trees();
            final boolean single = blocks.isEmpty() && trees.names().size() == 1;
            if (!single && Files.exists(base) && !Files.isDirectory(base))
            {
                throw AdminException.badInput(base + " exists and is not a directory (nothing was changed)");
            }
            for (final String name : trees.names())
            {
                final Path out = single ? base : base.resolve(name);
                if (Files.exists(out) && !isEmptyDirectory(out))
                {
                    throw AdminException.badInput(out + " exists and is not an empty directory; choose a new path " +
                        "(nothing was changed)");
                }
            }
            for (final String name : trees.names())
            {
                final Path out = single ? base : base.resolve(name);
                trees.store(name).export(id.seq(), out);
                paths.add(out.toString());
            }
            if (!blocks.isEmpty())
            {
                final ImageView view = group.store().openImage(id.seq());
                for (int v = 0; v < blocks.size(); v++)
                {
                    final Path out = base.resolve(blocks.get(v).name() + ".img");
                    view.materialize(v, out, (done, total) -> { });
                    paths.add(out.toString());
                }
            }
        }
        catch (final IllegalArgumentException ex)
        {
            throw AdminException.badInput(ex.getMessage());
        }
        finally
        {
            group.lock().unlock();
        }
        node.put("elapsedMs", System.currentTimeMillis() - startMs);
        return node;
    }

    /**
     * {@code failover --test} of a group with tree volumes: the image materialised as a writable
     * copy, replication and roles untouched. A real failover of trees is refused: failback of trees
     * does not exist yet, and a fenced group would have no way back.
     */
    static JsonNode failoverTest(final Group group, final long imageSeq, final boolean test, final Path to)
        throws AdminException, IOException
    {
        if (!test)
        {
            throw AdminException.badInput("group '" + group.name() + "' has tree volumes, which this version fails over " +
                "only as a drill (failover --test --to DIR): failback of trees is not implemented yet (nothing was changed)");
        }
        long seq = imageSeq;
        if (seq == FailoverService.LATEST)
        {
            final List<Checkpoint> checkpoints = group.store().checkpoints();
            if (checkpoints.isEmpty())
            {
                throw AdminException.badInput("group '" + group.name() + "' has no checkpoint to test yet");
            }
            seq = checkpoints.get(checkpoints.size() - 1).seq();
        }
        final ObjectNode node = (ObjectNode)export(group, new ImageId(group.name(), seq), to);
        node.put("group", group.name());
        node.put("epoch", group.state().epoch());
        node.put("test", true);
        return node;
    }

    private static boolean isEmptyDirectory(final Path dir) throws IOException
    {
        if (!Files.isDirectory(dir))
        {
            return false;
        }
        try (var entries = Files.list(dir))
        {
            return entries.findAny().isEmpty();
        }
    }
}
