package dev.replicator.target.failback;

import java.util.List;

/**
 * What a failback of a group of tree volumes would move to the primary, per tree: the delta that
 * turns the primary's tree (as its fresh manifest says) into the recovery tree.
 *
 * @param mode  always "tree".
 * @param bytes WRITE data bytes of all trees (before compression).
 */
public record TreeFailbackPlan(
    String group, String mode, String reason, long imageSeq, long epoch, List<TreePlan> trees, long ops, long bytes)
{
    /**
     * One tree's delta. Files renamed on the recovery side are renamed on the primary (no data), found
     * by the recovery file's identity since failover; {@code deleted} counts entries (a directory and
     * each entry under it).
     */
    public record TreePlan(String tree, long filesCreated, long filesChanged, long deleted, long renamed,
        long dirsCreated, long symlinksCreated, long attributesOnly, long ops, long bytes, List<String> firstPaths)
    {
    }
}
