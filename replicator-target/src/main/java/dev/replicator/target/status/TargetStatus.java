package dev.replicator.target.status;

import java.util.List;

/** Everything {@code replicator status} shows: every group, and the target's own counters. */
public record TargetStatus(List<GroupStatus> groups, long corruptFramesRejected, long framesApplied)
{
}
