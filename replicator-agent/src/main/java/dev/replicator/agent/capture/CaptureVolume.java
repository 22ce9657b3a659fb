package dev.replicator.agent.capture;

import dev.replicator.core.scan.FingerprintScanner;
import dev.replicator.core.scan.FingerprintTable;
import dev.replicator.core.volume.VolumeChannel;
import dev.replicator.core.volume.VolumeSpec;

import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Path;

/**
 * One protected volume as the agent holds it: the open file or device, its fingerprint table
 * (what the target is known to have, or will have once the journal is shipped), and its scanner.
 */
public final class CaptureVolume implements Closeable
{
    /** A journal entry holds at most this much: a run of 64 blocks of 4 KiB. */
    public static final int MAX_RUN_BYTES = 256 * 1024;
    /** A big scan makes its journal durable and updates the table every 64 MiB of changes. */
    private static final int DURABLE_EVERY_BYTES = 64 * 1024 * 1024;

    private final int index;
    private final VolumeSpec spec;
    private final VolumeChannel channel;
    private final FingerprintTable table;
    private final FingerprintScanner scanner;

    private CaptureVolume(final int index, final VolumeSpec spec, final VolumeChannel channel, final FingerprintTable table)
    {
        this.index = index;
        this.spec = spec;
        this.channel = channel;
        this.table = table;
        this.scanner = new FingerprintScanner(channel, table, Math.max(MAX_RUN_BYTES, spec.blockSize()),
            DURABLE_EVERY_BYTES);
    }

    public static CaptureVolume open(final int index, final VolumeSpec spec, final Path fingerprintDir) throws IOException
    {
        final VolumeChannel channel = VolumeChannel.openReadWrite(spec.path(), spec.blockSize());
        try
        {
            final long actual = channel.sizeBytes();
            if (actual != spec.sizeBytes())
            {
                throw new IOException("volume '" + spec.name() + "' at " + spec.path() + " has " + actual +
                    " bytes, expected " + spec.sizeBytes());
            }
            final FingerprintTable table = FingerprintTable.openOrCreate(
                fingerprintDir.resolve(spec.name() + ".fp"), spec.blockCount(), spec.blockSize());
            return new CaptureVolume(index, spec, channel, table);
        }
        catch (final IOException | RuntimeException ex)
        {
            channel.close();
            throw ex;
        }
    }

    public int index()
    {
        return index;
    }

    public VolumeSpec spec()
    {
        return spec;
    }

    public VolumeChannel channel()
    {
        return channel;
    }

    public FingerprintTable table()
    {
        return table;
    }

    public FingerprintScanner scanner()
    {
        return scanner;
    }

    @Override
    public void close() throws IOException
    {
        try
        {
            table.close();
        }
        finally
        {
            channel.close();
        }
    }
}
