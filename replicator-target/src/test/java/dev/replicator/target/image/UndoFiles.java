package dev.replicator.target.image;

import dev.replicator.core.volume.VolumeSpec;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/** Looks at a store's undo segments from the outside, as a test needs. */
final class UndoFiles
{
    private UndoFiles()
    {
    }

    static Path segment(final Path groupDir, final long baseCheckpointSeq)
    {
        return new StoreLayout(groupDir).undoSegment(baseCheckpointSeq);
    }

    /** Base checkpoint seqs of the segment files present, ascending. */
    static List<Long> segmentBases(final Path groupDir) throws IOException
    {
        final List<Long> bases = new ArrayList<>();
        try (Stream<Path> files = Files.list(new StoreLayout(groupDir).undoDir()))
        {
            files.forEach(file ->
            {
                final long base = StoreLayout.parseUndoSegmentName(file.getFileName().toString());
                if (base >= 0)
                {
                    bases.add(base);
                }
            });
        }
        bases.sort(null);
        return bases;
    }

    /** Positions of the valid records of a segment file, in file order. */
    static List<Long> recordPositions(final Path groupDir, final long baseCheckpointSeq, final List<VolumeSpec> volumes)
        throws IOException
    {
        final List<Long> positions = new ArrayList<>();
        try (UndoSegment segment = UndoSegment.open(segment(groupDir, baseCheckpointSeq), baseCheckpointSeq, volumes, false))
        {
            final ByteBuffer window = ByteBuffer.allocateDirect(UndoSegment.scanWindowLength(volumes));
            segment.scanPublished(UndoSegmentDescriptor.HEADER_LENGTH, window,
                (position, seq, volumeIndex, blockIndex) -> positions.add(position));
        }
        return positions;
    }

    static int recordCount(final Path groupDir, final long baseCheckpointSeq, final List<VolumeSpec> volumes)
        throws IOException
    {
        return recordPositions(groupDir, baseCheckpointSeq, volumes).size();
    }
}
