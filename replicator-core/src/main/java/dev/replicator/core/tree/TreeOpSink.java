package dev.replicator.core.tree;

import java.io.IOException;

/** Receives a scan's ops in the order they must be applied. */
@FunctionalInterface
public interface TreeOpSink
{
    void onOp(TreeOp op) throws IOException;
}
