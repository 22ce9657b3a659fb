package dev.replicator.target.status;

import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * One volume of a group in {@code replicator status}.
 *
 * @param appliedBytes               plain bytes applied to its replica since the target started.
 * @param blocksWrittenSinceFailover blocks written on its recovery volume (null unless failed over).
 */
public record VolumeStatus(
    String name,
    long sizeBytes,
    int blockSize,
    long appliedBytes,
    @JsonInclude(JsonInclude.Include.NON_NULL) Long blocksWrittenSinceFailover)
{
}
