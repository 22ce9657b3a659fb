package dev.replicator.target.admin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.replicator.core.volume.VolumeSpec;
import dev.replicator.core.wire.Json;
import dev.replicator.target.group.Group;
import dev.replicator.target.failover.FailoverService;
import dev.replicator.target.failover.TreeRecovery;
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
     * A real {@code failover --to DIR} of a group of tree volumes: fenced by epoch like a block
     * failover, the image materialised into DIR (one tree) or DIR/NAME (several), manifests kept for
     * failback (see TreeRecovery). A group that mixes trees and block volumes is refused: failback of
     * such a group is not built.
     */
    static JsonNode failover(final Group group, final FailoverService service, final long imageSeq, final Path to)
        throws AdminException, IOException
    {
        final long startMs = System.currentTimeMillis();
        if (!group.volumeSpecs().isEmpty())
        {
            throw AdminException.badInput("group '" + group.name() + "' holds both tree and block volumes, which " +
                "this version fails over only as a drill (failover --test --to DIR) (nothing was changed)");
        }
        final List<Path> paths = TreeRecovery.paths(group, to);
        if (paths.size() > 1 && Files.exists(to) && !Files.isDirectory(to))
        {
            throw AdminException.badInput(to + " exists and is not a directory (nothing was changed)");
        }
        for (final Path out : paths)
        {
            if (Files.exists(out) && !isEmptyDirectory(out))
            {
                throw AdminException.badInput(out + " exists and is not an empty directory; choose a new path " +
                    "(nothing was changed)");
            }
        }
        if (imageSeq != FailoverService.LATEST)
        {
            for (final String name : group.trees().names())
            {
                if (!group.trees().store(name).checkpoints().contains(imageSeq))
                {
                    throw AdminException.badInput("tree volume '" + name + "' has no image at seq " + imageSeq +
                        " (its oldest were dropped by retention); choose another image (nothing was changed)");
                }
            }
        }
        final FailoverService.Result result;
        try
        {
            result = service.failover(group, imageSeq, paths, null);
        }
        catch (final IllegalStateException ex)
        {
            throw AdminException.badInput(ex.getMessage());
        }
        final ObjectNode node = Json.mapper().createObjectNode();
        node.put("group", group.name());
        node.put("image", new ImageId(group.name(), result.imageSeq()).toString());
        node.put("epoch", result.epoch());
        node.put("test", false);
        node.put("trees", true);
        final ArrayNode out = node.putArray("paths");
        paths.forEach(p -> out.add(p.toString()));
        node.put("elapsedMs", System.currentTimeMillis() - startMs);
        return node;
    }

    /**
     * {@code failover --test} of a group with tree volumes: the image materialised as a writable
     * copy, replication and roles untouched.
     */
    static JsonNode failoverTest(final Group group, final long imageSeq, final Path to)
        throws AdminException, IOException
    {
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
