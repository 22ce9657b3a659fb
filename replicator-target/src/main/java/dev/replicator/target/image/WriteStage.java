package dev.replicator.target.image;

/**
 * Points in the store's write ordering, in order. A {@link WriteStageHook} may stop the writer at any
 * of them to reproduce a crash there.
 */
enum WriteStage
{
    /** (2) The batch's undo records are durable; no replica block of the batch is written yet. */
    UNDO_DURABLE,
    /** (3) The batch's blocks are written to the replicas but not fsynced. */
    REPLICAS_WRITTEN,
    /** (4) The replicas are fsynced; lastSeq is not yet updated. */
    REPLICAS_DURABLE,
    /** A checkpoint record is durable in the catalog; its interval has not started. */
    CHECKPOINT_DURABLE
}
