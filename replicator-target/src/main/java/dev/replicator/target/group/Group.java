package dev.replicator.target.group;

import dev.replicator.core.volume.VolumeSpec;
import dev.replicator.core.wire.Messages;
import dev.replicator.target.image.ImageStore;
import dev.replicator.target.tree.TreeVolumes;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A group at the target: its durable state, its image store, and who is connected for it.
 *
 * <p>Threading: {@link #lock()} serialises everything that reads or changes the store and the
 * state (the receiving session per frame, admin commands for their duration). Session fields are
 * volatile: set by connection threads, read by admin commands.
 */
public final class Group
{
    private final Path dir;
    private volatile ImageStore store;
    private volatile String pausedReason;
    private final ReentrantLock lock = new ReentrantLock();
    private final Object durableMonitor = new Object();
    private final Map<String, CompletableFuture<Long>> checkpointRequests = new ConcurrentHashMap<>();
    private volatile GroupState state;
    private volatile AgentLink primary;
    private volatile AgentLink demoted;
    private volatile Messages.FailbackReport failbackReport;
    private volatile String demotedJournalId;
    private final GroupActivity activity;
    /**
     * {@link System#nanoTime()} of the last frame from the primary, or of this object's creation (a group
     * created by its primary's hello has just heard from it).
     */
    private volatile long primaryHeardNs = System.nanoTime();
    /** The newest seq the primary's journal held at its last heartbeat. */
    private volatile long primaryNewestSeq;
    /** When the current demoted primary connected ({@link System#nanoTime()}); 0 if none is. */
    private volatile long demotedSinceNs;
    private TreeVolumes trees;

    public Group(final Path dir, final GroupState state, final ImageStore store)
    {
        this.dir = dir;
        this.state = state;
        this.store = store;
        this.activity = new GroupActivity(state.volumes().size());
    }

    /** Traffic seen since the target started: last heard, the agent's health report, throughput. */
    public GroupActivity activity()
    {
        return activity;
    }

    public static List<VolumeSpec> specsOf(final List<Messages.VolumeInfo> volumes)
    {
        final List<VolumeSpec> specs = new ArrayList<>();
        for (final Messages.VolumeInfo info : volumes)
        {
            specs.add(new VolumeSpec(info.name(), Path.of(info.name()), info.sizeBytes(), info.blockSize()));
        }
        return specs;
    }

    public String name()
    {
        return state.name();
    }

    public Path dir()
    {
        return dir;
    }

    public ImageStore store()
    {
        return store;
    }

    /**
     * After the store failed to write (disk full, I/O error), closes it and opens it again, which
     * recovers it as after a crash. Call with the lock held.
     *
     * @throws IOException if it cannot be reopened yet; the old one stays in place, refusing writes.
     */
    public void reopenStore() throws IOException
    {
        try
        {
            store.close();
        }
        catch (final IOException | RuntimeException ignore)
        {
            // It already failed; reopening is what matters.
        }
        store = ImageStore.open(dir, volumeSpecs());
        closeTrees(); // reopened (and recovered) on next use
    }

    /** The group's tree volumes (none for a group of block volumes only), opened on first use. */
    public synchronized TreeVolumes trees() throws IOException
    {
        if (trees == null)
        {
            trees = TreeVolumes.open(dir);
        }
        return trees;
    }

    public synchronized void closeTrees()
    {
        if (trees != null)
        {
            try
            {
                trees.close();
            }
            catch (final IOException ex)
            {
                // closing only releases file handles; what was durable stays so
            }
            trees = null;
        }
    }

    /** Why replication is paused (the target cannot write), or null. */
    public String pausedReason()
    {
        return pausedReason;
    }

    public void pausedReason(final String reason)
    {
        pausedReason = reason;
    }

    public ReentrantLock lock()
    {
        return lock;
    }

    public GroupState state()
    {
        return state;
    }

    /** Persists then publishes a new state. Call with the lock held. */
    public void updateState(final GroupState next) throws IOException
    {
        next.write(dir);
        if (next.role() != state.role())
        {
            // A new role starts the primary's silence afresh: after a failback the old heard time is
            // from before the failover, and the primary is only now reconnecting as primary.
            primaryHeardNs = System.nanoTime();
        }
        state = next;
    }

    public List<VolumeSpec> volumeSpecs()
    {
        return specsOf(state.volumes());
    }

    public AgentLink primary()
    {
        return primary;
    }

    public void primary(final AgentLink link)
    {
        primary = link;
    }

    public AgentLink demoted()
    {
        return demoted;
    }

    /** A demoted primary connected, with the journal id it said hello with. */
    public void demoted(final AgentLink link, final String journalId)
    {
        demoted = link;
        demotedJournalId = journalId;
        demotedSinceNs = link == null ? 0 : System.nanoTime();
        if (link == null)
        {
            failbackReport = null;
        }
    }

    /** The primary's connection delivered a frame now (data or heartbeat): it is alive. */
    public void primaryHeard(final long nowNs)
    {
        primaryHeardNs = nowNs;
    }

    /** {@link System#nanoTime()} of the primary's last frame, or of this object's creation if none since. */
    public long primaryHeardNs()
    {
        return primaryHeardNs;
    }

    /** The primary's heartbeat said its journal ends at {@code seq}. */
    public void primaryNewestSeq(final long seq)
    {
        primaryNewestSeq = seq;
    }

    public long primaryNewestSeq()
    {
        return primaryNewestSeq;
    }

    /** When the connected demoted primary said hello ({@link System#nanoTime()}); 0 if none is connected. */
    public long demotedSinceNs()
    {
        return demotedSinceNs;
    }

    public String demotedJournalId()
    {
        return demotedJournalId;
    }

    public Messages.FailbackReport failbackReport()
    {
        return failbackReport;
    }

    public void failbackReport(final Messages.FailbackReport report)
    {
        failbackReport = report;
    }

    public Map<String, CompletableFuture<Long>> checkpointRequests()
    {
        return checkpointRequests;
    }

    /** Called after each commit so that waiters on durability wake. */
    public void signalDurable()
    {
        synchronized (durableMonitor)
        {
            durableMonitor.notifyAll();
        }
    }

    /** Waits until the store is durable up to {@code seq}; false on timeout. */
    public boolean awaitDurable(final long seq, final long timeoutMs) throws InterruptedException
    {
        final long deadlineMs = System.currentTimeMillis() + timeoutMs;
        synchronized (durableMonitor)
        {
            while (store.lastSeq() < seq)
            {
                final long waitMs = deadlineMs - System.currentTimeMillis();
                if (waitMs <= 0)
                {
                    return false;
                }
                durableMonitor.wait(Math.min(waitMs, 100));
            }
        }
        return true;
    }
}
