package dev.replicator.cli;

import org.junit.jupiter.api.extension.AnnotatedElementContext;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.io.TempDirFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * {@code @TempDir(factory = RamDiskTempDir.class)}: a temporary directory on {@code /dev/shm} when
 * the host has one, else the usual one. For soak tests of the transport: the target fsyncs three
 * times per frame, which on a virtual disk (~2.5 ms each) would make the disk, not the network
 * faults, what a 10^4-frame run measures.
 */
final class RamDiskTempDir implements TempDirFactory
{
    private static final Path RAM_DISK = Path.of("/dev/shm");

    @Override
    public Path createTempDirectory(
        final AnnotatedElementContext elementContext, final ExtensionContext extensionContext) throws IOException
    {
        final String prefix = "replicator-" + extensionContext.getRequiredTestClass().getSimpleName() + "-";
        if (Files.isDirectory(RAM_DISK) && Files.isWritable(RAM_DISK))
        {
            return Files.createTempDirectory(RAM_DISK, prefix);
        }
        return Files.createTempDirectory(prefix);
    }
}
