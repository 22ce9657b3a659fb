package dev.replicator.target.group;

import com.fasterxml.jackson.core.JsonProcessingException;
import dev.replicator.core.io.AtomicFiles;
import dev.replicator.core.wire.Json;
import dev.replicator.core.wire.Messages;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;

/**
 * A group's durable identity and role at the target, in {@code groups/NAME/group.json}, replaced
 * atomically. Every change of epoch is written here before anyone is told of it.
 *
 * @param journalId the primary journal the group replicates from.
 * @param failover  set while {@link GroupRole#FAILED_OVER}.
 */
public record GroupState(
    String name,
    List<Messages.VolumeInfo> volumes,
    long epoch,
    String journalId,
    GroupRole role,
    FailoverRecord failover)
{
    public static final String FILE_NAME = "group.json";

    /**
     * The failover in force.
     *
     * @param imageSeq          the checkpoint the recovery volumes were produced from.
     * @param primaryDurableSeq the durable seq when the primary was fenced.
     * @param recoveryPaths  per volume, where the recovery volume is (on the target host).
     * @param reason         why it failed over: the automatic policy's reason, or an admin's command; null
     *                       in records written before this field existed.
     */
    public record FailoverRecord(long imageSeq, long atMs, long epoch, List<String> recoveryPaths, long primaryDurableSeq,
        String reason)
    {
        /**
         * The last seq the primary's journal had made durable here when it was fenced. The old primary's
         * unshipped tail starts after it, whatever seqs the target assigns itself later (a --latest
         * checkpoint, failback writes): 0 in records written before this field existed.
         */
        public long tailAfterSeq(final long fallback)
        {
            return primaryDurableSeq > 0 ? primaryDurableSeq : fallback;
        }
    }

    public static GroupState read(final Path groupDir) throws IOException
    {
        final Path file = groupDir.resolve(FILE_NAME);
        try
        {
            return Json.mapper().readValue(file.toFile(), GroupState.class);
        }
        catch (final JsonProcessingException ex)
        {
            throw new IOException("group state " + file + " is corrupt: " + ex.getOriginalMessage(), ex);
        }
    }

    public void write(final Path groupDir) throws IOException
    {
        AtomicFiles.write(groupDir.resolve(FILE_NAME), ByteBuffer.wrap(Json.encode(this)));
    }

    public GroupState withFailover(final long newEpoch, final FailoverRecord record)
    {
        return new GroupState(name, volumes, newEpoch, journalId, GroupRole.FAILED_OVER, record);
    }

    public GroupState withReplicating(final long newEpoch, final String newJournalId)
    {
        return new GroupState(name, volumes, newEpoch, newJournalId, GroupRole.REPLICATING, null);
    }
}
