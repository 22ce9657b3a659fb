package dev.replicator.target.failover;

import dev.replicator.core.bitmap.BitmapFile;
import dev.replicator.core.bitmap.BlockBitmap;
import dev.replicator.core.io.AtomicFiles;
import dev.replicator.core.scan.FingerprintTable;
import dev.replicator.core.volume.VolumeSpec;
import dev.replicator.core.wire.MessageType;
import dev.replicator.core.wire.Messages;
import dev.replicator.target.group.AgentLink;
import dev.replicator.target.group.Group;
import dev.replicator.target.group.GroupRole;
import dev.replicator.target.group.GroupState;
import dev.replicator.target.group.Groups;
import dev.replicator.target.image.Checkpoint;
import dev.replicator.target.image.ImageView;
import dev.replicator.target.image.ProgressListener;
import dev.replicator.target.nbd.NbdExporter;
import dev.replicator.target.nbd.RecoveryOverlay;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/**
 * Fails a group over to one of its images: fences the old primary (new epoch, persisted before
 * anything else), produces the image as writable recovery volumes, and starts recording every
 * block written to them ({@link RecoveryTracker}). Owns the trackers of failed-over groups and
 * resumes them after a target restart.
 *
 * <p>With an NBD export ({@link #failover(Group, long, int, ProgressListener)}) nothing is copied: the
 * recovery volumes are overlays of the image served at once as writable NBD exports, and every write
 * is recorded exactly ({@link OverlayRecovery}).
 */
public final class FailoverService implements AutoCloseable
{
    private static final Logger LOG = LoggerFactory.getLogger(FailoverService.class);
    public static final String FAILOVER_DIR = "failover";
    /**
     * Present in the failover dir from before the epoch bump until the recovery volumes are complete:
     * a target that restarts and finds it finishes the interrupted failover (rolls it back, or
     * completes it) instead of tracking a partial volume.
     */
    static final String PRODUCING_MARKER = "PRODUCING";
    /** Label of the checkpoint {@code failover --latest} adds when the newest durable data has none. */
    public static final String LATEST_LABEL = "failover-latest";
    /** {@link #failover}'s image seq for the newest durable data ({@code --latest}). */
    public static final long LATEST = -1;
    /** In the failover dir of an NBD-exported failover: the port its exports are served on. */
    static final String NBD_EXPORT_FILE = "nbd.export";

    private final long scanIntervalMs;
    private final Map<String, RecoveryVolumes> trackers = new ConcurrentHashMap<>();
    /** Groups failed over with tree volumes whose recovery directories are complete (no tracker: see TreeRecovery). */
    private final Set<String> treeRecoveries = ConcurrentHashMap.newKeySet();
    private volatile NbdExporter exports;
    private volatile String exportHost = "127.0.0.1";

    public FailoverService(final long scanIntervalMs)
    {
        this.scanIntervalMs = scanIntervalMs;
    }

    /** How recovery volumes are served over NBD, on which host address. Call before {@link #resume}. */
    public void exports(final NbdExporter nbdExports, final String host)
    {
        this.exports = nbdExports;
        this.exportHost = host;
    }

    /** Resumes tracking recovery volumes of groups that were failed over when the target stopped. */
    public void resume(final Groups groups) throws IOException
    {
        for (final Group group : groups.all())
        {
            final GroupState state = group.state();
            if (state.role() == GroupRole.FAILED_OVER)
            {
                if (Files.exists(group.dir().resolve(FAILOVER_DIR).resolve(PRODUCING_MARKER)) &&
                    !finishInterrupted(group))
                {
                    continue;
                }
                if (!group.trees().isEmpty())
                {
                    treeRecoveries.add(state.name());
                    LOG.info("group={} epoch={} still failed over to seq={}: recovery trees {}", state.name(),
                        state.epoch(), state.failover().imageSeq(), state.failover().recoveryPaths());
                    continue;
                }
                final RecoveryVolumes tracker = openRecovery(group, state.failover().imageSeq(),
                    paths(state.failover().recoveryPaths()), false);
                trackers.put(state.name(), tracker);
                LOG.info("group={} epoch={} still failed over to seq={}: tracking writes on {}", state.name(),
                    state.epoch(), state.failover().imageSeq(), state.failover().recoveryPaths());
            }
        }
    }

    public RecoveryVolumes tracker(final String group)
    {
        return trackers.get(group);
    }

    /**
     * The group's recovery volumes are produced and tracked. A group whose state says FAILED_OVER
     * without this is still being failed over (its volumes are being written).
     */
    public boolean recoveryReady(final String group)
    {
        return trackers.containsKey(group) || treeRecoveries.contains(group);
    }

    /** What {@link #failover} did: the new epoch, and the image the recovery volumes hold. */
    public record Result(long epoch, long imageSeq)
    {
    }

    /**
     * Fails over. The caller validated the image and the paths and holds no lock.
     *
     * @param imageSeq a checkpoint's seq, or {@link #LATEST} for the newest durable data: the last
     *                 checkpoint if nothing is durable after it, else a checkpoint added for this
     *                 failover once the group is durably failed over.
     */
    public Result failover(final Group group, final long imageSeq, final List<Path> recoveryPaths,
        final ProgressListener progress) throws IOException
    {
        return failover(group, imageSeq, recoveryPaths, -1, progress, "admin command", true);
    }

    /**
     * As {@link #failover(Group, long, List, ProgressListener)}, recording {@code reason} in the
     * failover record, persisted with the epoch bump.
     */
    public Result failover(final Group group, final long imageSeq, final List<Path> recoveryPaths,
        final ProgressListener progress, final String reason) throws IOException
    {
        return failover(group, imageSeq, recoveryPaths, -1, progress, reason, true);
    }

    /**
     * Fails over to writable NBD exports of the image, one per volume named by the volume, served on
     * {@code exportPort} (0: any free port; see {@link #tracker}'s {@link RecoveryVolumes#export()}):
     * the exports are readable as soon as this returns, whatever the volumes' size, since nothing is
     * copied. The caller validated the image and holds no lock.
     */
    public Result failover(final Group group, final long imageSeq, final int exportPort,
        final ProgressListener progress) throws IOException
    {
        if (exports == null)
        {
            throw new IllegalStateException("this target has no NBD server to export recovery volumes with");
        }
        final List<String> names = new ArrayList<>();
        group.volumeSpecs().forEach(spec -> names.add(spec.name()));
        return failover(group, imageSeq, OverlayRecovery.overlayPaths(group.dir().resolve(FAILOVER_DIR), names),
            exportPort, progress, "admin command", false);
    }

    private Result failover(final Group group, final long imageSeq, final List<Path> recoveryPaths,
        final int exportPort, final ProgressListener progress, final String reason, final boolean treesAllowed)
        throws IOException
    {
        final boolean trees = !group.trees().isEmpty();
        if (trees && (!treesAllowed || !group.volumeSpecs().isEmpty()))
        {
            // Trees fail over to directories (failover --to DIR, or the automatic policy's), never to NBD
            // exports; a group mixing trees and block volumes has no combined failback yet.
            throw new IllegalStateException("group '" + group.name() + "' has tree volumes, which this version " +
                "fails over only to directories, and only when the group holds no block volume");
        }
        group.lock().lock();
        try
        {
            final GroupState before = group.state();
            if (before.role() != GroupRole.REPLICATING)
            {
                throw new IllegalStateException("group '" + before.name() + "' is already failed over");
            }
            final long epoch = before.epoch() + 1;
            long seq = imageSeq;
            boolean addLatest = false;
            if (seq == LATEST)
            {
                final List<Checkpoint> checkpoints = group.store().checkpoints();
                final long durable = group.store().lastSeq();
                if (!checkpoints.isEmpty() && checkpoints.get(checkpoints.size() - 1).seq() >= durable)
                {
                    seq = checkpoints.get(checkpoints.size() - 1).seq();
                }
                else if (durable == 0)
                {
                    throw new IllegalStateException("group '" + before.name() + "' has no durable data yet");
                }
                else
                {
                    seq = durable + 1;
                    addLatest = true;
                }
            }
            final Path dir = group.dir().resolve(FAILOVER_DIR);
            deleteTree(dir);
            Files.createDirectories(dir);
            // Durable before the epoch bump, removed once the recovery volumes are complete: a target
            // killed while materialising must not come back tracking a partial recovery volume as the
            // image (failback would then "repair" the primary with its missing blocks).
            final Path marker = dir.resolve(PRODUCING_MARKER);
            AtomicFiles.writeString(marker, Long.toString(seq));
            if (exportPort >= 0)
            {
                AtomicFiles.writeString(dir.resolve(NBD_EXPORT_FILE), Integer.toString(exportPort));
            }
            final List<String> pathNames = recoveryPaths.stream().map(p -> p.toAbsolutePath().toString()).toList();
            group.updateState(before.withFailover(epoch,
                new GroupState.FailoverRecord(seq, System.currentTimeMillis(), epoch, pathNames,
                    group.store().lastSeq(), reason)));
            LOG.warn("group={} epoch={} seq={} FAILOVER to image seq={}: old primary fenced; reason: {}", before.name(),
                epoch, seq, seq, reason);
            fence(group, epoch);
            try
            {
                if (addLatest)
                {
                    // Only now that the group is durably failed over: this seq is the target's, and the
                    // primary's journal may hold an entry at it too (see finishInterrupted).
                    if (trees)
                    {
                        // The trees first, as the receiver does: a checkpoint the catalog holds is one every tree can produce.
                        group.trees().checkpoint(seq);
                    }
                    group.store().addCheckpoint(seq, System.currentTimeMillis(), LATEST_LABEL);
                    group.store().commit(seq);
                }
                if (trees)
                {
                    TreeRecovery.produce(group, seq, recoveryPaths, dir);
                    Files.delete(marker);
                    AtomicFiles.fsyncDirectory(dir);
                    treeRecoveries.add(before.name());
                    LOG.warn("group={} epoch={} recovery trees ready at {}; failback diffs them against their " +
                        "manifests", before.name(), epoch, pathNames);
                    return new Result(epoch, seq);
                }
                produce(group, seq, recoveryPaths, dir, progress);
                final RecoveryVolumes tracker = openRecovery(group, seq, recoveryPaths, true);
                try
                {
                    Files.delete(marker);
                    AtomicFiles.fsyncDirectory(dir);
                }
                catch (final IOException ex)
                {
                    tracker.close();
                    throw ex;
                }
                trackers.put(before.name(), tracker);
            }
            catch (final IOException | RuntimeException ex)
            {
                final boolean staysFailedOver = isOwnCheckpoint(group, seq);
                if (!staysFailedOver || Files.exists(marker))
                {
                    for (final Path path : recoveryPaths)
                    {
                        deleteTree(path);
                    }
                }
                if (staysFailedOver)
                {
                    LOG.error("group={} epoch={} failover failed: {}; it stays failed over, as its image seq={} was " +
                        "added for it; the target produces the recovery volumes again at its next start",
                        before.name(), epoch, ex.toString());
                    throw new IOException("could not produce the recovery volumes (" + ex.getMessage() + "); the " +
                        "group stays failed over at epoch " + epoch + " to the image added for it (seq " + seq +
                        "): fix the cause and restart the target, which produces them again", ex);
                }
                group.updateState(before.withReplicating(epoch, before.journalId()));
                LOG.error("group={} epoch={} failover failed and was rolled back: {}", before.name(), epoch,
                    ex.getMessage());
                throw ex;
            }
            final String export = trackers.get(before.name()).export();
            LOG.warn("group={} epoch={} recovery volumes ready at {}; every write to them is tracked for failback",
                before.name(), epoch, export == null ? pathNames : export);
            return new Result(epoch, seq);
        }
        finally
        {
            group.lock().unlock();
        }
    }

    /**
     * Is checkpoint {@code seq} the one a {@code --latest} failover added, and the newest durable
     * data? Then it took a seq the primary's journal may hold too: a group that replicated from that
     * journal again would skip the primary's entry at that seq, so the failover must not roll back.
     */
    private static boolean isOwnCheckpoint(final Group group, final long seq)
    {
        final Optional<Checkpoint> image = group.store().checkpoint(seq);
        return image.isPresent() && LATEST_LABEL.equals(image.get().label()) && seq == group.store().lastSeq();
    }

    /**
     * The target stopped while a failover was producing its recovery volumes: they are incomplete and
     * were never handed out (failover answers only once they are complete, and it creates them new, so
     * they are its own). They are deleted, and the failover is rolled back (the group replicates again
     * at the bumped epoch, as after a failover that fails; the admin runs failover again), except when
     * its image is a checkpoint the failover added itself ({@code --latest} beyond the last checkpoint):
     * that checkpoint took a seq the primary's journal may hold too, so replicating from that journal
     * again would skip the primary's entry at that seq. Then the failover is completed instead, the
     * volumes produced again; failback later gives the primary a new journal after the target's seq.
     *
     * @return true if the group is now failed over with complete recovery volumes.
     */
    private static boolean finishInterrupted(final Group group) throws IOException
    {
        group.lock().lock();
        try
        {
            final GroupState state = group.state();
            final Path dir = group.dir().resolve(FAILOVER_DIR);
            final long imageSeq = state.failover().imageSeq();
            final List<Path> recoveryPaths = paths(state.failover().recoveryPaths());
            for (final Path path : recoveryPaths)
            {
                deleteTree(path);
            }
            if (!isOwnCheckpoint(group, imageSeq))
            {
                group.updateState(state.withReplicating(state.epoch(), state.journalId()));
                deleteTree(dir);
                LOG.warn("group={} epoch={} the failover to image seq={} was interrupted before its recovery " +
                    "volumes {} were complete: rolled back, the partial volumes deleted; the group replicates " +
                    "again (run failover again)", state.name(), state.epoch(), imageSeq, state.failover().recoveryPaths());
                return false;
            }
            LOG.warn("group={} epoch={} the failover to image seq={} was interrupted before its recovery volumes " +
                "were complete; its image is its own checkpoint, so it is completed: producing {} again", state.name(),
                state.epoch(), imageSeq, state.failover().recoveryPaths());
            try
            {
                if (group.trees().isEmpty())
                {
                    produce(group, imageSeq, recoveryPaths, dir, null);
                }
                else
                {
                    TreeRecovery.produce(group, imageSeq, recoveryPaths, dir);
                }
                Files.delete(dir.resolve(PRODUCING_MARKER));
                AtomicFiles.fsyncDirectory(dir);
            }
            catch (final IOException | RuntimeException ex)
            {
                LOG.error("group={} epoch={} could not produce the recovery volumes of the interrupted failover " +
                    "({}); failback is refused until a restart produces them", state.name(), state.epoch(),
                    ex.toString());
                return false;
            }
            LOG.warn("group={} epoch={} recovery volumes ready at {}; every write to them is tracked for failback",
                state.name(), state.epoch(), state.failover().recoveryPaths());
            return true;
        }
        finally
        {
            group.lock().unlock();
        }
    }

    private static void fence(final Group group, final long epoch)
    {
        final AgentLink primary = group.primary();
        if (primary == null)
        {
            return;
        }
        try
        {
            primary.channel().send(MessageType.REFUSED, epoch, group.store().lastSeq(), new Messages.Refused(
                Messages.RefusalCode.DEMOTED, "group '" + group.name() + "' failed over at epoch " + epoch,
                epoch, group.store().lastSeq()));
            primary.channel().close();
        }
        catch (final IOException ignore)
        {
            // Closing it is all that matters: its frames carry the old epoch and are refused anyway.
        }
        group.primary(null);
    }

    /**
     * Opens what tracks the recovery volumes of a produced failover: NBD exports over overlays when the
     * failover dir says so (served on the port it names; at a restart, a port that cannot be bound is
     * logged and the overlays are tracked unserved, so failback still works), else a scanning tracker.
     */
    private RecoveryVolumes openRecovery(final Group group, final long imageSeq, final List<Path> recoveryPaths,
        final boolean failIfUnservable) throws IOException
    {
        final Path dir = group.dir().resolve(FAILOVER_DIR);
        final Path exportFile = dir.resolve(NBD_EXPORT_FILE);
        if (!Files.exists(exportFile))
        {
            final RecoveryTracker tracker = RecoveryTracker.open(group.name(), dir, group.volumeSpecs(), recoveryPaths);
            tracker.startPeriodicScans(scanIntervalMs);
            return tracker;
        }
        final OverlayRecovery recovery = OverlayRecovery.open(group.name(), group.store(), imageSeq, dir);
        try
        {
            if (exports == null)
            {
                throw new IOException("this target has no NBD server to export recovery volumes with");
            }
            recovery.serve(exports, exportHost, Integer.parseInt(Files.readString(exportFile).trim()));
            AtomicFiles.writeString(exportFile, Integer.toString(recovery.port()));
        }
        catch (final IOException | RuntimeException ex)
        {
            if (failIfUnservable)
            {
                recovery.close();
                throw ex;
            }
            LOG.error("group={} could not serve its recovery volumes over NBD again ({}); writes made before are " +
                "kept and failback works, but clients cannot reach the volumes until the target restarts with " +
                "the port free", group.name(), ex.toString());
        }
        return recovery;
    }

    private static void produce(final Group group, final long imageSeq, final List<Path> recoveryPaths,
        final Path dir, final ProgressListener progress) throws IOException
    {
        final List<VolumeSpec> specs = group.volumeSpecs();
        final ImageView view = group.store().openImage(imageSeq);
        if (Files.exists(dir.resolve(NBD_EXPORT_FILE)))
        {
            // Instant recovery: empty overlays of the image, nothing copied.
            for (int i = 0; i < specs.size(); i++)
            {
                RecoveryOverlay.create(view, i, dir).close();
            }
            return;
        }
        for (int i = 0; i < specs.size(); i++)
        {
            final VolumeSpec spec = specs.get(i);
            try (FingerprintTable table = FingerprintTable.openOrCreate(
                RecoveryTracker.tablePath(dir, spec.name()), spec.blockCount(), spec.blockSize()))
            {
                view.materialize(i, recoveryPaths.get(i), progress, table::set);
                table.force();
            }
            BitmapFile.write(RecoveryTracker.writtenPath(dir, spec.name()), new BlockBitmap());
        }
    }

    /** Failback finished: stop tracking and archive the failover records. Call with the group lock. */
    public void finish(final Group group, final long epoch) throws IOException
    {
        treeRecoveries.remove(group.name());
        final RecoveryVolumes tracker = trackers.remove(group.name());
        if (tracker != null)
        {
            tracker.close();
        }
        final Path dir = group.dir().resolve(FAILOVER_DIR);
        if (Files.exists(dir))
        {
            final Path archived = group.dir().resolve(FAILOVER_DIR + "-done-epoch-" + epoch);
            deleteTree(archived);
            Files.move(dir, archived);
        }
    }

    static List<Path> paths(final List<String> names)
    {
        final List<Path> paths = new ArrayList<>();
        for (final String name : names)
        {
            paths.add(Path.of(name));
        }
        return paths;
    }

    static void deleteTree(final Path dir) throws IOException
    {
        if (!Files.exists(dir))
        {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir))
        {
            for (final Path path : walk.sorted(Comparator.reverseOrder()).toList())
            {
                Files.delete(path);
            }
        }
    }

    @Override
    public void close()
    {
        for (final RecoveryVolumes tracker : trackers.values())
        {
            tracker.close();
        }
        trackers.clear();
    }
}
