package dev.replicator.target.status;

import com.fasterxml.jackson.annotation.JsonInclude;

import java.util.List;

/** The failover in force, in {@code replicator status}. */
public record FailoverStatus(
    String image,
    String at,
    List<String> recoveryPaths,
    @JsonInclude(JsonInclude.Include.NON_NULL) Long blocksWrittenSinceFailover,
    @JsonInclude(JsonInclude.Include.NON_NULL) String reason)
{
}
