package dev.replicator.target.image;

/** Called for each valid undo record a scan finds, in file order. */
@FunctionalInterface
interface UndoRecordVisitor
{
    void onRecord(long recordPosition, long seq, int volumeIndex, long blockIndex);
}
