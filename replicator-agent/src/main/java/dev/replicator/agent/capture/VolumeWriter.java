package dev.replicator.agent.capture;

import dev.replicator.core.codec.Checksums;
import dev.replicator.core.volume.VolumeSpec;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Capture through a library call: {@code write(volume, offset, bytes)} writes the volume and
 * journals the whole blocks it touched, in call order, so the target sees the group's writes in
 * the order they were made. Writes not aligned to blocks read the rest of their blocks first.
 *
 * <p>Thread-safe: writes are serialised (the group has one order).
 */
public final class VolumeWriter
{
    private final ChangeLog changeLog;
    private final List<CaptureVolume> volumes;
    /** Blocks written since the last checkpoint whose fingerprints are held back: 1 Mi, 20 MiB of arrays. */
    private static final int MAX_PENDING = 1 << 20;
    private final ByteBuffer scratch = ByteBuffer.allocateDirect(CaptureVolume.MAX_RUN_BYTES);
    private long[] pendingBlocks = new long[256];
    private long[] pendingFingerprints = new long[256];
    private int[] pendingVolumes = new int[256];
    private int pendingCount;

    public VolumeWriter(final ChangeLog changeLog, final List<CaptureVolume> volumes)
    {
        this.changeLog = changeLog;
        this.volumes = new ArrayList<>(volumes);
    }

    /**
     * Writes {@code data} (its remaining bytes) at byte {@code offset} of the named volume.
     *
     * @return the seq of the last journal entry written, or -1 if the change log is in bitmap mode.
     * @throws IllegalArgumentException if the volume is unknown or the write runs past its end.
     */
    public synchronized long write(final String volumeName, final long offset, final ByteBuffer data) throws IOException
    {
        final CaptureVolume volume = volume(volumeName);
        final VolumeSpec spec = volume.spec();
        final int length = data.remaining();
        if (offset < 0 || offset + length > spec.sizeBytes())
        {
            throw new IllegalArgumentException("write of " + length + " bytes at " + offset + " runs outside volume '" +
                volumeName + "' of " + spec.sizeBytes() + " bytes");
        }
        final int blockSize = spec.blockSize();
        long seq = -1;
        long position = offset;
        final ByteBuffer source = data.duplicate();
        while (source.hasRemaining())
        {
            final long firstBlock = position / blockSize;
            final int headSkip = (int)(position % blockSize);
            final int maxBytes = scratch.capacity() - headSkip;
            final int chunk = Math.min(source.remaining(), maxBytes);
            final int blocks = (headSkip + chunk + blockSize - 1) / blockSize;
            final int spanBytes = blocks * blockSize;
            scratch.clear().limit(spanBytes);
            if (headSkip != 0 || chunk % blockSize != 0)
            {
                volume.channel().readBlocks(firstBlock, scratch);
            }
            final ByteBuffer piece = source.duplicate();
            piece.limit(piece.position() + chunk);
            scratch.clear().position(headSkip);
            scratch.put(piece);
            scratch.clear().limit(spanBytes);
            volume.channel().writeBlocks(firstBlock, scratch.duplicate());
            final long recorded = changeLog.recordRun(volume.index(), firstBlock, scratch, 0, spanBytes);
            seq = recorded > 0 ? recorded : seq;
            for (int i = 0; i < blocks; i++)
            {
                addPending(volume.index(), firstBlock + i, Checksums.xxHash64(scratch, i * blockSize, blockSize));
            }
            source.position(source.position() + chunk);
            position += chunk;
        }
        return seq;
    }

    /**
     * Writes whole blocks ({@code offset} and {@code data.remaining()} multiples of the block size)
     * for a caller that writes from several threads at once, as the NBD front end does: the volume
     * write and the fingerprints happen outside this writer's lock, so writes to different ranges
     * overlap; only the journal appends are serialised. The volume is written before the journal,
     * as in {@link #write}, so a bitmap-mode resync that reads a dirty block reads the new content.
     * <p>The caller must not run two writes to overlapping ranges at once (the journal order and the
     * volume's content would disagree); {@link NbdVolumeBackend} holds range locks for this.
     *
     * @return the seq of the last journal entry written, or -1 if the change log is in bitmap mode.
     * @throws IllegalArgumentException if the volume is unknown, the write is not whole blocks or runs past the end.
     */
    public long writeWholeBlocks(final String volumeName, final long offset, final ByteBuffer data) throws IOException
    {
        final CaptureVolume volume = volume(volumeName);
        final VolumeSpec spec = volume.spec();
        final int blockSize = spec.blockSize();
        final int length = data.remaining();
        if (offset < 0 || offset + length > spec.sizeBytes() || offset % blockSize != 0 || length % blockSize != 0)
        {
            throw new IllegalArgumentException("write of " + length + " bytes at " + offset + " is not whole blocks " +
                "inside volume '" + volumeName + "' of " + spec.sizeBytes() + " bytes");
        }
        final long firstBlock = offset / blockSize;
        final int blocks = length / blockSize;
        volume.channel().writeBlocks(firstBlock, data.duplicate());
        final long[] fingerprints = new long[blocks];
        for (int i = 0; i < blocks; i++)
        {
            fingerprints[i] = Checksums.xxHash64(data, data.position() + i * blockSize, blockSize);
        }
        final int runBlocks = Math.max(1, CaptureVolume.MAX_RUN_BYTES / blockSize);
        long seq = -1;
        synchronized (this)
        {
            for (int first = 0; first < blocks; first += runBlocks)
            {
                final int count = Math.min(runBlocks, blocks - first);
                final long recorded = changeLog.recordRun(volume.index(), firstBlock + first, data,
                    data.position() + first * blockSize, count * blockSize);
                seq = recorded > 0 ? recorded : seq;
                for (int i = first; i < first + count; i++)
                {
                    addPending(volume.index(), firstBlock + i, fingerprints[i]);
                }
            }
        }
        return seq;
    }

    /**
     * Journals a checkpoint after every write so far and makes the change log durable.
     *
     * @return the checkpoint's seq, or -1 while dirty blocks are outstanding (bitmap mode).
     */
    public synchronized long checkpoint(final String label) throws IOException
    {
        final long seq = changeLog.checkpoint(System.currentTimeMillis(), label);
        // The changes are durable in the journal or the dirty bitmap: the fingerprint tables may
        // now say the target will have these blocks, so the next scan does not record them again.
        applyPending();
        return seq;
    }

    private void applyPending()
    {
        for (int i = 0; i < pendingCount; i++)
        {
            volumes.get(pendingVolumes[i]).scanner().recordKnownContent(pendingBlocks[i], pendingFingerprints[i]);
        }
        pendingCount = 0;
    }

    /** Makes volume writes durable (fsync of every volume). */
    public synchronized void flushVolumes() throws IOException
    {
        for (final CaptureVolume volume : volumes)
        {
            volume.channel().force();
        }
    }

    private CaptureVolume volume(final String name)
    {
        for (final CaptureVolume volume : volumes)
        {
            if (volume.spec().name().equals(name))
            {
                return volume;
            }
        }
        throw new IllegalArgumentException("no volume '" + name + "' in this group");
    }

    private void addPending(final int volume, final long block, final long fingerprint) throws IOException
    {
        if (pendingCount == MAX_PENDING)
        {
            // A host writing through the NBD front end for hours without a checkpoint would grow these
            // arrays without bound: make the changes durable (as a checkpoint would) and apply them.
            changeLog.makeDurable();
            applyPending();
        }
        if (pendingCount == pendingBlocks.length)
        {
            pendingBlocks = Arrays.copyOf(pendingBlocks, pendingCount * 2);
            pendingFingerprints = Arrays.copyOf(pendingFingerprints, pendingCount * 2);
            pendingVolumes = Arrays.copyOf(pendingVolumes, pendingCount * 2);
        }
        pendingVolumes[pendingCount] = volume;
        pendingBlocks[pendingCount] = block;
        pendingFingerprints[pendingCount] = fingerprint;
        pendingCount++;
    }
}
