package dev.replicator.agent.capture;

import dev.replicator.core.nbd.NbdBackend;
import dev.replicator.core.nbd.NbdBackendException;
import dev.replicator.core.nbd.NbdProtocol;
import dev.replicator.core.nbd.ZeroRuns;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BooleanSupplier;

/**
 * A protected volume as the host sees it over NBD. Every WRITE, WRITE_ZEROES and TRIM goes through
 * the {@link VolumeWriter}: applied to the volume and journaled, in the order the writer takes them
 * (so a checkpoint taken meanwhile falls between two whole writes). FLUSH, and FUA on a write,
 * fsync the volume and then the journal (or the dirty bitmap in bitmap mode) before the reply.
 * Reads come straight from the volume. Writes are refused with EPERM while {@code writable} is
 * false (the agent is demoted: the target's failover volume is the primary).
 *
 * <p>Writes of whole blocks to different ranges run in parallel ({@link VolumeWriter#writeWholeBlocks});
 * writes to overlapping ranges are kept apart by range locks, so for any two of them the volume and the
 * journal see the same order. Range locks are 64 stripes over 1 MiB regions: a write locks the stripes
 * of the regions it touches, in stripe order (no deadlock).
 *
 * <p>Thread-safe.
 */
public final class NbdVolumeBackend implements NbdBackend
{
    /** Zeros are journaled in runs of this size, the largest a journal entry holds. */
    private static final int ZERO_RUN_BYTES = CaptureVolume.MAX_RUN_BYTES;
    private static final int STRIPES = 64;
    private static final long REGION_BYTES = 1 << 20;

    private final VolumeWriter writer;
    private final ChangeLog changeLog;
    private final CaptureVolume volume;
    private final String name;
    private final FileChannel channel;
    private final BooleanSupplier writable;
    private final ReentrantLock[] stripes = new ReentrantLock[STRIPES];
    private final long regionBytes;

    public NbdVolumeBackend(
        final VolumeWriter writer, final ChangeLog changeLog, final CaptureVolume volume, final BooleanSupplier writable)
    {
        this.writer = writer;
        this.changeLog = changeLog;
        this.volume = volume;
        this.name = volume.spec().name();
        this.channel = volume.channel().channel();
        this.writable = writable;
        // Regions hold whole blocks, so a read-modify-write of a partial block stays inside its locks.
        this.regionBytes = Math.max(REGION_BYTES, volume.spec().blockSize());
        for (int i = 0; i < STRIPES; i++)
        {
            stripes[i] = new ReentrantLock();
        }
    }

    @Override
    public long size()
    {
        return volume.spec().sizeBytes();
    }

    @Override
    public boolean readOnly()
    {
        return false;
    }

    @Override
    public int blockSize()
    {
        return volume.spec().blockSize();
    }

    @Override
    public void read(final long offset, final ByteBuffer dst) throws IOException
    {
        long position = offset;
        while (dst.hasRemaining())
        {
            final int n = channel.read(dst, position);
            if (n < 0)
            {
                throw new IOException("volume '" + name + "' ended at " + position);
            }
            position += n;
        }
    }

    @Override
    public void write(final long offset, final ByteBuffer src, final boolean fua) throws IOException
    {
        requireWritable();
        final long locked = lock(offset, src.remaining());
        try
        {
            writeLocked(offset, src);
        }
        finally
        {
            unlock(locked);
        }
        if (fua)
        {
            flush();
        }
    }

    @Override
    public void writeZeroes(final long offset, final long length, final boolean fua) throws IOException
    {
        requireWritable();
        long done = 0;
        while (done < length)
        {
            final int n = (int)Math.min(length - done, ZERO_RUN_BYTES);
            final long locked = lock(offset + done, n);
            try
            {
                writeLocked(offset + done, ZeroRuns.zeros(n));
            }
            finally
            {
                unlock(locked);
            }
            done += n;
        }
        if (fua)
        {
            flush();
        }
    }

    /** Trimmed blocks read as zeros afterwards, so the target must learn they are zeros too. */
    @Override
    public void trim(final long offset, final long length) throws IOException
    {
        writeZeroes(offset, length, false);
    }

    @Override
    public void flush() throws IOException
    {
        volume.channel().force();
        changeLog.sync();
    }

    @Override
    public void blockStatus(final long offset, final long length, final ExtentSink sink) throws IOException
    {
        ZeroRuns.describe(this::read, offset, length, blockSize(), sink);
    }

    /** The agent closes the volume; the export only stops being offered. */
    @Override
    public void close()
    {
    }

    private void writeLocked(final long offset, final ByteBuffer src) throws IOException
    {
        final int blockSize = volume.spec().blockSize();
        if (offset % blockSize == 0 && src.remaining() % blockSize == 0)
        {
            writer.writeWholeBlocks(name, offset, src);
        }
        else
        {
            writer.write(name, offset, src);
        }
    }

    /** Locks the stripes of the regions {@code [offset, offset + length)} touches; returns them as a bit mask. */
    private long lock(final long offset, final long length)
    {
        final long firstRegion = offset / regionBytes;
        final long lastRegion = (offset + Math.max(1, length) - 1) / regionBytes;
        long mask = 0;
        if (lastRegion - firstRegion >= STRIPES - 1)
        {
            mask = -1L;
        }
        else
        {
            for (long region = firstRegion; region <= lastRegion; region++)
            {
                mask |= 1L << (int)(region % STRIPES);
            }
        }
        for (int i = 0; i < STRIPES; i++)
        {
            if ((mask & (1L << i)) != 0)
            {
                stripes[i].lock();
            }
        }
        return mask;
    }

    private void unlock(final long mask)
    {
        for (int i = STRIPES - 1; i >= 0; i--)
        {
            if ((mask & (1L << i)) != 0)
            {
                stripes[i].unlock();
            }
        }
    }

    private void requireWritable() throws NbdBackendException
    {
        if (!writable.getAsBoolean())
        {
            throw new NbdBackendException(NbdProtocol.EPERM, "volume '" + name + "' is not writable while this " +
                "agent is demoted");
        }
    }
}
