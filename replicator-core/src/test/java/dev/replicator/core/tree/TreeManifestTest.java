package dev.replicator.core.tree;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

class TreeManifestTest
{
    private static final int BLOCK = 4096;

    @TempDir
    Path dir;

    @Test
    void refreshRereadsAWrittenFileWhoseMtimeWasPutBackEvenAfterAMove() throws IOException
    {
        final Path root = Files.createDirectories(dir.resolve("t"));
        final Path file = root.resolve("a.bin");
        Files.write(file, randomBytes(8 * BLOCK, 1));
        final TreeIndex before = TreeManifest.take(root, BLOCK);
        final FileTime mtime = Files.getLastModifiedTime(file);
        overwrite(file, 3 * BLOCK, randomBytes(BLOCK, 2));
        Files.setLastModifiedTime(file, mtime);
        Files.move(file, root.resolve("b.bin"));

        final TreeIndex trusted = TreeManifest.refresh(root, before, Set.of());
        final TreeIndex reread = TreeManifest.refresh(root, before, Set.of("b.bin"));

        assertThat(TreeManifest.compare(trusted, TreeManifest.take(root, BLOCK), 5).count())
            .as("size and mtime unchanged: the quick check trusts the old fingerprints").isEqualTo(1);
        assertThat(TreeManifest.compare(reread, TreeManifest.take(root, BLOCK), 5).isEmpty()).isTrue();
        assertThat(before.get("a.bin")).as("refresh leaves its input alone").isNotNull();
    }

    @Test
    void aScanFromAnotherCopysManifestSendsOnlyTheDifferingBlocksAndMovesByLocalIdentity() throws IOException
    {
        final Path local = Files.createDirectories(dir.resolve("local"));
        final Path other = Files.createDirectories(dir.resolve("other"));
        final byte[] content = randomBytes(16 * BLOCK, 3);
        for (final Path root : List.of(local, other))
        {
            Files.write(root.resolve("big.bin"), content);
            Files.write(root.resolve("move.bin"), content);
            Files.setLastModifiedTime(root.resolve("big.bin"), FileTime.fromMillis(1_000_000));
            Files.setLastModifiedTime(root.resolve("move.bin"), FileTime.fromMillis(1_000_000));
        }
        final TreeIndex localAtFailover = TreeManifest.take(local, BLOCK);
        // Both sides change one different block of big.bin to the same size and mtime: only fingerprints tell.
        overwrite(local.resolve("big.bin"), 2 * BLOCK, randomBytes(BLOCK, 4));
        overwrite(other.resolve("big.bin"), 9 * BLOCK, randomBytes(BLOCK, 5));
        Files.setLastModifiedTime(local.resolve("big.bin"), FileTime.fromMillis(2_000_000));
        Files.setLastModifiedTime(other.resolve("big.bin"), FileTime.fromMillis(2_000_000));
        Files.move(local.resolve("move.bin"), local.resolve("moved.bin"));

        final TreeIndex source = TreeManifest.withLocalIdentities(TreeManifest.take(other, BLOCK), localAtFailover);
        TreeManifest.readWhereContentDiffers(source, TreeManifest.refresh(local, localAtFailover, Set.of()));
        final List<TreeOp> ops = new ArrayList<>();
        new TreeScanner(TreeScanner.DEFAULT_MAX_WRITE_BYTES).scan(local, source, ops::add);

        long data = 0;
        final List<Long> offsets = new ArrayList<>();
        for (final TreeOp op : ops)
        {
            data += op.data().length;
            if (op.kind() == TreeOp.Kind.WRITE)
            {
                offsets.add(op.offset());
            }
        }
        assertThat(offsets).as(ops.toString()).containsExactlyInAnyOrder(2L * BLOCK, 9L * BLOCK);
        assertThat(data).isEqualTo(2L * BLOCK);
        assertThat(ops).as("the move is a rename, no data").anyMatch(op -> op.kind() == TreeOp.Kind.RENAME &&
            op.other().equals("moved.bin"));
    }

    @Test
    void aFileTheOtherCopyMovedIsMovedBackWithoutData() throws IOException
    {
        final Path local = Files.createDirectories(dir.resolve("local"));
        final Path other = Files.createDirectories(dir.resolve("other"));
        for (final Path root : List.of(local, other))
        {
            Files.write(root.resolve("a.bin"), randomBytes(5 * BLOCK, 6));
            Files.setLastModifiedTime(root.resolve("a.bin"), FileTime.fromMillis(1_000_000));
        }
        Files.createDirectories(other.resolve("sub"));
        Files.move(other.resolve("a.bin"), other.resolve("sub/b.bin"));

        final TreeIndex source = TreeManifest.withLocalIdentities(TreeManifest.take(other, BLOCK),
            TreeManifest.take(local, BLOCK));
        final List<TreeOp> ops = new ArrayList<>();
        new TreeScanner(TreeScanner.DEFAULT_MAX_WRITE_BYTES).scan(local, source, ops::add);

        assertThat(ops).as(ops.toString()).noneMatch(op -> op.kind() == TreeOp.Kind.WRITE || op.kind() == TreeOp.Kind.CREATE);
        assertThat(ops).anyMatch(op -> op.kind() == TreeOp.Kind.RENAME && op.other().equals("a.bin"));
        assertThat(ops).anyMatch(op -> op.kind() == TreeOp.Kind.DELETE && op.path().equals("sub"));
    }

    private static void overwrite(final Path file, final long at, final byte[] bytes) throws IOException
    {
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw"))
        {
            raf.seek(at);
            raf.write(bytes);
        }
    }

    private static byte[] randomBytes(final int length, final long seed)
    {
        final byte[] bytes = new byte[length];
        new Random(seed).nextBytes(bytes);
        return bytes;
    }
}
