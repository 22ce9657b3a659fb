package dev.replicator.target.image;

import dev.replicator.core.volume.VolumeSpec;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

/** Byte-exact comparisons of produced volumes with expected content, naming the first bad block. */
final class ImageAssertions
{
    private ImageAssertions()
    {
    }

    static void assertSameContent(final byte[] actual, final byte[] expected, final VolumeSpec spec, final String what)
    {
        assertThat(actual.length).as(what + ": length").isEqualTo(expected.length);
        if (!sha256(actual).equals(sha256(expected)))
        {
            final int blockSize = spec.blockSize();
            for (int b = 0; b < expected.length / blockSize; b++)
            {
                if (!java.util.Arrays.equals(actual, b * blockSize, (b + 1) * blockSize,
                    expected, b * blockSize, (b + 1) * blockSize))
                {
                    fail(what + ": first differing block is " + b + " of volume '" + spec.name() + "'");
                }
            }
        }
    }

    /** Materializes a volume of the view into a new file under {@code dir} and compares it. */
    static void assertMaterializes(
        final ImageView view, final int volumeIndex, final byte[] expected, final Path dir, final String what)
        throws IOException
    {
        final VolumeSpec spec = view.volumes().get(volumeIndex);
        final Path out = Files.createTempDirectory(dir, "image").resolve(spec.name() + ".img");
        view.materialize(volumeIndex, out, null);
        try
        {
            assertSameContent(Files.readAllBytes(out), expected, spec, what);
        }
        finally
        {
            Files.delete(out);
            Files.delete(out.getParent());
        }
    }

    static String sha256(final byte[] bytes)
    {
        try
        {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        }
        catch (final NoSuchAlgorithmException ex)
        {
            throw new IllegalStateException(ex);
        }
    }
}
