package dev.replicator.target.image;

import java.io.IOException;

/**
 * Fault injection, switched on by crash tests: called by the writer at each {@link WriteStage}. Throwing
 * stops the write there and fails the store, as a crash would; the files stay as they were at that
 * point. Production stores use {@link #NONE}.
 */
@FunctionalInterface
interface WriteStageHook
{
    WriteStageHook NONE = stage -> { };

    void reached(WriteStage stage) throws IOException;
}
