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
import dev.replicator.target.auto.AutoFailover;
import dev.replicator.target.auto.AutoFailoverPolicy;
import dev.replicator.target.auto.Transition;
import dev.replicator.target.failback.FailbackService;
import dev.replicator.target.failover.FailoverService;
import dev.replicator.target.failover.RecoveryVolumes;
import dev.replicator.target.group.AgentLink;
import dev.replicator.target.group.Group;
import dev.replicator.target.group.GroupRole;
import dev.replicator.target.group.GroupState;
import dev.replicator.target.group.Groups;
import dev.replicator.target.image.Checkpoint;
import dev.replicator.target.image.ImageView;
import dev.replicator.target.image.ProgressListener;
import dev.replicator.target.nbd.ImageExports;
import dev.replicator.target.nbd.NbdExporter;
import dev.replicator.target.receive.TargetServer;
import dev.replicator.target.status.StatusReporter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
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
    /** The port NBD clients try by default (IANA). */
    static final int NBD_DEFAULT_PORT = 10809;

    private final Groups groups;
    private final FailoverService failover;
    private final FailbackService failback;
    private final StatusReporter statusReporter;
    private final ImageExports imageExports = new ImageExports();
    private volatile NbdExporter nbd;
    private volatile String nbdHost = "127.0.0.1";

    public AdminHandler(final Groups groups, final FailoverService failover, final FailbackService failback)
    {
        this.groups = groups;
        this.failover = failover;
        this.failback = failback;
        this.statusReporter = new StatusReporter(groups, failover);
    }

    public void server(final TargetServer server)
    {
        statusReporter.server(server);
    }

    /** What {@code status} answers; the metrics endpoint exports the same. */
    public StatusReporter statusReporter()
    {
        return statusReporter;
    }

    /** For status: the automatic failover policies and their last transitions. */
    public void autoFailover(final AutoFailover autoFailover)
    {
        statusReporter.autoFailover(autoFailover);
    }

    /** How images are served over NBD ({@code images export --nbd}), on which host address. */
    public void nbd(final NbdExporter exports, final String host)
    {
        this.nbd = exports;
        this.nbdHost = host;
    }

    /** Stops every image served over NBD. */
    public void closeExports()
    {
        imageExports.close();
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
                case "images.export" -> args.containsKey("nbd") ? imagesExportNbd(require(args, "image"),
                    nbdPort(args.get("nbd"))) : imagesExport(channel, require(args, "image"), require(args, "to"));
                case "images.unexport" -> imagesUnexport(require(args, "image"));
                case "checkpoint" -> checkpoint(require(args, "group"), args.getOrDefault("label", "manual"),
                    Long.parseLong(args.getOrDefault("timeoutMs", "60000")));
                case "failover" -> failover(channel, args);
                case "failback.plan" -> Json.mapper().valueToTree(hasTrees(args) ?
                    failback.trees().plan(group(require(args, "group"))) : failback.plan(group(require(args, "group"))));
                case "failback.execute" -> Json.mapper().valueToTree(hasTrees(args) ?
                    failback.trees().execute(group(require(args, "group"))) :
                    failback.execute(group(require(args, "group")), progress(channel, "failback")));
                case "verify" -> verify(args);
                default -> throw AdminException.badInput("unknown admin command '" + request.command() + "'");
            };
            response = new Messages.AdminResponse(0, "ok", data);
        }
        catch (final AdminException ex)
        {
            response = new Messages.AdminResponse(ex.exitCode(), ex.getMessage(), null);
            LOG.warn("admin command={} group={} refused: {}", request.command(), groupArg(request), ex.getMessage());
        }
        catch (final NumberFormatException ex)
        {
            response = new Messages.AdminResponse(AdminException.BAD_INPUT, "a number argument is not a number: " +
                ex.getMessage(), null);
        }
        catch (final IOException ex)
        {
            // An I/O failure (disk full, a path that cannot be written) is the admin's to fix: one line.
            response = new Messages.AdminResponse(AdminException.FAILED, request.command() + " failed: " + ex, null);
            LOG.error("admin command={} group={} failed: {}", request.command(), groupArg(request), ex.toString());
        }
        catch (final RuntimeException ex)
        {
            response = new Messages.AdminResponse(AdminException.FAILED, request.command() + " failed: " + ex, null);
            LOG.error("admin command={} group={} failed unexpectedly", request.command(), groupArg(request), ex);
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

    private static String groupArg(final Messages.AdminRequest request)
    {
        if (request.args() == null)
        {
            return "-";
        }
        final String group = request.args().get("group");
        if (group != null)
        {
            return group;
        }
        final String image = request.args().get("image");
        return image == null || image.indexOf('@') <= 0 ? "-" : image.substring(0, image.indexOf('@'));
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
        return Json.mapper().valueToTree(statusReporter.report());
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
                    .put("blocksChanged", checkpoint.blocksChanged())
                    .put("consistency", checkpoint.consistency());
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

    private JsonNode imagesExportNbd(final String imageText, final int port) throws AdminException, IOException
    {
        final ImageId id = ImageId.parse(imageText);
        final Group group = group(id.group());
        image(group, id.seq());
        final NbdExporter exports = requireNbd();
        if (imageExports.port(id.toString()) >= 0)
        {
            throw AdminException.badInput("image " + id + " is already served over NBD on port " +
                imageExports.port(id.toString()) + " (stop it with 'images unexport --image " + id + "')");
        }
        requireFreePort(port);
        final long startMs = System.currentTimeMillis();
        final int bound = imageExports.start(id.toString(), group.store(), id.seq(), exports, nbdHost, port);
        final ObjectNode node = Json.mapper().createObjectNode();
        node.put("image", id.toString());
        node.put("export", "nbd://" + nbdHost + ":" + bound);
        node.put("port", bound);
        final ArrayNode names = node.putArray("exports");
        group.volumeSpecs().forEach(spec -> names.add(spec.name()));
        node.put("elapsedMs", System.currentTimeMillis() - startMs);
        LOG.info("image {} served read-only over NBD at nbd://{}:{}", id, nbdHost, bound);
        return node;
    }

    private JsonNode imagesUnexport(final String imageText) throws AdminException
    {
        final ImageId id = ImageId.parse(imageText);
        if (!imageExports.stop(id.toString()))
        {
            throw AdminException.badInput("image " + id + " is not served over NBD");
        }
        final ObjectNode node = Json.mapper().createObjectNode();
        node.put("image", id.toString());
        return node;
    }

    private NbdExporter requireNbd() throws AdminException
    {
        final NbdExporter exports = nbd;
        if (exports == null)
        {
            throw AdminException.failed("this target has no NBD server");
        }
        return exports;
    }

    /** {@code nbd}, {@code nbd:PORT} or a bare port; the NBD default port 10809 when none is given. */
    static int nbdPort(final String text) throws AdminException
    {
        String port = text == null ? "" : text.trim();
        if (port.startsWith("nbd"))
        {
            port = port.substring(3);
            if (port.startsWith(":"))
            {
                port = port.substring(1);
            }
            else if (!port.isEmpty())
            {
                throw AdminException.badInput("'" + text + "' is not nbd or nbd:PORT");
            }
        }
        if (port.isEmpty() || "true".equals(port))
        {
            return NBD_DEFAULT_PORT;
        }
        try
        {
            final int value = Integer.parseInt(port);
            if (value < 0 || value > 65535)
            {
                throw AdminException.badInput("NBD port " + value + " is not between 0 and 65535");
            }
            return value;
        }
        catch (final NumberFormatException ex)
        {
            throw AdminException.badInput("'" + text + "' is not nbd or nbd:PORT");
        }
    }

    /** Refuses a port already in use before anything changes (a failover would otherwise fence first). */
    private void requireFreePort(final int port) throws AdminException
    {
        if (port == 0)
        {
            return;
        }
        try (ServerSocket probe = new ServerSocket())
        {
            probe.setReuseAddress(true);
            probe.bind(new InetSocketAddress(nbdHost, port));
        }
        catch (final IOException ex)
        {
            throw AdminException.badInput("NBD port " + port + " on " + nbdHost + " is not free (" + ex.getMessage() +
                "); nothing was changed");
        }
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
        node.put("consistency", group.store().checkpoint(seq).map(Checkpoint::consistency).orElse("crash"));
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

    /** Whether the command's group has tree volumes (failback of such a group is a tree failback). */
    private boolean hasTrees(final Map<String, String> args) throws AdminException, IOException
    {
        return !group(require(args, "group")).trees().isEmpty();
    }

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
            if (args.containsKey("export"))
            {
                throw AdminException.badInput("group '" + state.name() + "' has directory-tree volumes, which " +
                    "cannot be served over NBD; use --to DIR");
            }
            return test ? TreeExport.failoverTest(group, imageSeq, Path.of(require(args, "to"))) :
                TreeExport.failover(group, failover, imageSeq, Path.of(require(args, "to")));
        }
        if (args.containsKey("export"))
        {
            return failoverToExport(group, args, imageSeq, startMs);
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

    /**
     * Instant recovery: the image served at once as writable NBD exports over an overlay, nothing
     * copied. Without {@code --to}: a copy is not needed (the exports are the recovery volumes for the
     * whole failover; {@code nbdcopy} makes one from them if wanted), so none is made.
     */
    private JsonNode failoverToExport(final Group group, final Map<String, String> args, final long imageSeq,
        final long startMs) throws AdminException, IOException
    {
        if (args.containsKey("to"))
        {
            throw AdminException.badInput("give --export or --to, not both: an NBD export needs no copy of the " +
                "volume (copy from the export with nbdcopy if one is wanted); nothing was changed");
        }
        if (Boolean.parseBoolean(args.get("test")))
        {
            throw AdminException.badInput("--test with --export: serve the image read-only for a drill with " +
                "'images export --image ID --nbd' (nothing was changed)");
        }
        final int port = nbdPort(args.get("export"));
        requireNbd();
        requireFreePort(port);
        final FailoverService.Result result = failover.failover(group, imageSeq, port, null);
        final RecoveryVolumes recovery = failover.tracker(group.name());
        final ObjectNode node = Json.mapper().createObjectNode();
        node.put("group", group.name());
        node.put("image", new ImageId(group.name(), result.imageSeq()).toString());
        node.put("epoch", result.epoch());
        node.put("test", false);
        node.put("export", recovery.export());
        final ArrayNode names = node.putArray("exports");
        group.volumeSpecs().forEach(spec -> names.add(spec.name()));
        final ArrayNode out = node.putArray("paths");
        out.add(recovery.export());
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
        if (Boolean.parseBoolean(args.get("latestConsistent")))
        {
            for (int i = checkpoints.size() - 1; i >= 0; i--)
            {
                if (checkpoints.get(i).applicationConsistent())
                {
                    return checkpoints.get(i).seq();
                }
            }
            throw AdminException.badInput("group '" + name + "' has no application-consistent image (take one with " +
                "'replicator checkpoint' on an agent with checkpoint hooks or fsfreeze); nothing was changed");
        }
        if (Boolean.parseBoolean(args.get("latest")))
        {
            if (checkpoints.isEmpty() && group.store().lastSeq() == 0)
            {
                throw AdminException.badInput("group '" + name + "' has no image yet");
            }
            return FailoverService.LATEST;
        }
        throw AdminException.badInput("say which image: --image ID, --at TIME, --latest or --latest-consistent");
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
