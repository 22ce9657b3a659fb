package dev.replicator.target.failback;

import com.fasterxml.jackson.annotation.JsonIgnore;
import dev.replicator.core.bitmap.BlockBitmap;

import java.util.List;

/**
 * What failback would move, per volume, and why: the reverse changed-block bitmap and its parts.
 *
 * @param mode "journal" (the union of the three sets below) or "fingerprints" (the primary has no
 *             journal the target knows: every block's fingerprint is compared).
 */
public record FailbackPlan(
    String group,
    String mode,
    String reason,
    long imageSeq,
    long epoch,
    List<VolumePlan> volumes,
    long blocks,
    long bytes)
{
    /**
     * One volume's part.
     *
     * @param writtenOnRecovery  blocks written on the recovery volume since failover.
     * @param receivedAfterImage blocks the replica received after the failover image.
     * @param unshippedOnPrimary blocks the primary journaled that never reached the target.
     * @param differing          fingerprints mode: blocks whose fingerprints differ.
     * @param blocks             blocks to ship back (the union).
     */
    public record VolumePlan(
        String volume,
        long volumeBlocks,
        long writtenOnRecovery,
        long receivedAfterImage,
        long unshippedOnPrimary,
        long differing,
        long blocks,
        long bytes,
        @JsonIgnore BlockBitmap toPrimary,
        @JsonIgnore BlockBitmap toReplica)
    {
    }
}
