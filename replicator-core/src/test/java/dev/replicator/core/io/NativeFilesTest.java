package dev.replicator.core.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class NativeFilesTest
{
    @TempDir
    Path dir;

    @Test
    void theNativeCallsLoadOnLinux()
    {
        // The fallbacks are exact but slow: on the Linux this product ships for, losing them must fail here.
        assertThat(NativeFiles.available()).as("JNA syncfs/lseek on " + System.getProperty("os.name")).isTrue();
    }

    @Test
    void dataSeekerSkipsHolesAndSaysWhereDataEnds() throws IOException
    {
        final Path sparse = dir.resolve("sparse");
        try (RandomAccessFile file = new RandomAccessFile(sparse.toFile(), "rw"))
        {
            file.setLength(32L << 20);
            file.seek(1L << 20);
            file.write(new byte[] {1, 2, 3});
            file.seek(8L << 20);
            file.write(7);
        }
        try (NativeFiles.DataSeeker seeker = NativeFiles.dataSeeker(sparse))
        {
            assertThat(seeker.nextData(0)).isEqualTo(1L << 20);
            assertThat(seeker.nextData(1L << 20)).isEqualTo(1L << 20);
            assertThat(seeker.nextData(2L << 20)).isEqualTo(8L << 20);
            assertThat(seeker.nextData(9L << 20)).isEqualTo(NativeFiles.DataSeeker.NO_MORE_DATA);
        }
    }

    @Test
    void syncFileSystemSucceedsOnADirectoryAndExplainsAMissingPath() throws IOException
    {
        Files.writeString(dir.resolve("f"), "durable");
        NativeFiles.syncFileSystem(dir);
        assertThatThrownBy(() -> NativeFiles.syncFileSystem(dir.resolve("missing")))
            .isInstanceOf(IOException.class).hasMessageContaining("missing").hasMessageContaining("errno 2");
    }
}
