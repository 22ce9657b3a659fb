package dev.replicator.target.auto;

import com.fasterxml.jackson.core.JsonProcessingException;
import dev.replicator.core.io.AtomicFiles;
import dev.replicator.core.wire.Json;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The last role transition the automatic policy made for a group (or decided not to make), and why;
 * in {@code groups/NAME/last-transition.json} (atomic replace), so it survives a target restart and
 * shows in {@code replicator status}.
 *
 * @param kind          FAILOVER, FAILBACK, or FAILOVER_BLOCKED / FAILBACK_BLOCKED (the policy wanted to
 *                      act and could not: no image yet, validation or the hook failed).
 * @param imageSeq      the image failed over to, or the failback checkpoint; 0 if none.
 * @param hookExitCode  the hook's exit code; null if there is no hook or it did not run; -1 timed out.
 * @param hookOutcome   the hook's outcome in words ("exit 0", "timed out after ..."), or null.
 */
public record Transition(
    String kind,
    long atMs,
    long epoch,
    long imageSeq,
    String reason,
    List<String> recoveryPaths,
    Integer hookExitCode,
    String hookOutcome)
{
    public static final String FILE_NAME = "last-transition.json";

    public static Transition read(final Path groupDir) throws IOException
    {
        final Path file = groupDir.resolve(FILE_NAME);
        if (!Files.exists(file))
        {
            return null;
        }
        try
        {
            return Json.mapper().readValue(file.toFile(), Transition.class);
        }
        catch (final JsonProcessingException ex)
        {
            throw new IOException("transition record " + file + " is corrupt: " + ex.getOriginalMessage(), ex);
        }
    }

    public void write(final Path groupDir) throws IOException
    {
        AtomicFiles.write(groupDir.resolve(FILE_NAME), ByteBuffer.wrap(Json.encode(this)));
    }

    public Transition withHook(final Integer exitCode, final String outcome)
    {
        return new Transition(kind, atMs, epoch, imageSeq, reason, recoveryPaths, exitCode, outcome);
    }
}
