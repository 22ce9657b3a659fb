package dev.replicator.agent.tree;

import dev.replicator.core.journal.Journal;
import dev.replicator.core.journal.JournalEntryHandler;
import dev.replicator.core.journal.JournalReader;
import dev.replicator.core.tree.FileStat;
import dev.replicator.core.tree.TreeIndex;
import dev.replicator.core.tree.TreeManifest;
import dev.replicator.core.tree.TreeRecordDescriptor;
import dev.replicator.core.tree.TreeScanner;
import dev.replicator.core.tree.TreeVolumeSpec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.function.Supplier;

/**
 * Captures the group's tree volumes: each scan diffs every tree against its persisted
 * {@link TreeIndex} and journals the ops (namespace changes and changed blocks) as TREE entries, in
 * order, in the group's journal. The index is saved only after the journal is synced, so a crash
 * re-journals, never forgets. A {@link TreeWatcher} makes scans run as soon as something changes;
 * the scan itself needs no events, so changes made while the agent was down are found too.
 *
 * <p>Thread-safe: scans are serialised on this object.
 */
public final class TreeCapture implements AutoCloseable
{
    private static final Logger LOG = LoggerFactory.getLogger(TreeCapture.class);

    private final List<TreeVolumeSpec> trees;
    private final Path indexDir;
    private final Supplier<Journal> journal;
    private final List<TreeIndex> indexes = new ArrayList<>();
    private final TreeScanner scanner = new TreeScanner(TreeScanner.DEFAULT_MAX_WRITE_BYTES);
    private final TreeWatcher watcher;
    private long lastScanOps;
    private long lastScanDataBytes;
    private long scans;

    public TreeCapture(final List<TreeVolumeSpec> trees, final Path stateDir, final Supplier<Journal> journal,
        final Runnable onChange) throws IOException
    {
        this.trees = List.copyOf(trees);
        this.indexDir = stateDir.resolve("trees");
        this.journal = journal;
        Files.createDirectories(indexDir);
        for (final TreeVolumeSpec tree : trees)
        {
            final Path file = indexFile(tree);
            TreeIndex index;
            try
            {
                index = TreeIndex.load(file, tree.blockSize());
            }
            catch (final IOException ex)
            {
                LOG.warn("tree volume {}: {}; its files are sent again in full", tree.name(), ex.getMessage());
                index = new TreeIndex(tree.blockSize());
            }
            indexes.add(index);
        }
        replayUnsavedScan();
        this.watcher = trees.isEmpty() ? null : TreeWatcher.start(this.trees, onChange);
    }

    public List<String> names()
    {
        final List<String> names = new ArrayList<>();
        trees.forEach(t -> names.add(t.name()));
        return names;
    }

    public boolean isEmpty()
    {
        return trees.isEmpty();
    }

    /**
     * Scans every tree, journals what changed, makes the journal durable, then saves the indexes.
     *
     * @return the number of ops journaled.
     */
    public synchronized long scan() throws IOException
    {
        if (watcher != null)
        {
            watcher.drain();
        }
        long ops = 0;
        long bytes = 0;
        final Journal j = journal.get();
        for (int i = 0; i < trees.size(); i++)
        {
            final int treeIndex = i;
            final TreeVolumeSpec tree = trees.get(i);
            scanner.scan(tree.root(), indexes.get(i), op ->
            {
                final ByteBuffer encoded = TreeRecordDescriptor.encode(op);
                j.appendTree(treeIndex, encoded, 0, encoded.remaining());
            });
            ops += scanner.opCount();
            bytes += scanner.dataBytes();
        }
        if (ops > 0)
        {
            j.sync();
            for (int i = 0; i < trees.size(); i++)
            {
                indexes.get(i).coveredSeq(j.lastSeq());
                indexes.get(i).save(indexFile(trees.get(i)));
            }
        }
        if (ops > 0)
        {
            LOG.info("tree volumes: scan journaled {} op(s), {} data bytes", ops, bytes);
        }
        scans++;
        lastScanOps = ops;
        lastScanDataBytes = bytes;
        return ops;
    }

    /** The root of tree {@code treeIndex}. */
    public Path root(final int treeIndex)
    {
        return trees.get(treeIndex).root();
    }

    public int size()
    {
        return trees.size();
    }

    /**
     * A fresh manifest of tree {@code treeIndex} as it is now (for failback), in the index file
     * format: the index brought up to the tree (files whose size or mtime changed are read, and the
     * {@code reread} paths whatever their attributes), without changing or saving the index.
     */
    public synchronized byte[] manifest(final int treeIndex, final Collection<String> reread) throws IOException
    {
        return TreeManifest.refresh(trees.get(treeIndex).root(), indexes.get(treeIndex), reread).toBytes();
    }

    /**
     * Failback made the trees what the target holds at {@code baseSeq}: each index becomes a fresh
     * manifest of its tree ({@code reread}: per tree, paths to read again), covering {@code baseSeq}, and is saved,
     * so capture resumes from that common state without resending.
     */
    public synchronized void rebase(final long baseSeq, final List<? extends Collection<String>> reread) throws IOException
    {
        if (watcher != null)
        {
            watcher.drain();
        }
        for (int i = 0; i < trees.size(); i++)
        {
            final TreeIndex fresh = TreeManifest.refresh(trees.get(i).root(), indexes.get(i), reread.get(i));
            fresh.coveredSeq(baseSeq);
            fresh.save(indexFile(trees.get(i)));
            indexes.set(i, fresh);
        }
        LOG.info("tree volumes: indexes rebased on the failback state at seq {}", baseSeq);
    }

    public synchronized long lastScanOps()
    {
        return lastScanOps;
    }

    public synchronized long lastScanDataBytes()
    {
        return lastScanDataBytes;
    }

    public synchronized long scans()
    {
        return scans;
    }

    /** Whether the watcher saw a change since the last scan (or lost events and a scan is due). */
    public boolean changedSinceScan()
    {
        return watcher != null && watcher.pending();
    }

    @Override
    public void close()
    {
        if (watcher != null)
        {
            watcher.close();
        }
    }

    /**
     * A crash between journaling a scan's ops and saving the indexes leaves ops in the journal that
     * the indexes do not show; the next scan would diff from the old indexes and journal ops the
     * target cannot apply after those. So the indexes first take in the journal's tree ops after
     * the seq they cover.
     */
    private void replayUnsavedScan()
    {
        final Journal j = journal.get();
        long from = Long.MAX_VALUE;
        for (final TreeIndex index : indexes)
        {
            from = Math.min(from, index.coveredSeq());
        }
        if (indexes.isEmpty() || from >= j.lastSeq())
        {
            return;
        }
        if (from < j.firstRetainedSeq() - 1)
        {
            LOG.warn("tree volumes: the journal no longer holds the ops after seq {}; their files are sent again in full", from);
            for (int i = 0; i < indexes.size(); i++)
            {
                indexes.set(i, new TreeIndex(trees.get(i).blockSize()));
            }
            return;
        }
        final long[] replayed = {0};
        try (JournalReader reader = j.reader(from))
        {
            final JournalEntryHandler handler = new JournalEntryHandler()
            {
                @Override
                public void onWrite(final long seq, final long timestampMs, final int volumeIndex, final long firstBlock,
                    final ByteBuffer payload)
                {
                }

                @Override
                public void onCheckpoint(final long seq, final long timestampMs, final String label)
                {
                }

                @Override
                public void onTree(final long seq, final long timestampMs, final int treeIndex, final ByteBuffer payload)
                {
                    final TreeIndex index = treeIndex < indexes.size() ? indexes.get(treeIndex) : null;
                    if (index != null && seq > index.coveredSeq())
                    {
                        final Path root = trees.get(treeIndex).root();
                        index.replay(TreeRecordDescriptor.decode(payload), path -> inodeOf(root, path));
                        replayed[0]++;
                    }
                }
            };
            while (reader.poll(handler, 1024) > 0)
            {
                // to the end of the journal
            }
        }
        LOG.info("tree volumes: took in {} journaled op(s) of a scan the agent stopped in", replayed[0]);
    }

    private static long inodeOf(final Path root, final String path)
    {
        try
        {
            final FileStat stat = FileStat.read(root.resolve(path));
            return stat == null ? -1 : stat.inode();
        }
        catch (final IOException ex)
        {
            return -1;
        }
    }

    private Path indexFile(final TreeVolumeSpec tree)
    {
        return indexDir.resolve(tree.name() + ".index");
    }
}
