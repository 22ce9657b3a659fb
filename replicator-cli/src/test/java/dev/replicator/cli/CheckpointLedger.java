package dev.replicator.cli;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import static dev.replicator.cli.LoopbackCluster.GROUP;

/**
 * What the crash matrix holds the product to: every checkpoint that {@code replicator checkpoint}
 * reported (it answers only once the target made it durable), and every failback checkpoint, with the
 * sha256 of the source volume at that moment. The test is the only writer of the source, so the
 * volume is stable while it checkpoints and its hash then is the image's hash.
 *
 * <p>A copy of the source is kept for the newest {@value #COPIES_KEPT} checkpoints (all of them would
 * cost gigabytes at soak length), so that a mismatch can say which blocks differ.
 *
 * <p>Not thread-safe: the test thread owns it.
 */
final class CheckpointLedger
{
    static final int COPIES_KEPT = 8;

    /** One promised image: its id, the hash of its content, a copy (while kept) and where it came from. */
    record Entry(String image, String sha256, Path copy, String origin)
    {
    }

    private final LoopbackCluster cluster;
    private final Path copies;
    private final Path exports;
    private final Map<String, Entry> entries = new LinkedHashMap<>();
    private final ArrayDeque<Path> keptCopies = new ArrayDeque<>();
    private final Set<String> verified = new HashSet<>();
    private int exportCount;

    CheckpointLedger(final LoopbackCluster cluster) throws IOException
    {
        this.cluster = cluster;
        this.copies = Files.createDirectories(cluster.dir.resolve("ledger-copies"));
        this.exports = Files.createDirectories(cluster.dir.resolve("ledger-exports"));
    }

    /** A reported checkpoint of {@code source} (unchanged since it was taken). */
    void record(final String image, final Path source, final String origin) throws IOException
    {
        final Path copy = copies.resolve(image.replace('@', '-') + ".img");
        Files.copy(source, copy, StandardCopyOption.REPLACE_EXISTING);
        keptCopies.addLast(copy);
        while (keptCopies.size() > COPIES_KEPT)
        {
            final Path dropped = keptCopies.removeFirst();
            Files.deleteIfExists(dropped);
        }
        put(new Entry(image, sha256(copy), copy, origin));
    }

    /** An image whose content is known by its hash only (a failback checkpoint: the recovery volume). */
    void recordHash(final String image, final String sha256, final String origin)
    {
        put(new Entry(image, sha256, null, origin));
    }

    private void put(final Entry entry)
    {
        final Entry previous = entries.get(entry.image());
        if (previous != null && !previous.sha256().equals(entry.sha256()))
        {
            throw new AssertionError("image " + entry.image() + " was reported twice with different sources: " +
                previous.origin() + " and " + entry.origin());
        }
        entries.put(entry.image(), entry);
        verified.remove(entry.image());
    }

    String sha256Of(final String image)
    {
        final Entry entry = entries.get(image);
        if (entry == null)
        {
            throw new AssertionError("no image " + image + " in the ledger");
        }
        return entry.sha256();
    }

    List<String> images()
    {
        return new ArrayList<>(entries.keySet());
    }

    int size()
    {
        return entries.size();
    }

    /**
     * Every promised image is still listed; images not checked since they were promised, and
     * {@code olderSamples} random older ones, are exported and must hash as the source did.
     */
    void verify(final Random random, final int olderSamples) throws IOException
    {
        final Set<String> listed = listed();
        final List<String> older = new ArrayList<>();
        for (final Entry entry : entries.values())
        {
            if (!listed.contains(entry.image()))
            {
                throw new AssertionError("image " + entry.image() + " (" + entry.origin() + ") was promised but " +
                    "is no longer listed by 'images list'; listed: " + listed);
            }
            if (verified.contains(entry.image()))
            {
                older.add(entry.image());
            }
            else
            {
                verifyExport(entry);
            }
        }
        for (int i = 0; i < olderSamples && !older.isEmpty(); i++)
        {
            verifyExport(entries.get(older.remove(random.nextInt(older.size()))));
        }
    }

    /** Exports every promised image and compares it with the source. */
    void verifyAll() throws IOException
    {
        final Set<String> listed = listed();
        for (final Entry entry : entries.values())
        {
            if (!listed.contains(entry.image()))
            {
                throw new AssertionError("image " + entry.image() + " (" + entry.origin() + ") was promised but " +
                    "is no longer listed by 'images list'; listed: " + listed);
            }
            verifyExport(entry);
        }
    }

    private Set<String> listed() throws IOException
    {
        final Set<String> ids = new HashSet<>();
        for (final JsonNode image : cluster.json("images", "list", "--group", GROUP, "--json"))
        {
            ids.add(image.get("id").asText());
        }
        return ids;
    }

    private void verifyExport(final Entry entry) throws IOException
    {
        final Path out = exports.resolve("export-" + (++exportCount) + ".img");
        final Cli.Result export = cluster.admin("images", "export", "--image", entry.image(), "--to", out.toString());
        if (export.exitCode() != 0)
        {
            throw new AssertionError("export of promised image " + entry.image() + " (" + entry.origin() +
                ") failed with exit code " + export.exitCode() + ": " + export.err());
        }
        final String actual = sha256(out);
        if (!actual.equals(entry.sha256()))
        {
            final String detail = entry.copy() != null && Files.exists(entry.copy()) ?
                "; blocks differing from the source copy " + entry.copy() + ": " + differingBlocks(entry.copy(), out) :
                "";
            // Keep the export for the post-mortem; the temp dir is kept on failure.
            throw new AssertionError("image " + entry.image() + " (" + entry.origin() + ") exported to " + out +
                " has sha256 " + actual + ", the source had " + entry.sha256() + detail);
        }
        Files.delete(out);
        verified.add(entry.image());
    }

    /** Up to 20 block indexes where two equally long files differ, and how many in all. */
    static String differingBlocks(final Path a, final Path b) throws IOException
    {
        final int block = LoopbackCluster.BLOCK;
        final List<Long> first = new ArrayList<>();
        long count = 0;
        try (FileChannel x = FileChannel.open(a, StandardOpenOption.READ);
             FileChannel y = FileChannel.open(b, StandardOpenOption.READ))
        {
            if (x.size() != y.size())
            {
                return "sizes differ (" + x.size() + " and " + y.size() + " bytes)";
            }
            final ByteBuffer bx = ByteBuffer.allocate(block);
            final ByteBuffer by = ByteBuffer.allocate(block);
            for (long index = 0; index * block < x.size(); index++)
            {
                bx.clear();
                by.clear();
                readFully(x, bx, index * block);
                readFully(y, by, index * block);
                if (!bx.flip().equals(by.flip()))
                {
                    count++;
                    if (first.size() < 20)
                    {
                        first.add(index);
                    }
                }
            }
        }
        return count + " blocks, first " + first;
    }

    private static void readFully(final FileChannel channel, final ByteBuffer buffer, final long position)
        throws IOException
    {
        long at = position;
        while (buffer.hasRemaining())
        {
            final int n = channel.read(buffer, at);
            if (n < 0)
            {
                break;
            }
            at += n;
        }
    }

    /** sha256 of a file, streamed (volumes here are up to 128 MiB). */
    static String sha256(final Path file) throws IOException
    {
        final MessageDigest digest;
        try
        {
            digest = MessageDigest.getInstance("SHA-256");
        }
        catch (final NoSuchAlgorithmException ex)
        {
            throw new IllegalStateException(ex);
        }
        final ByteBuffer buffer = ByteBuffer.allocateDirect(1 << 20);
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ))
        {
            while (channel.read(buffer.clear()) >= 0)
            {
                digest.update(buffer.flip());
            }
        }
        return HexFormat.of().formatHex(digest.digest());
    }
}
