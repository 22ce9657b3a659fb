package dev.replicator.agent.ship;

import dev.replicator.core.journal.Journal;
import dev.replicator.core.wire.FrameChannel;
import dev.replicator.core.wire.Messages;

import java.io.IOException;
import java.util.List;

/** What the shipper needs from the agent that owns it. Called from the shipper's threads. */
public interface ShipperHost
{
    /** The journal to ship (replaced after a failback switches roles). */
    Journal journal();

    int[] blockSizes();

    List<Messages.VolumeInfo> volumeInfos();

    /** Names of the group's tree volumes, in index order. */
    default List<String> treeVolumes()
    {
        return List.of();
    }

    /** Epoch the agent last saw; 0 before its first connection. */
    long epoch();

    /** The target accepted us as primary at this epoch (persist it before shipping). */
    void onWelcome(long epoch) throws IOException;

    void onConnectionChange(boolean connected, String lastError);

    /** The health figures sent to the target every heartbeat interval (RPO lag, journal use, backlog). */
    Messages.AgentStats stats();

    /** Every entry up to seq is durable at the target. */
    void onAcked(long seq);

    /** The target asks for a checkpoint; returns its seq. */
    long checkpointOnRequest(String label) throws IOException;

    /** Fingerprints of a block range, for verification. */
    long[] fingerprints(int volumeIndex, long firstBlock, int count) throws IOException;

    /**
     * The group failed over and this agent is demoted: serve failback on this connection until the
     * roles switch back (returns normally) or the connection fails (throws).
     */
    void serveDemoted(FrameChannel channel, Messages.Refused refused) throws IOException;

    /** Blocks to stream from the volumes outside the journal (the bulk sync), or null if there are none. */
    default SyncSource syncSource()
    {
        return null;
    }

    /** The target refused us for a reason retrying cannot fix. */
    void onFatalRefusal(Messages.Refused refused);
}
