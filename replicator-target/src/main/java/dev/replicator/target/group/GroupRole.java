package dev.replicator.target.group;

/** A group's state at the target. */
public enum GroupRole
{
    /** The primary agent ships; the target keeps images. */
    REPLICATING,
    /** Production runs from the recovery volume; the old primary is fenced until failback. */
    FAILED_OVER
}
