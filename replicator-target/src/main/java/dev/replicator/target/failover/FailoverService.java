package dev.replicator.target.failover;

import dev.replicator.core.bitmap.BitmapFile;
import dev.replicator.core.bitmap.BlockBitmap;
import dev.replicator.core.scan.FingerprintTable;
import dev.replicator.core.volume.VolumeSpec;
import dev.replicator.core.wire.MessageType;
import dev.replicator.core.wire.Messages;
import dev.replicator.target.group.AgentLink;
import dev.replicator.target.group.Group;
import dev.replicator.target.group.GroupRole;
import dev.replicator.target.group.GroupState;
import dev.replicator.target.group.Groups;
import dev.replicator.target.image.ImageView;
import dev.replicator.target.image.ProgressListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/**
 * Fails a group over to one of its images: fences the old primary (new epoch, persisted before
 * anything else), produces the image as writable recovery volumes, and starts recording every
 * block written to them ({@link RecoveryTracker}). Owns the trackers of failed-over groups and
 * resumes them after a target restart.
 */
public final class FailoverService implements AutoCloseable
{
    private static final Logger LOG = LoggerFactory.getLogger(FailoverService.class);
    public static final String FAILOVER_DIR = "failover";
    /** As an image seq: the newest durable data, made a checkpoint once the primary is fenced. */
    public static final long LATEST = -1;

    /** The failover done: the image it produced and the group's new epoch. */
    public record Result(long imageSeq, long epoch)
    {
    }

    private final long scanIntervalMs;
    private final Map<String, RecoveryTracker> trackers = new ConcurrentHashMap<>();

    public FailoverService(final long scanIntervalMs)
    {
        this.scanIntervalMs = scanIntervalMs;
    }

    /** Resumes tracking recovery volumes of groups that were failed over when the target stopped. */
    public void resume(final Groups groups) throws IOException
    {
        for (final Group group : groups.all())
        {
            final GroupState state = group.state();
            if (state.role() == GroupRole.FAILED_OVER)
            {
                final RecoveryTracker tracker = RecoveryTracker.open(state.name(), group.dir().resolve(FAILOVER_DIR),
                    group.volumeSpecs(), paths(state.failover().recoveryPaths()));
                tracker.startPeriodicScans(scanIntervalMs);
                trackers.put(state.name(), tracker);
                LOG.info("group={} epoch={} still failed over to seq={}: tracking writes on {}", state.name(),
                    state.epoch(), state.failover().imageSeq(), state.failover().recoveryPaths());
            }
        }
    }

    public RecoveryTracker tracker(final String group)
    {
        return trackers.get(group);
    }

    /**
     * Fails over. The caller validated the image and the paths and holds no lock.
     *
     * @param imageSeq a retained checkpoint's seq, or {@link #LATEST}.
     */
    public Result failover(final Group group, final long imageSeq, final List<Path> recoveryPaths,
        final ProgressListener progress) throws IOException
    {
        group.lock().lock();
        try
        {
            final GroupState before = group.state();
            if (before.role() != GroupRole.REPLICATING)
            {
                throw new IllegalStateException("group '" + before.name() + "' is already failed over");
            }
            final long epoch = before.epoch() + 1;
            final Path dir = group.dir().resolve(FAILOVER_DIR);
            deleteTree(dir);
            Files.createDirectories(dir);
            final List<String> pathNames = recoveryPaths.stream().map(p -> p.toAbsolutePath().toString()).toList();
            group.updateState(before.withFailover(epoch,
                new GroupState.FailoverRecord(imageSeq, System.currentTimeMillis(), epoch, pathNames)));
            fence(group, epoch);
            // Only now, with no primary left to ship, may the newest data become a checkpoint: its
            // seq must never be one the primary could still send.
            final long image = imageSeq == LATEST ? latestCheckpoint(group) : imageSeq;
            if (image != imageSeq)
            {
                group.updateState(before.withFailover(epoch,
                    new GroupState.FailoverRecord(image, System.currentTimeMillis(), epoch, pathNames)));
            }
            LOG.warn("group={} epoch={} FAILOVER to image seq={}: old primary fenced", before.name(), epoch, image);
            try
            {
                produce(group, image, recoveryPaths, dir, progress);
                final RecoveryTracker tracker = RecoveryTracker.open(before.name(), dir, group.volumeSpecs(),
                    recoveryPaths);
                tracker.startPeriodicScans(scanIntervalMs);
                trackers.put(before.name(), tracker);
            }
            catch (final IOException | RuntimeException ex)
            {
                for (final Path path : recoveryPaths)
                {
                    Files.deleteIfExists(path);
                }
                group.updateState(before.withReplicating(epoch, before.journalId()));
                LOG.error("group={} epoch={} failover failed and was rolled back: {}", before.name(), epoch,
                    ex.getMessage());
                throw ex;
            }
            LOG.warn("group={} epoch={} recovery volumes ready at {}; every write to them is tracked for failback",
                before.name(), epoch, pathNames);
            return new Result(image, epoch);
        }
        finally
        {
            group.lock().unlock();
        }
    }

    /** The newest durable state as a checkpoint: the last one, or a new one after the durable seq. */
    private static long latestCheckpoint(final Group group) throws IOException
    {
        final List<dev.replicator.target.image.Checkpoint> checkpoints = group.store().checkpoints();
        final long durable = group.store().lastSeq();
        if (!checkpoints.isEmpty() && checkpoints.get(checkpoints.size() - 1).seq() >= durable)
        {
            return checkpoints.get(checkpoints.size() - 1).seq();
        }
        final long seq = durable + 1;
        group.store().addCheckpoint(seq, System.currentTimeMillis(), "failover-latest");
        group.store().commit(seq);
        return seq;
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

    private static void produce(final Group group, final long imageSeq, final List<Path> recoveryPaths,
        final Path dir, final ProgressListener progress) throws IOException
    {
        final List<VolumeSpec> specs = group.volumeSpecs();
        final ImageView view = group.store().openImage(imageSeq);
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
        final RecoveryTracker tracker = trackers.remove(group.name());
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
        for (final RecoveryTracker tracker : trackers.values())
        {
            tracker.close();
        }
        trackers.clear();
    }
}
