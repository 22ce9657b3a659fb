package dev.replicator.agent.failback;

import dev.replicator.agent.tree.TreeCapture;
import dev.replicator.core.tree.TreeApplier;
import dev.replicator.core.tree.TreeOp;
import dev.replicator.core.tree.TreeRecordDescriptor;
import dev.replicator.core.wire.DecodedBatch;
import dev.replicator.core.wire.FrameChannel;
import dev.replicator.core.wire.FrameDescriptor;
import dev.replicator.core.wire.MessageType;
import dev.replicator.core.wire.ProtocolException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The demoted primary's tree side of failback: applies the tree ops of FAILBACK_DATA frames to the
 * trees (durable before the frame is acknowledged), answers manifest requests with a fresh
 * {@code TreeIndex} of a tree, and at the role switch rebases capture on the failback state. Remembers
 * every file it wrote, since a written file gets its old mtime back and a size-and-mtime check
 * would take it for unchanged. Single-threaded: the demoted connection's reader.
 */
final class TreeFailbackWriter implements AutoCloseable
{
    /** Manifest bytes per TREE_MANIFEST frame. */
    private static final int CHUNK_BYTES = 4 << 20;

    private final TreeCapture capture;
    private final TreeApplier[] appliers;
    private final List<Set<String>> written = new ArrayList<>();
    private final ByteBuffer frame = ByteBuffer.allocate(FrameDescriptor.HEADER_LENGTH + CHUNK_BYTES)
        .order(ByteOrder.LITTLE_ENDIAN);
    private long opsApplied;

    TreeFailbackWriter(final TreeCapture capture)
    {
        this.capture = capture;
        this.appliers = new TreeApplier[capture.size()];
        for (int i = 0; i < capture.size(); i++)
        {
            written.add(new HashSet<>());
        }
    }

    /** Applies the batch's tree ops in order and makes them durable. */
    void apply(final DecodedBatch batch) throws IOException
    {
        boolean any = false;
        for (int i = 0; i < batch.size(); i++)
        {
            if (!batch.isTree(i))
            {
                continue;
            }
            final int tree = batch.volumeIndex(i);
            if (tree >= appliers.length)
            {
                throw new ProtocolException("failback data names tree " + tree + " of " + appliers.length);
            }
            final TreeOp op;
            try
            {
                op = TreeRecordDescriptor.decode(batch.block(i));
            }
            catch (final IllegalArgumentException ex)
            {
                throw new ProtocolException("failback tree op seq " + batch.seq(i) + ": " + ex.getMessage());
            }
            if (appliers[tree] == null)
            {
                appliers[tree] = new TreeApplier(capture.root(tree));
            }
            appliers[tree].apply(op);
            if (op.kind() == TreeOp.Kind.WRITE || op.kind() == TreeOp.Kind.TRUNCATE || op.kind() == TreeOp.Kind.CREATE)
            {
                written.get(tree).add(op.path());
            }
            opsApplied++;
            any = true;
        }
        if (any)
        {
            for (final TreeApplier applier : appliers)
            {
                if (applier != null)
                {
                    applier.sync();
                }
            }
        }
    }

    /** Sends a fresh manifest of tree {@code tree} in TREE_MANIFEST chunks. */
    void sendManifest(final FrameChannel channel, final long epoch, final long tree) throws IOException
    {
        if (tree < 0 || tree >= appliers.length)
        {
            throw new ProtocolException("a manifest was requested for tree " + tree + " of " + appliers.length);
        }
        final int t = (int)tree;
        final byte[] bytes = capture.manifest(t, written.get(t));
        int sent = 0;
        do
        {
            final int n = Math.min(CHUNK_BYTES, bytes.length - sent);
            frame.clear();
            frame.put(FrameDescriptor.HEADER_LENGTH, bytes, sent, n);
            sent += n;
            channel.sendBinary(frame, FrameDescriptor.HEADER_LENGTH + n, MessageType.TREE_MANIFEST, epoch,
                bytes.length - sent, t);
        }
        while (sent < bytes.length);
    }

    /** Failback is verified: capture resumes from the trees as they are, at {@code baseSeq}. */
    void rebase(final long baseSeq) throws IOException
    {
        capture.rebase(baseSeq, written);
    }

    long opsApplied()
    {
        return opsApplied;
    }

    @Override
    public void close() throws IOException
    {
        for (int i = 0; i < appliers.length; i++)
        {
            if (appliers[i] != null)
            {
                appliers[i].close();
                appliers[i] = null;
            }
        }
    }
}
