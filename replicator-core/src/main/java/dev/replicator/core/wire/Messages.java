package dev.replicator.core.wire;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.List;
import java.util.Map;

/**
 * Bodies of the JSON-bodied frames ({@link MessageType}). Control traffic only: block data travels
 * in binary records ({@link BlockRecordDescriptor}).
 */
public final class Messages
{
    /** Protocol revision carried in {@link Hello}; a target refuses revisions it does not speak. */
    public static final int PROTOCOL_VERSION = 1;

    private Messages()
    {
    }

    /** A volume as one side declares it; both sides must agree on every field. */
    public record VolumeInfo(String name, long sizeBytes, int blockSize)
    {
        /**
         * @param side what {@code actual} belongs to, for the message ("agent", "primary").
         * @return null if the lists agree, else one sentence saying where they differ.
         */
        public static String mismatch(final List<VolumeInfo> group, final List<VolumeInfo> actual, final String side)
        {
            if (actual == null || group.size() != actual.size())
            {
                return "the " + side + " has " + (actual == null ? 0 : actual.size()) + " volume(s), the group has " +
                    group.size();
            }
            for (int i = 0; i < group.size(); i++)
            {
                final VolumeInfo g = group.get(i);
                final VolumeInfo a = actual.get(i);
                if (!g.name().equals(a.name()))
                {
                    return "volume " + i + " is '" + a.name() + "' on the " + side + " but '" + g.name() +
                        "' in the group";
                }
                if (g.sizeBytes() != a.sizeBytes() || g.blockSize() != a.blockSize())
                {
                    return "volume size mismatch: '" + g.name() + "' is " + a.sizeBytes() + " bytes in blocks of " +
                        a.blockSize() + " on the " + side + " but " + g.sizeBytes() + " bytes in blocks of " +
                        g.blockSize() + " in the group";
                }
            }
            return null;
        }
    }

    /**
     * First frame of an agent connection.
     *
     * @param journalId        id of the agent's journal, fixed at its creation (null: the agent has none).
     * @param epoch            the epoch the agent last saw (0: never connected).
     * @param lastJournaledSeq newest seq in the agent's journal.
     * @param treeVolumes      names of the group's tree volumes, in index order (null or empty: none).
     */
    public record Hello(
        int protocolVersion,
        String group,
        String agentName,
        String journalId,
        long epoch,
        long lastJournaledSeq,
        List<VolumeInfo> volumes,
        List<String> treeVolumes)
    {
        /** A hello of a group without tree volumes. */
        public Hello(
            final int protocolVersion, final String group, final String agentName, final String journalId, final long epoch,
            final long lastJournaledSeq, final List<VolumeInfo> volumes)
        {
            this(protocolVersion, group, agentName, journalId, epoch, lastJournaledSeq, volumes, null);
        }

        /** Tree volume names, never null. */
        public List<String> treeVolumeNames()
        {
            return treeVolumes == null ? List.of() : treeVolumes;
        }
    }

    /** The agent may ship: the target holds every entry up to {@code durableSeq}. */
    public record Welcome(String group, long epoch, long durableSeq)
    {
    }

    /** Why a connection or request was refused. {@code code} is one of the constants of {@link RefusalCode}. */
    public record Refused(String code, String message, long epoch, long durableSeq)
    {
    }

    /** Machine-readable refusal reasons. */
    public static final class RefusalCode
    {
        /** The group failed over: this agent is no longer the primary and must not ship. */
        public static final String DEMOTED = "DEMOTED";
        /** Volume names, sizes or block sizes differ from the group's. */
        public static final String VOLUME_MISMATCH = "VOLUME_MISMATCH";
        /** The agent's journal is not the one the group replicates from. */
        public static final String JOURNAL_MISMATCH = "JOURNAL_MISMATCH";
        /** Another agent connection for the group is active. */
        public static final String BUSY = "BUSY";
        /** The target cannot store data now (disk full, I/O error): retry later, keep the journal. */
        public static final String PAUSED = "PAUSED";
        /** The agent's certificate does not allow this group or this agent name (mutual TLS). */
        public static final String UNAUTHORIZED = "UNAUTHORIZED";
        /** The request is malformed or unsupported. */
        public static final String BAD_REQUEST = "BAD_REQUEST";

        private RefusalCode()
        {
        }
    }

    /**
     * A primary's health, sent every heartbeat interval while it ships: what only the agent knows.
     * Ages, not timestamps, so that clocks of the two hosts need not agree.
     *
     * @param oldestUnackedAgeMs age of the oldest write the target has not acknowledged as durable
     *                           (journaled or only marked in bitmap mode); 0 when everything is durable.
     * @param unshippedBytes     journaled bytes not yet acknowledged.
     * @param maxUnshippedBytes  the journal limit beyond which the agent falls back to a dirty bitmap.
     * @param dirtyBytes         bytes of blocks marked in bitmap mode, to resync.
     * @param captureMode        JOURNAL, or BITMAP while the journal is full.
     */
    public record AgentStats(
        long lastJournaledSeq,
        long ackedSeq,
        long oldestUnackedAgeMs,
        long unshippedBytes,
        long maxUnshippedBytes,
        long journalFileBytes,
        String captureMode,
        long dirtyBlocks,
        long dirtyBytes,
        long lastCheckpointSeq)
    {
    }

    public record CheckpointRequest(String requestId, String label)
    {
    }

    public record CheckpointTaken(String requestId, long seq)
    {
    }

    /**
     * What a demoted primary holds that the target never acknowledged.
     *
     * @param hasJournal   false for a primary that lost its journal (or a new disk): failback must
     *                     then compare fingerprints of every block.
     * @param tailBitmaps  per volume (config order), the serialized {@code BlockBitmap} of blocks
     *                     journaled after the target's durable seq.
     * @param tailEntries  number of journal entries in that tail.
     */
    public record FailbackReport(
        boolean hasJournal,
        long journalLastSeq,
        long targetDurableSeq,
        long tailEntries,
        List<byte[]> tailBitmaps,
        List<VolumeInfo> volumes)
    {
    }

    /**
     * Fingerprints of a range of the primary's volume: read fresh from the volume, or, with
     * {@code stored}, from its fingerprint table (what the startup scan and failback writes recorded;
     * no volume read). An older peer that omits {@code stored} asks for fresh ones.
     */
    public record FingerprintRequest(int volumeIndex, long firstBlock, int count, boolean stored)
    {
        public FingerprintRequest(final int volumeIndex, final long firstBlock, final int count)
        {
            this(volumeIndex, firstBlock, count, false);
        }
    }

    /** Failback is complete: the agent is primary again at {@code epoch}; its new journal starts after baseSeq. */
    public record RoleSwitch(long epoch, long baseSeq)
    {
    }

    /** The primary persisted the switch: its new journal's id, which the group now replicates from. */
    public record RoleSwitchAck(long epoch, long baseSeq, String journalId)
    {
    }

    public record AdminRequest(String command, Map<String, String> args)
    {
    }

    public record AdminProgress(String phase, long done, long total, String unit)
    {
    }

    /** {@code exitCode}: 0 ok, 1 runtime failure, 2 bad input (picocli convention). */
    public record AdminResponse(int exitCode, String message, JsonNode data)
    {
    }
}
