package dev.replicator.target.admin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.replicator.core.codec.Checksums;
import dev.replicator.core.volume.VolumeChannel;
import dev.replicator.core.volume.VolumeSpec;
import dev.replicator.core.wire.FrameChannel;
import dev.replicator.core.wire.Json;
import dev.replicator.core.wire.MessageType;
import dev.replicator.core.wire.Messages;
import dev.replicator.target.failback.FailbackService;
import dev.replicator.target.failover.FailoverService;
import dev.replicator.target.failover.RecoveryTracker;
import dev.replicator.target.group.AgentLink;
import dev.replicator.target.group.Group;
import dev.replicator.target.group.GroupRole;
import dev.replicator.target.group.GroupState;
import dev.replicator.target.group.Groups;
import dev.replicator.target.image.Checkpoint;
import dev.replicator.target.image.ImageView;
import dev.replicator.target.image.ProgressListener;
import dev.replicator.target.receive.TargetServer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Serves admin commands (from {@code replicator status|images|checkpoint|failover|failback|verify})
 * on their own connection: one request, progress frames for long work, one response. Input is
 * validated before anything changes; a bad request answers exit code 2 and changes nothing.
 * Paths in requests are paths on the target host.
 */
public final class AdminHandler
{
    private static final Logger LOG = LoggerFactory.getLogger(AdminHandler.class);
    /** How often a checkpoint command looks at its primary's connection while it waits. */
    private static final long CHECKPOINT_POLL_MS = 100;

    private final Groups groups;
    private final FailoverService failover;
    private final FailbackService failback;
    private volatile TargetServer server;

    public AdminHandler(final Groups groups, final FailoverService failover, final FailbackService failback)
    {
        this.groups = groups;
        this.failover = failover;
        this.failback = failback;
    }

    public void server(final TargetServer server)
    {
        this.server = server;
    }

    public void handle(final FrameChannel channel, final Messages.AdminRequest request)
    {
        Messages.AdminResponse response;
        try
        {
            final Map<String, String> args = request.args() == null ? Map.of() : request.args();
            final JsonNode data = switch (request.command() == null ? "" : request.command())
            {
                case "status" -> status();
                case "images.list" -> imagesList(args.get("group"));
                case "images.export" -> imagesExport(channel, require(args, "image"), require(args, "to"));
                case "checkpoint" -> checkpoint(require(args, "group"), args.getOrDefault("label", "manual"),
                    Long.parseLong(args.getOrDefault("timeoutMs", "60000")));
                case "failover" -> failover(channel, args);
                case "failback.plan" -> Json.mapper().valueToTree(failback.plan(group(require(args, "group"))));
                case "failback.execute" -> Json.mapper().valueToTree(
                    failback.execute(group(require(args, "group")), progress(channel, "failback")));
                case "verify" -> verify(args);
                default -> throw AdminException.badInput("unknown admin command '" + request.command() + "'");
            };
            response = new Messages.AdminResponse(0, "ok", data);
        }
        catch (final AdminException ex)
        {
            response = new Messages.AdminResponse(ex.exitCode(), ex.getMessage(), null);
            LOG.warn("admin {} refused: {}", request.command(), ex.getMessage());
        }
        catch (final NumberFormatException ex)
        {
            response = new Messages.AdminResponse(AdminException.BAD_INPUT, "a number argument is not a number: " +
                ex.getMessage(), null);
        }
        catch (final IOException | RuntimeException ex)
        {
            response = new Messages.AdminResponse(AdminException.FAILED, request.command() + " failed: " + ex, null);
            LOG.error("admin {} failed", request.command(), ex);
        }
        try
        {
            channel.send(MessageType.ADMIN_RESPONSE, 0, 0, response);
        }
        catch (final IOException ex)
        {
            LOG.info("admin client went away before the response: {}", ex.getMessage());
        }
    }

    private static String require(final Map<String, String> args, final String name) throws AdminException
    {
        final String value = args.get(name);
        if (value == null || value.isEmpty())
        {
            throw AdminException.badInput("missing argument '" + name + "'");
        }
        return value;
    }

    private Group group(final String name) throws AdminException
    {
        final Group group = groups.get(name);
        if (group == null)
        {
            throw AdminException.badInput("no group '" + name + "' at this target (groups: " +
                groups.all().stream().map(Group::name).toList() + ")");
        }
        return group;
    }

    // ------------------------------------------------------------------ status

    private JsonNode status()
    {
        final ObjectNode root = Json.mapper().createObjectNode();
        final ArrayNode list = root.putArray("groups");
        for (final Group group : groups.all())
        {
            group.lock().lock();
            try
            {
                groupStatus(group, list.addObject());
            }
            finally
            {
                group.lock().unlock();
            }
        }
        final TargetServer s = server;
        root.put("corruptFramesRejected", s == null ? 0 : s.corruptFrames());
        return root;
    }

    private void groupStatus(final Group group, final ObjectNode node)
    {
        final GroupState state = group.state();
        node.put("group", state.name());
        node.put("role", state.role().name());
        node.put("epoch", state.epoch());
        node.put("durableSeq", group.store().lastSeq());
        node.put("paused", group.pausedReason());
        final AgentLink primary = group.primary();
        node.put("primaryConnected", primary != null && !primary.isClosed());
        node.put("primaryAgent", primary == null ? null : primary.agentName());
        final AgentLink demoted = group.demoted();
        node.put("demotedPrimaryConnected", demoted != null && !demoted.isClosed());
        node.put("failbackReportReceived", group.failbackReport() != null);
        final List<Checkpoint> checkpoints = group.store().checkpoints();
        node.put("images", checkpoints.size());
        if (!checkpoints.isEmpty())
        {
            final Checkpoint last = checkpoints.get(checkpoints.size() - 1);
            node.put("latestImage", new ImageId(state.name(), last.seq()).toString());
            node.put("latestImageTime", Instant.ofEpochMilli(last.timestampMs()).toString());
        }
        final ArrayNode volumes = node.putArray("volumes");
        for (final Messages.VolumeInfo info : state.volumes())
        {
            volumes.addObject().put("name", info.name()).put("sizeBytes", info.sizeBytes())
                .put("blockSize", info.blockSize());
        }
        if (state.failover() != null)
        {
            final ObjectNode fo = node.putObject("failover");
            fo.put("image", new ImageId(state.name(), state.failover().imageSeq()).toString());
            fo.put("at", Instant.ofEpochMilli(state.failover().atMs()).toString());
            final ArrayNode paths = fo.putArray("recoveryPaths");
            state.failover().recoveryPaths().forEach(paths::add);
            final RecoveryTracker tracker = failover.tracker(state.name());
            if (tracker != null)
            {
                long written = 0;
                for (int v = 0; v < state.volumes().size(); v++)
                {
                    written += tracker.written(v).cardinality();
                }
                fo.put("blocksWrittenSinceFailover", written);
            }
        }
    }

    // ------------------------------------------------------------------ images

    private JsonNode imagesList(final String groupName) throws AdminException
    {
        final List<Group> selected = groupName == null ? groups.all() : List.of(group(groupName));
        final ArrayNode list = Json.mapper().createArrayNode();
        for (final Group group : selected)
        {
            final List<Checkpoint> checkpoints;
            group.lock().lock();
            try
            {
                checkpoints = group.store().checkpoints();
            }
            finally
            {
                group.lock().unlock();
            }
            for (final Checkpoint checkpoint : checkpoints)
            {
                list.addObject()
                    .put("id", new ImageId(group.name(), checkpoint.seq()).toString())
                    .put("group", group.name())
                    .put("seq", checkpoint.seq())
                    .put("time", Instant.ofEpochMilli(checkpoint.timestampMs()).toString())
                    .put("timeMs", checkpoint.timestampMs())
                    .put("label", checkpoint.label())
                    .put("blocksChanged", checkpoint.blocksChanged());
            }
        }
        return list;
    }

    private Checkpoint image(final Group group, final long seq) throws AdminException
    {
        final Optional<Checkpoint> checkpoint = group.store().checkpoint(seq);
        if (checkpoint.isEmpty())
        {
            throw AdminException.badInput("no image " + new ImageId(group.name(), seq) +
                " (it never existed or is no longer retained; see 'replicator images list --group " + group.name() + "')");
        }
        return checkpoint.get();
    }

    private JsonNode imagesExport(final FrameChannel channel, final String imageText, final String to)
        throws AdminException, IOException
    {
        final ImageId id = ImageId.parse(imageText);
        final Group group = group(id.group());
        image(group, id.seq());
        if (!group.trees().isEmpty())
        {
            return TreeExport.export(group, id, Path.of(to));
        }
        final List<Path> outputs = outputPaths(group, Path.of(to));
        final long startMs = System.currentTimeMillis();
        // No group lock: a view of a checkpoint stays exact while replication goes on.
        final ImageView view = group.store().openImage(id.seq());
        final ProgressListener progress = progress(channel, "export");
        for (int v = 0; v < outputs.size(); v++)
        {
            view.materialize(v, outputs.get(v), progress);
        }
        final ObjectNode node = Json.mapper().createObjectNode();
        node.put("image", id.toString());
        final ArrayNode paths = node.putArray("paths");
        outputs.forEach(p -> paths.add(p.toString()));
        node.put("elapsedMs", System.currentTimeMillis() - startMs);
        return node;
    }

    /**
     * A group of one volume goes to {@code to} itself; several go to {@code to/NAME.img}. Existing
     * files are never overwritten: an admin's data might be there.
     */
    private static List<Path> outputPaths(final Group group, final Path to) throws AdminException
    {
        final List<VolumeSpec> specs = group.volumeSpecs();
        final List<Path> paths = new ArrayList<>();
        if (specs.size() == 1)
        {
            paths.add(to.toAbsolutePath());
        }
        else
        {
            for (final VolumeSpec spec : specs)
            {
                paths.add(to.toAbsolutePath().resolve(spec.name() + ".img"));
            }
        }
        for (final Path path : paths)
        {
            if (Files.exists(path))
            {
                throw AdminException.badInput(path + " already exists; choose a new path (nothing was changed)");
            }
            final Path parent = path.getParent();
            if (specs.size() == 1 && (parent == null || !Files.isDirectory(parent)))
            {
                throw AdminException.badInput("directory " + parent + " does not exist (nothing was changed)");
            }
        }
        if (specs.size() > 1)
        {
            try
            {
                Files.createDirectories(to.toAbsolutePath());
            }
            catch (final IOException ex)
            {
                throw AdminException.badInput("cannot create directory " + to + ": " + ex.getMessage());
            }
        }
        return paths;
    }

    private static ProgressListener progress(final FrameChannel channel, final String phase)
    {
        final long[] lastMs = {0};
        return (done, total) ->
        {
            final long nowMs = System.currentTimeMillis();
            if (nowMs - lastMs[0] >= 200 || done == total)
            {
                lastMs[0] = nowMs;
                try
                {
                    channel.send(MessageType.ADMIN_PROGRESS, 0, 0, new Messages.AdminProgress(phase, done, total, "bytes"));
                }
                catch (final IOException ignore)
                {
                    // The client went away; the work goes on and its result is logged.
                }
            }
        };
    }

    // ------------------------------------------------------------------ checkpoint

    private JsonNode checkpoint(final String groupName, final String label, final long timeoutMs)
        throws AdminException, IOException
    {
        final Group group = group(groupName);
        final AgentLink primary = group.primary();
        if (group.state().role() != GroupRole.REPLICATING || primary == null || primary.isClosed())
        {
            throw AdminException.failed("group '" + groupName + "' has no connected primary to take a checkpoint");
        }
        final String requestId = UUID.randomUUID().toString();
        final CompletableFuture<Long> taken = new CompletableFuture<>();
        group.checkpointRequests().put(requestId, taken);
        primary.channel().send(MessageType.CHECKPOINT_REQUEST, group.state().epoch(), 0,
            new Messages.CheckpointRequest(requestId, label));
        final long seq;
        try
        {
            seq = awaitTaken(taken, primary, timeoutMs);
            if (seq < 0)
            {
                throw AdminException.failed("the primary could not take the checkpoint (see its log)");
            }
            awaitDurable(group, primary, seq, timeoutMs);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            throw AdminException.failed("interrupted");
        }
        catch (final ExecutionException ex)
        {
            throw AdminException.failed("checkpoint failed: " + ex.getCause());
        }
        finally
        {
            group.checkpointRequests().remove(requestId);
        }
        final ObjectNode node = Json.mapper().createObjectNode();
        node.put("image", new ImageId(groupName, seq).toString());
        node.put("seq", seq);
        return node;
    }

    /**
     * The primary's answer to a checkpoint request. Gives up as soon as the connection the request
     * went out on ends: nobody else will answer it (an agent that reconnects knows nothing of it).
     */
    private static long awaitTaken(final CompletableFuture<Long> taken, final AgentLink primary, final long timeoutMs)
        throws AdminException, InterruptedException, ExecutionException
    {
        final long deadlineNs = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        while (true)
        {
            try
            {
                return taken.get(CHECKPOINT_POLL_MS, TimeUnit.MILLISECONDS);
            }
            catch (final TimeoutException ex)
            {
                // The session completes the request before it marks the link closed: ask once more.
                if (primary.isClosed() && !taken.isDone())
                {
                    throw AdminException.failed("the primary disconnected before it answered the checkpoint " +
                        "request; run checkpoint again once it is back");
                }
                if (deadlineNs - System.nanoTime() <= 0)
                {
                    throw AdminException.failed("no checkpoint from the primary within " + timeoutMs + " ms");
                }
            }
        }
    }

    /** Waits until checkpoint {@code seq} is durable here; gives up when its primary disconnects first. */
    private static void awaitDurable(final Group group, final AgentLink primary, final long seq, final long timeoutMs)
        throws AdminException, InterruptedException
    {
        final long deadlineNs = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        while (!group.awaitDurable(seq, CHECKPOINT_POLL_MS))
        {
            if (primary.isClosed() && group.store().lastSeq() < seq)
            {
                throw AdminException.failed("checkpoint seq=" + seq + " was taken, but the primary disconnected " +
                    "before it was durable here; it becomes an image once the primary reconnects and ships it " +
                    "(see 'images list')");
            }
            if (deadlineNs - System.nanoTime() <= 0)
            {
                throw AdminException.failed("checkpoint seq=" + seq + " was taken but is not yet durable here");
            }
        }
    }

    // ------------------------------------------------------------------ failover

    private JsonNode failover(final FrameChannel channel, final Map<String, String> args)
        throws AdminException, IOException
    {
        final Group group = group(require(args, "group"));
        final GroupState state = group.state();
        final boolean test = Boolean.parseBoolean(args.get("test"));
        if (state.role() == GroupRole.FAILED_OVER && !test)
        {
            throw AdminException.badInput("group '" + state.name() + "' is already failed over (epoch " +
                state.epoch() + ", image " + new ImageId(state.name(), state.failover().imageSeq()) +
                "); fail back first");
        }
        final long startMs = System.currentTimeMillis();
        long imageSeq = chooseImage(group, args);
        if (!group.trees().isEmpty())
        {
            return TreeExport.failoverTest(group, imageSeq, test, Path.of(require(args, "to")));
        }
        final List<Path> paths = outputPaths(group, Path.of(require(args, "to")));
        final long epoch;
        if (test)
        {
            // A DR test: a writable copy of the image, replication and roles untouched.
            if (imageSeq == FailoverService.LATEST)
            {
                final List<Checkpoint> checkpoints = group.store().checkpoints();
                if (checkpoints.isEmpty())
                {
                    throw AdminException.badInput("group '" + state.name() + "' has no checkpoint to test yet");
                }
                imageSeq = checkpoints.get(checkpoints.size() - 1).seq();
            }
            final ImageView view = group.store().openImage(imageSeq);
            final ProgressListener progress = progress(channel, "failover-test");
            for (int v = 0; v < paths.size(); v++)
            {
                view.materialize(v, paths.get(v), progress);
            }
            epoch = state.epoch();
        }
        else
        {
            final FailoverService.Result result = failover.failover(group, imageSeq, paths,
                progress(channel, "failover"));
            imageSeq = result.imageSeq();
            epoch = result.epoch();
        }
        final ObjectNode node = Json.mapper().createObjectNode();
        node.put("group", state.name());
        node.put("image", new ImageId(state.name(), imageSeq).toString());
        node.put("epoch", epoch);
        node.put("test", test);
        final ArrayNode out = node.putArray("paths");
        paths.forEach(p -> out.add(p.toString()));
        node.put("elapsedMs", System.currentTimeMillis() - startMs);
        return node;
    }

    /** The image the admin chose: a checkpoint's seq, or {@link FailoverService#LATEST}. */
    private long chooseImage(final Group group, final Map<String, String> args) throws AdminException
    {
        final String name = group.name();
        final List<Checkpoint> checkpoints = group.store().checkpoints();
        if (args.containsKey("image"))
        {
            final ImageId id = ImageId.parse(args.get("image"));
            if (!id.group().equals(name))
            {
                throw AdminException.badInput("image " + id + " belongs to group '" + id.group() + "', not '" +
                    name + "'");
            }
            return image(group, id.seq()).seq();
        }
        if (args.containsKey("atMs"))
        {
            final long atMs = Long.parseLong(args.get("atMs"));
            if (checkpoints.isEmpty() || checkpoints.get(0).timestampMs() > atMs)
            {
                throw AdminException.badInput(Instant.ofEpochMilli(atMs) + " is before the oldest retained image of " +
                    "group '" + name + "'" + (checkpoints.isEmpty() ? " (it has none)" : " (" +
                    Instant.ofEpochMilli(checkpoints.get(0).timestampMs()) + ")") + "; nothing was changed");
            }
            long chosen = checkpoints.get(0).seq();
            for (final Checkpoint checkpoint : checkpoints)
            {
                if (checkpoint.timestampMs() <= atMs)
                {
                    chosen = checkpoint.seq();
                }
            }
            return chosen;
        }
        if (Boolean.parseBoolean(args.get("latest")))
        {
            if (checkpoints.isEmpty() && group.store().lastSeq() == 0)
            {
                throw AdminException.badInput("group '" + name + "' has no image yet");
            }
            return FailoverService.LATEST;
        }
        throw AdminException.badInput("say which image: --image ID, --at TIME or --latest");
    }

    // ------------------------------------------------------------------ verify

    /**
     * {@code image + file}: is the file byte-identical to the image (per-block fingerprints)?
     * {@code group}: is the replica identical to the connected primary's volumes right now?
     */
    private JsonNode verify(final Map<String, String> args) throws AdminException, IOException
    {
        if (args.containsKey("image"))
        {
            final ImageId id = ImageId.parse(args.get("image"));
            final Group group = group(id.group());
            image(group, id.seq());
            final List<Path> files = new ArrayList<>();
            final Path file = Path.of(require(args, "file"));
            final List<VolumeSpec> specs = group.volumeSpecs();
            if (specs.size() == 1)
            {
                files.add(file);
            }
            else
            {
                specs.forEach(s -> files.add(file.resolve(s.name() + ".img")));
            }
            final ObjectNode node = Json.mapper().createObjectNode();
            long mismatched = 0;
            final ImageView view = group.store().openImage(id.seq());
            for (int v = 0; v < specs.size(); v++)
            {
                mismatched += compareFile(view, v, specs.get(v), files.get(v));
            }
            node.put("image", id.toString());
            node.put("mismatchedBlocks", mismatched);
            node.put("identical", mismatched == 0);
            return node;
        }
        throw AdminException.badInput("verify needs --image ID --file PATH");
    }

    private static long compareFile(final ImageView view, final int v, final VolumeSpec spec, final Path file)
        throws AdminException, IOException
    {
        if (!Files.exists(file))
        {
            throw AdminException.badInput(file + " does not exist");
        }
        final long size = VolumeChannel.sizeOf(file);
        if (size != spec.sizeBytes())
        {
            throw AdminException.badInput("volume size mismatch: " + file + " has " + size + " bytes, volume '" +
                spec.name() + "' has " + spec.sizeBytes());
        }
        long mismatched = 0;
        final ByteBuffer imageBlock = ByteBuffer.allocateDirect(spec.blockSize());
        final ByteBuffer fileBlock = ByteBuffer.allocateDirect(spec.blockSize());
        try (VolumeChannel channel = VolumeChannel.openReadOnly(file, spec.blockSize()))
        {
            for (long b = 0; b < spec.blockCount(); b++)
            {
                imageBlock.clear();
                view.readBlock(v, b, imageBlock);
                fileBlock.clear();
                channel.readBlocks(b, fileBlock);
                if (Checksums.xxHash64(imageBlock, 0, spec.blockSize()) != Checksums.xxHash64(fileBlock, 0, spec.blockSize()))
                {
                    mismatched++;
                }
            }
        }
        return mismatched;
    }
}
