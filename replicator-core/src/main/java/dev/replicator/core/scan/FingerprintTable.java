package dev.replicator.core.scan;

import dev.replicator.core.codec.Checksums;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.LongBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The xxHash64 of every block of a volume as last seen, in a memory-mapped file: 8 bytes a block
 * after a 32-byte header, so a 64 GiB volume of 4 KiB blocks costs 128 MiB of page cache, not heap.
 * A new table says every block is all-zero (a fresh replica is), so zero blocks never travel.
 *
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +---------------------------------------------------------------+
 * |                      Magic 'RFP1' (0x52465031)                |
 * +---------------------------------------------------------------+
 * |                          Block Size                           |
 * +---------------------------------------------------------------+
 * |                          Block Count                          |
 * |                                                               |
 * +---------------------------------------------------------------+
 * |                    Reserved (16 bytes)                        |
 * +---------------------------------------------------------------+
 * |              Fingerprint[0..Block Count) (int64)             ...
 * +---------------------------------------------------------------+
 * </pre>
 *
 * Single writer; {@link #force()} makes updates durable. Whoever updates an entry must first make
 * the change it stands for durable elsewhere (the journal): an entry that runs ahead of the
 * journal would hide a change forever, one that lags only causes a resend.
 */
public final class FingerprintTable implements Closeable
{
    static final int MAGIC = 0x52465031;
    static final int HEADER_LENGTH = 32;
    /** Blocks per mapping: a MappedByteBuffer is limited to 2 GiB. */
    private static final int BLOCKS_PER_CHUNK = 1 << 27;

    private final Path path;
    private final FileChannel channel;
    private final long blockCount;
    private final int blockSize;
    private final MappedByteBuffer header;
    private final MappedByteBuffer[] chunks;
    private final LongBuffer[] longs;

    private FingerprintTable(
        final Path path, final FileChannel channel, final long blockCount, final int blockSize) throws IOException
    {
        this.path = path;
        this.channel = channel;
        this.blockCount = blockCount;
        this.blockSize = blockSize;
        this.header = channel.map(FileChannel.MapMode.READ_WRITE, 0, HEADER_LENGTH);
        header.order(ByteOrder.LITTLE_ENDIAN);
        final int chunkCount = (int)((blockCount + BLOCKS_PER_CHUNK - 1) / BLOCKS_PER_CHUNK);
        this.chunks = new MappedByteBuffer[chunkCount];
        this.longs = new LongBuffer[chunkCount];
        for (int i = 0; i < chunkCount; i++)
        {
            final long first = (long)i * BLOCKS_PER_CHUNK;
            final long count = Math.min(BLOCKS_PER_CHUNK, blockCount - first);
            chunks[i] = channel.map(FileChannel.MapMode.READ_WRITE, HEADER_LENGTH + first * 8, count * 8);
            chunks[i].order(ByteOrder.LITTLE_ENDIAN);
            longs[i] = chunks[i].asLongBuffer();
        }
    }

    /**
     * Opens the table at {@code path}, creating it (every block the all-zero fingerprint) if absent or
     * if its creation was cut short (no magic: nothing was ever recorded in it).
     *
     * @throws IOException if an existing table is for another block size or block count.
     */
    public static FingerprintTable openOrCreate(final Path path, final long blockCount, final int blockSize)
        throws IOException
    {
        if (Files.exists(path) && isTornCreation(path))
        {
            // A process killed while creating the table (the magic is written last, after the rest is
            // forced) left it unusable; refusing it would keep the owner from ever starting again.
            Files.delete(path);
        }
        final boolean exists = Files.exists(path);
        Files.createDirectories(path.toAbsolutePath().getParent());
        final FileChannel channel = FileChannel.open(
            path, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        try
        {
            final long length = HEADER_LENGTH + blockCount * 8;
            if (exists)
            {
                if (channel.size() != length)
                {
                    throw new IOException("fingerprint table " + path + " has " + channel.size() +
                        " bytes, expected " + length + " for " + blockCount + " blocks");
                }
            }
            final FingerprintTable table = new FingerprintTable(path, channel, blockCount, blockSize);
            if (exists)
            {
                table.checkHeader();
            }
            else
            {
                table.initialise();
            }
            return table;
        }
        catch (final IOException | RuntimeException ex)
        {
            channel.close();
            if (!exists)
            {
                Files.deleteIfExists(path);
            }
            throw ex;
        }
    }

    private static boolean isTornCreation(final Path path) throws IOException
    {
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ))
        {
            final ByteBuffer magic = ByteBuffer.allocate(Integer.BYTES).order(ByteOrder.LITTLE_ENDIAN);
            while (magic.hasRemaining())
            {
                if (channel.read(magic, magic.position()) < 0)
                {
                    return true;
                }
            }
            return magic.getInt(0) != MAGIC;
        }
    }

    private void checkHeader() throws IOException
    {
        if (header.getInt(0) != MAGIC || header.getInt(4) != blockSize || header.getLong(8) != blockCount)
        {
            throw new IOException("fingerprint table " + path + " is not for " + blockCount + " blocks of " +
                blockSize + " bytes");
        }
    }

    private void initialise() throws IOException
    {
        fill(Checksums.zeroBlockFingerprint(blockSize));
        header.putInt(4, blockSize);
        header.putLong(8, blockCount);
        force();
        // The magic last: a table torn during creation has none, and openOrCreate makes it again.
        header.putInt(0, MAGIC);
        header.force();
    }

    /** Sets every entry to {@code fingerprint}. */
    public void fill(final long fingerprint)
    {
        for (final LongBuffer chunk : longs)
        {
            for (int i = 0, n = chunk.limit(); i < n; i++)
            {
                chunk.put(i, fingerprint);
            }
        }
    }

    public long blockCount()
    {
        return blockCount;
    }

    public int blockSize()
    {
        return blockSize;
    }

    public long get(final long blockIndex)
    {
        return longs[(int)(blockIndex / BLOCKS_PER_CHUNK)].get((int)(blockIndex % BLOCKS_PER_CHUNK));
    }

    public void set(final long blockIndex, final long fingerprint)
    {
        longs[(int)(blockIndex / BLOCKS_PER_CHUNK)].put((int)(blockIndex % BLOCKS_PER_CHUNK), fingerprint);
    }

    public void force()
    {
        for (final MappedByteBuffer chunk : chunks)
        {
            chunk.force();
        }
        header.force();
    }

    @Override
    public void close() throws IOException
    {
        channel.close();
    }
}
