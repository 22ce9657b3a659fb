package dev.replicator.target.failback;

import dev.replicator.core.tree.TreeOp;
import dev.replicator.core.tree.TreeOpSink;
import dev.replicator.core.tree.TreeScanner;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Counts a tree delta's ops as an admin reads them (files created, changed, deleted, renamed,
 * directories, symlinks, attribute-only changes, data bytes) and keeps the first few paths; passes
 * every op on to {@code next}. Not thread-safe.
 */
final class TreeDeltaCounter implements TreeOpSink
{
    static final int FIRST_PATHS = 10;

    private final TreeOpSink next;
    private final Map<String, String> movedFrom = new HashMap<>();
    private final Set<String> created = new HashSet<>();
    private final Set<String> changed = new HashSet<>();
    private final Set<String> attributes = new HashSet<>();
    private final List<String> firstPaths = new ArrayList<>();
    private long filesCreated;
    private long dirsCreated;
    private long symlinksCreated;
    private long deleted;
    private long renamed;
    private long ops;
    private long dataBytes;

    TreeDeltaCounter(final TreeOpSink next)
    {
        this.next = next;
    }

    @Override
    public void onOp(final TreeOp op) throws IOException
    {
        ops++;
        switch (op.kind())
        {
            case CREATE ->
            {
                filesCreated++;
                created.add(op.path());
                note("created " + op.path());
            }
            case MKDIR ->
            {
                dirsCreated++;
                created.add(op.path());
                note("created " + op.path() + "/");
            }
            case SYMLINK ->
            {
                symlinksCreated++;
                created.add(op.path());
                note("symlink " + op.path() + " -> " + op.other());
            }
            case DELETE ->
            {
                deleted++;
                note("deleted " + op.path());
            }
            case RENAME ->
            {
                if (op.other().startsWith(TreeScanner.MOVE_PREFIX))
                {
                    movedFrom.put(op.other(), op.path());
                }
                else
                {
                    renamed++;
                    note("renamed " + movedFrom.getOrDefault(op.path(), op.path()) + " -> " + op.other());
                }
            }
            case WRITE, TRUNCATE ->
            {
                dataBytes += op.data().length;
                if (!created.contains(op.path()) && changed.add(op.path()))
                {
                    note("changed " + op.path());
                }
            }
            case SETATTR ->
            {
                if (!created.contains(op.path()) && !changed.contains(op.path()) && attributes.add(op.path()))
                {
                    note("attributes " + op.path());
                }
            }
        }
        next.onOp(op);
    }

    private void note(final String what)
    {
        if (firstPaths.size() < FIRST_PATHS)
        {
            firstPaths.add(what);
        }
    }

    /** The counts as a plan line of one tree. */
    TreeFailbackPlan.TreePlan plan(final String tree)
    {
        attributes.removeAll(changed);
        return new TreeFailbackPlan.TreePlan(tree, filesCreated, changed.size(), deleted, renamed, dirsCreated,
            symlinksCreated, attributes.size(), ops, dataBytes, List.copyOf(firstPaths));
    }
}
