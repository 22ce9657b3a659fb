package dev.replicator.agent;

import com.fasterxml.jackson.core.JsonProcessingException;
import dev.replicator.core.io.AtomicFiles;
import dev.replicator.core.wire.Json;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What an agent must remember across restarts besides its journal: the epoch the target last gave
 * it. Persisted atomically in {@code state.dir/agent.state}.
 */
public record AgentState(String group, long epoch)
{
    public static final String FILE_NAME = "agent.state";

    public static AgentState readOrNew(final Path stateDir, final String group) throws IOException
    {
        final Path file = stateDir.resolve(FILE_NAME);
        if (!Files.exists(file))
        {
            return new AgentState(group, 0);
        }
        final AgentState state;
        try
        {
            state = Json.mapper().readValue(file.toFile(), AgentState.class);
        }
        catch (final JsonProcessingException ex)
        {
            throw new IOException("agent state file " + file + " is corrupt: " + ex.getOriginalMessage(), ex);
        }
        if (!group.equals(state.group()))
        {
            throw new IOException("state dir " + stateDir + " belongs to group '" + state.group() +
                "', not '" + group + "': use another state.dir");
        }
        return state;
    }

    public void write(final Path stateDir) throws IOException
    {
        AtomicFiles.write(stateDir.resolve(FILE_NAME), java.nio.ByteBuffer.wrap(Json.encode(this)));
    }

    public AgentState withEpoch(final long newEpoch)
    {
        return new AgentState(group, newEpoch);
    }
}
