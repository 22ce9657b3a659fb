package dev.replicator.target.image;

import dev.replicator.core.bitmap.BlockBitmap;
import dev.replicator.core.volume.VolumeSpec;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

/**
 * The expected content of a group: an in-memory copy of every volume, a copy at every checkpoint, and
 * the log of operations in seq order that an "agent" feeds (and resends) to a store.
 */
final class GroupModel
{
    record Op(long seq, boolean isCheckpoint, int volumeIndex, long blockIndex, byte[] content, String label)
    {
    }

    private final List<VolumeSpec> specs;
    private final byte[][] current;
    private final List<Op> log = new ArrayList<>();
    private final TreeMap<Long, byte[][]> images = new TreeMap<>();
    private long nextSeq = 1;

    GroupModel(final List<VolumeSpec> specs)
    {
        this.specs = specs;
        current = new byte[specs.size()][];
        for (int v = 0; v < specs.size(); v++)
        {
            current[v] = new byte[(int)specs.get(v).sizeBytes()];
        }
    }

    static List<VolumeSpec> twoSmallVolumes()
    {
        return List.of(
            new VolumeSpec("data", Path.of("/dev/null"), 256L * 4096, 4096),
            new VolumeSpec("log", Path.of("/dev/null"), 512L * 1024, 1024));
    }

    List<VolumeSpec> specs()
    {
        return specs;
    }

    List<Op> log()
    {
        return log;
    }

    Op write(final int volumeIndex, final long blockIndex, final byte[] content)
    {
        final int blockSize = specs.get(volumeIndex).blockSize();
        System.arraycopy(content, 0, current[volumeIndex], (int)(blockIndex * blockSize), blockSize);
        final Op op = new Op(nextSeq++, false, volumeIndex, blockIndex, content, null);
        log.add(op);
        return op;
    }

    Op checkpoint()
    {
        final long seq = nextSeq++;
        final byte[][] copy = new byte[current.length][];
        for (int v = 0; v < current.length; v++)
        {
            copy[v] = current[v].clone();
        }
        images.put(seq, copy);
        final Op op = new Op(seq, true, -1, -1, null, "cp-" + seq);
        log.add(op);
        return op;
    }

    /** A write of random content kind (zero, compressible, random) to a block, hot blocks preferred. */
    Op randomWrite(final Random random)
    {
        final int volumeIndex = random.nextInt(specs.size());
        final VolumeSpec spec = specs.get(volumeIndex);
        final long blockIndex = random.nextInt(10) < 7 ?
            random.nextInt(16) * 3 : random.nextInt((int)spec.blockCount());
        return write(volumeIndex, blockIndex, randomContent(random, spec.blockSize()));
    }

    static byte[] randomContent(final Random random, final int blockSize)
    {
        final byte[] content = new byte[blockSize];
        final int kind = random.nextInt(10);
        if (kind < 2)
        {
            return content;
        }
        if (kind < 6)
        {
            // Compressible: a short random phrase repeated.
            final byte[] phrase = new byte[1 + random.nextInt(16)];
            random.nextBytes(phrase);
            for (int i = 0; i < blockSize; i++)
            {
                content[i] = phrase[i % phrase.length];
            }
            return content;
        }
        random.nextBytes(content);
        return content;
    }

    byte[] current(final int volumeIndex)
    {
        return current[volumeIndex];
    }

    byte[] image(final long checkpointSeq, final int volumeIndex)
    {
        return images.get(checkpointSeq)[volumeIndex];
    }

    Map<Long, byte[][]> images()
    {
        return images;
    }

    byte[] block(final byte[] volume, final int volumeIndex, final long blockIndex)
    {
        final int blockSize = specs.get(volumeIndex).blockSize();
        final byte[] block = new byte[blockSize];
        System.arraycopy(volume, (int)(blockIndex * blockSize), block, 0, blockSize);
        return block;
    }

    /** Blocks of a volume written by ops with a seq above {@code seq}. */
    BlockBitmap writtenAfter(final long seq, final int volumeIndex)
    {
        final BlockBitmap written = new BlockBitmap();
        for (final Op op : log)
        {
            if (!op.isCheckpoint() && op.seq() > seq && op.volumeIndex() == volumeIndex)
            {
                written.set(op.blockIndex());
            }
        }
        return written;
    }

    /** Index in the log of the first op with a seq above {@code seq}. */
    int indexAfter(final long seq)
    {
        int i = 0;
        while (i < log.size() && log.get(i).seq() <= seq)
        {
            i++;
        }
        return i;
    }

    /** Feeds ops [from, to) of the log to the store, as the receiver would. */
    void feed(final ImageStore store, final int from, final int to) throws java.io.IOException
    {
        for (int i = from; i < to; i++)
        {
            feed(store, log.get(i));
        }
    }

    static void feed(final ImageStore store, final Op op) throws java.io.IOException
    {
        if (op.isCheckpoint())
        {
            store.addCheckpoint(op.seq(), 1_700_000_000_000L + op.seq(), op.label());
        }
        else
        {
            store.applyBlock(op.seq(), op.volumeIndex(), op.blockIndex(), ByteBuffer.wrap(op.content()));
        }
    }

    /** Feeds the whole log and commits it. */
    void feedAllAndCommit(final ImageStore store) throws java.io.IOException
    {
        feed(store, 0, log.size());
        store.commit(log.get(log.size() - 1).seq());
    }
}
