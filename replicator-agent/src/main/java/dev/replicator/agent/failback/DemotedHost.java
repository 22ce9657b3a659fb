package dev.replicator.agent.failback;

import dev.replicator.agent.capture.CaptureVolume;
import dev.replicator.core.journal.Journal;

import java.io.IOException;
import java.util.List;

/** What a demoted primary needs from its agent. */
public interface DemotedHost
{
    Journal journal();

    List<CaptureVolume> volumes();

    /** Blocks changed while the journal was full (dirty-bitmap mode): unshipped, like the journal tail. */
    dev.replicator.core.bitmap.BlockBitmap unjournaledChanges(int volumeIndex);

    /**
     * Failback finished: start a new journal after {@code baseSeq}, persist {@code epoch}, resume
     * capture as primary.
     *
     * @return the new journal's id.
     */
    String switchToPrimary(long epoch, long baseSeq) throws IOException;

    /** The group's tree volumes (failback writes them and reports their manifests); null if none. */
    default dev.replicator.agent.tree.TreeCapture treeCapture()
    {
        return null;
    }
}
