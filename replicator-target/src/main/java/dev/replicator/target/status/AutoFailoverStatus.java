package dev.replicator.target.status;

import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * A group's automatic failover policy and the last transition it made, in {@code replicator status}.
 *
 * @param policy          "off", or the policy in words (silence window, lag limit, failback).
 * @param primarySilentMs how long the primary has been silent, as the policy counts it; null when the
 *                        policy is off or the group is not replicating.
 * @param lastTransition  null until the policy has acted (or decided it could not).
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record AutoFailoverStatus(String policy, Long primarySilentMs, TransitionStatus lastTransition)
{
    /** The last automatic transition; {@code seq} is the image failed over to or the failback checkpoint. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record TransitionStatus(
        String kind, String at, long epoch, long seq, String reason, Integer hookExitCode, String hook)
    {
    }
}
