package dev.replicator.agent.capture;

import dev.replicator.core.nbd.NbdBackend;
import dev.replicator.core.nbd.NbdBackendException;
import dev.replicator.core.nbd.NbdProtocol;
import dev.replicator.core.nbd.ZeroRuns;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.function.BooleanSupplier;

/**
 * A protected volume as the host sees it over NBD. Every WRITE, WRITE_ZEROES and TRIM goes through
 * the {@link VolumeWriter}: applied to the volume and journaled, in the order the writer takes them
 * (so a checkpoint taken meanwhile falls between two whole writes). FLUSH, and FUA on a write,
 * fsync the volume and then the journal (or the dirty bitmap in bitmap mode) before the reply.
 * Reads come straight from the volume. Writes are refused with EPERM while {@code writable} is
 * false (the agent is demoted: the target's failover volume is the primary).
 *
 * <p>Thread-safe: the writer serialises writes; reads are positional.
 */
public final class NbdVolumeBackend implements NbdBackend
{
    /** Zeros are journaled in runs of this size, the largest a journal entry holds. */
    private static final int ZERO_RUN_BYTES = CaptureVolume.MAX_RUN_BYTES;

    private final VolumeWriter writer;
    private final ChangeLog changeLog;
    private final CaptureVolume volume;
    private final String name;
    private final FileChannel channel;
    private final BooleanSupplier writable;

    public NbdVolumeBackend(
        final VolumeWriter writer, final ChangeLog changeLog, final CaptureVolume volume, final BooleanSupplier writable)
    {
        this.writer = writer;
        this.changeLog = changeLog;
        this.volume = volume;
        this.name = volume.spec().name();
        this.channel = volume.channel().channel();
        this.writable = writable;
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
        writer.write(name, offset, src);
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
            writer.write(name, offset + done, ZeroRuns.zeros(n));
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

    private void requireWritable() throws NbdBackendException
    {
        if (!writable.getAsBoolean())
        {
            throw new NbdBackendException(NbdProtocol.EPERM, "volume '" + name + "' is not writable while this " +
                "agent is demoted");
        }
    }
}
