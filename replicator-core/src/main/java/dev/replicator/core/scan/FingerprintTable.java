package dev.replicator.core.scan;

import dev.replicator.core.codec.Checksums;
import dev.replicator.core.volume.HoleProbe;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.LongBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * The xxHash64 of every block of a volume as last seen, in a memory-mapped file: 8 bytes a block
 * after a 32-byte header, so a 64 GiB volume of 4 KiB blocks has a 128 MiB table in the page cache,
 * not the heap. Sparse: a stored 0 means the all-zero block's fingerprint, so a new table is a hole
 * that needs no filling (a fresh replica is all zeros, so zero blocks never travel), and a page of
 * the table whose 512 blocks are all zero need never be allocated nor read
 * ({@link #isAllZero(long, long)} skips the table's own holes).
 *
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +---------------------------------------------------------------+
 * |                      Magic 'RFP2' (0x52465032)                |
 * +---------------------------------------------------------------+
 * |                          Block Size                           |
 * +---------------------------------------------------------------+
 * |                          Block Count                          |
 * |                                                               |
 * +---------------------------------------------------------------+
 * |                    Reserved (16 bytes)                        |
 * +---------------------------------------------------------------+
 * |           Stored Fingerprint[0..Block Count) (int64)         ...
 * +---------------------------------------------------------------+
 *
 *  stored = fingerprint, except: zero block's fingerprint <-> 0 (swapped both ways, so every
 *  fingerprint, even a content whose xxHash64 is 0, has exactly one stored form)
 * </pre>
 *
 * Version 1 (magic 'RFP1') stored every fingerprint as is and was filled with the zero block's at
 * creation; {@link #openOrCreate} upgrades such a table once, by writing a sparse copy and renaming
 * it over the old one (a crash leaves the old table or the new, never half of each).
 *
 * <p>Single writer; {@link #force()} makes updates durable. Whoever updates an entry must first make
 * the change it stands for durable elsewhere (the journal): an entry that runs ahead of the
 * journal would hide a change forever, one that lags only causes a resend.
 */
public final class FingerprintTable implements Closeable
{
    static final int MAGIC = 0x52465032;
    static final int MAGIC_V1 = 0x52465031;
    static final int HEADER_LENGTH = 32;
    /** Blocks per mapping: a MappedByteBuffer is limited to 2 GiB. */
    private static final int BLOCKS_PER_CHUNK = 1 << 27;
    private static final String UPGRADE_SUFFIX = ".upgrade";
    /** Granularity of {@link #isAllZero}'s walk over the table's data: a page holds 512 entries. */
    private static final long PAGE_BYTES = 4096;

    private final Path path;
    private final FileChannel channel;
    private final long blockCount;
    private final int blockSize;
    private final long zeroFingerprint;
    private final MappedByteBuffer header;
    private final MappedByteBuffer[] chunks;
    private final LongBuffer[] longs;
    private final HoleProbe holes;

    private FingerprintTable(
        final Path path, final FileChannel channel, final long blockCount, final int blockSize) throws IOException
    {
        this.path = path;
        this.channel = channel;
        this.blockCount = blockCount;
        this.blockSize = blockSize;
        this.zeroFingerprint = Checksums.zeroBlockFingerprint(blockSize);
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
        this.holes = HoleProbe.open(path);
    }

    /**
     * Opens the table at {@code path}, creating it (every block the all-zero fingerprint: a sparse
     * file, nothing written) if absent or if its creation was cut short (no magic: nothing was ever
     * recorded in it); a version 1 table is upgraded first.
     *
     * @throws IOException if an existing table is for another block size or block count.
     */
    public static FingerprintTable openOrCreate(final Path path, final long blockCount, final int blockSize)
        throws IOException
    {
        Files.deleteIfExists(upgradePath(path));
        final int magic = Files.exists(path) ? readMagic(path) : 0;
        if (Files.exists(path) && magic != MAGIC && magic != MAGIC_V1)
        {
            // A process killed while creating the table (the magic is written last, after the rest is
            // forced) left it unusable; refusing it would keep the owner from ever starting again.
            Files.delete(path);
        }
        final long length = HEADER_LENGTH + blockCount * 8;
        if (magic == MAGIC_V1)
        {
            upgrade(path, length, blockSize);
        }
        final boolean exists = Files.exists(path);
        Files.createDirectories(path.toAbsolutePath().getParent());
        final FileChannel channel = FileChannel.open(
            path, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        try
        {
            if (exists)
            {
                if (channel.size() != length)
                {
                    throw new IOException("fingerprint table " + path + " has " + channel.size() +
                        " bytes, expected " + length + " for " + blockCount + " blocks");
                }
            }
            else
            {
                extend(channel, length);
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

    /** A sparse file of {@code length} bytes: one zero byte written at its end. */
    private static void extend(final FileChannel channel, final long length) throws IOException
    {
        final ByteBuffer zero = ByteBuffer.allocate(1);
        while (zero.hasRemaining())
        {
            channel.write(zero, length - 1);
        }
    }

    private static Path upgradePath(final Path path)
    {
        return path.resolveSibling(path.getFileName() + UPGRADE_SUFFIX);
    }

    private static int readMagic(final Path path) throws IOException
    {
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ))
        {
            final ByteBuffer magic = ByteBuffer.allocate(Integer.BYTES).order(ByteOrder.LITTLE_ENDIAN);
            while (magic.hasRemaining())
            {
                if (channel.read(magic, magic.position()) < 0)
                {
                    return 0;
                }
            }
            return magic.getInt(0);
        }
    }

    /**
     * Version 1 to 2: the entries swapped into their stored form, written to a sparse copy (chunks
     * that come out all zero are left as holes), forced, then renamed over the old table. The
     * header's geometry is checked by the open that follows.
     */
    private static void upgrade(final Path path, final long length, final int blockSize) throws IOException
    {
        final long zero = Checksums.zeroBlockFingerprint(blockSize);
        final Path copy = upgradePath(path);
        try (FileChannel in = FileChannel.open(path, StandardOpenOption.READ);
             FileChannel out = FileChannel.open(copy, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
                 StandardOpenOption.WRITE))
        {
            if (in.size() != length)
            {
                throw new IOException("fingerprint table " + path + " has " + in.size() + " bytes, expected " +
                    length);
            }
            extend(out, length);
            final ByteBuffer buffer = ByteBuffer.allocate(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
            for (long position = HEADER_LENGTH; position < length; position += buffer.limit())
            {
                buffer.clear().limit((int)Math.min(buffer.capacity(), length - position));
                readFully(in, buffer, position);
                // Page by page (a page of the file, as the header is 8-byte aligned; a partial one at
                // the ends): a page that comes out all zero stays a hole.
                int pageStart = 0;
                while (pageStart < buffer.limit())
                {
                    final int pageEnd = (int)Math.min(buffer.limit(),
                        ((position + pageStart) / PAGE_BYTES + 1) * PAGE_BYTES - position);
                    boolean allZero = true;
                    for (int i = pageStart; i < pageEnd; i += Long.BYTES)
                    {
                        final long stored = toStored(buffer.getLong(i), zero);
                        buffer.putLong(i, stored);
                        allZero &= stored == 0;
                    }
                    if (!allZero)
                    {
                        writeFully(out, buffer.limit(pageEnd).position(pageStart).slice(), position + pageStart);
                        buffer.limit((int)Math.min(buffer.capacity(), length - position));
                    }
                    pageStart = pageEnd;
                }
            }
            final ByteBuffer header = ByteBuffer.allocate(HEADER_LENGTH).order(ByteOrder.LITTLE_ENDIAN);
            readFully(in, header, 0);
            header.putInt(0, MAGIC);
            writeFully(out, header.position(0), 0);
            out.force(true);
        }
        Files.move(copy, path, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        try (FileChannel dir = FileChannel.open(path.toAbsolutePath().getParent(), StandardOpenOption.READ))
        {
            dir.force(true);
        }
    }

    private static void readFully(final FileChannel channel, final ByteBuffer dst, final long position)
        throws IOException
    {
        while (dst.hasRemaining())
        {
            if (channel.read(dst, position + dst.position()) < 0)
            {
                throw new IOException("unexpected end of fingerprint table");
            }
        }
    }

    private static void writeFully(final FileChannel channel, final ByteBuffer src, final long position)
        throws IOException
    {
        while (src.hasRemaining())
        {
            channel.write(src, position + src.position());
        }
    }

    private static long toStored(final long fingerprint, final long zero)
    {
        return fingerprint == zero ? 0 : fingerprint == 0 ? zero : fingerprint;
    }

    private void checkHeader() throws IOException
    {
        if (header.getInt(0) != MAGIC || header.getInt(4) != blockSize || header.getLong(8) != blockCount)
        {
            throw new IOException("fingerprint table " + path + " is not for " + blockCount + " blocks of " +
                blockSize + " bytes");
        }
    }

    private void initialise()
    {
        header.putInt(4, blockSize);
        header.putLong(8, blockCount);
        header.force();
        // The magic last: a table torn during creation has none, and openOrCreate makes it again.
        header.putInt(0, MAGIC);
        header.force();
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
        // The swap is its own inverse.
        return toStored(stored(blockIndex), zeroFingerprint);
    }

    public void set(final long blockIndex, final long fingerprint)
    {
        longs[(int)(blockIndex / BLOCKS_PER_CHUNK)].put((int)(blockIndex % BLOCKS_PER_CHUNK),
            toStored(fingerprint, zeroFingerprint));
    }

    /**
     * Whether every block in {@code [fromBlock, toBlock)} has the all-zero fingerprint. Reads only
     * the parts of the table file that hold data: a hole of the table is all zeros by definition, and
     * its pages are neither read nor brought into memory.
     */
    public boolean isAllZero(final long fromBlock, final long toBlock)
    {
        final long end = HEADER_LENGTH + toBlock * 8;
        long position = HEADER_LENGTH + fromBlock * 8;
        while (position < end)
        {
            final long data = holes.nextData(position);
            if (data >= end)
            {
                return true;
            }
            // From the first data byte to the end of its page: whole entries, never a page more.
            final long pageEnd = Math.min(end, (Math.max(data, position) | (PAGE_BYTES - 1)) + 1);
            for (long b = (Math.max(data, position) - HEADER_LENGTH) / 8; b < (pageEnd - HEADER_LENGTH + 7) / 8; b++)
            {
                if (b >= fromBlock && b < toBlock && stored(b) != 0)
                {
                    return false;
                }
            }
            position = pageEnd;
        }
        return true;
    }

    /**
     * Entries {@code [firstBlock, firstBlock + count)} into {@code dst[0..count)}, reading only the
     * table file's data pages: a hole's entries are the zero block's fingerprint without a read, so
     * answering for a big sparse volume does not bring its whole table into memory.
     */
    public void get(final long firstBlock, final long[] dst, final int count)
    {
        final long end = firstBlock + count;
        long b = firstBlock;
        while (b < end)
        {
            final long data = holes.nextData(HEADER_LENGTH + b * 8);
            final long dataBlock = data == Long.MAX_VALUE ? end : Math.min(end, Math.max(b, (data - HEADER_LENGTH) / 8));
            for (; b < dataBlock; b++)
            {
                dst[(int)(b - firstBlock)] = zeroFingerprint;
            }
            if (b == end)
            {
                break;
            }
            final long pageEndBlock = Math.min(end, (((HEADER_LENGTH + b * 8) | (PAGE_BYTES - 1)) + 1 - HEADER_LENGTH) / 8);
            for (; b < pageEndBlock; b++)
            {
                dst[(int)(b - firstBlock)] = get(b);
            }
        }
    }

    private long stored(final long blockIndex)
    {
        return longs[(int)(blockIndex / BLOCKS_PER_CHUNK)].get((int)(blockIndex % BLOCKS_PER_CHUNK));
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
        holes.close();
        channel.close();
    }
}
