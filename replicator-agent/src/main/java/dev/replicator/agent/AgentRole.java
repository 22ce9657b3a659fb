package dev.replicator.agent;

/** Where an agent stands with its target. */
public enum AgentRole
{
    /** Not yet told by a target. */
    UNKNOWN,
    /** Ships its journal. */
    PRIMARY,
    /** The group failed over: it must not ship; it keeps its journal and waits for failback. */
    DEMOTED
}
