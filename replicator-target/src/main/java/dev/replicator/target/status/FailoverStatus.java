package dev.replicator.target.status;

import com.fasterxml.jackson.annotation.JsonInclude;

import java.util.List;

/** The failover in force, in {@code replicator status}; {@code export}: the NBD exports serving it (failover --export). */
public record FailoverStatus(
    String image,
    String at,
    List<String> recoveryPaths,
    @JsonInclude(JsonInclude.Include.NON_NULL) Long blocksWrittenSinceFailover,
    @JsonInclude(JsonInclude.Include.NON_NULL) String reason,
    @JsonInclude(JsonInclude.Include.NON_NULL) String export)
{
}
