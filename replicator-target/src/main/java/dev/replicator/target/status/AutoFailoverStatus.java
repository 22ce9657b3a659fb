package dev.replicator.target.status;

import com.fasterxml.jackson.annotation.JsonInclude;

import java.util.List;
import java.util.Map;

/**
 * A group's automatic failover policy and the last transition it made, in {@code replicator status}.
 *
 * @param policy          "off", or the policy in words (silence window, lag limit, failback).
 * @param primarySilentMs how long the primary has been silent, as the policy counts it; null when the
 *                        policy is off or the group is not replicating.
 * @param lastTransition  null until the policy has acted (or decided it could not).
 * @param transitions     transitions recorded since the target started, per kind (FAILOVER, FAILBACK,
 *                        FAILOVER_BLOCKED, FAILBACK_BLOCKED); empty (left out) if none.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record AutoFailoverStatus(
    String policy,
    Long primarySilentMs,
    TransitionStatus lastTransition,
    @JsonInclude(JsonInclude.Include.NON_EMPTY) Map<String, Long> transitions)
{
    /** The transition kinds the policy records, each exported as a series even while its count is 0. */
    public static final List<String> KINDS = List.of("FAILOVER", "FAILBACK", "FAILOVER_BLOCKED", "FAILBACK_BLOCKED");

    /** The last automatic transition; {@code seq} is the image failed over to or the failback checkpoint. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record TransitionStatus(
        String kind, String at, long epoch, long seq, String reason, Integer hookExitCode, String hook)
    {
    }
}
