package dev.replicator.core.journal;

import dev.replicator.core.io.AtomicFiles;

import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import java.util.UUID;

/**
 * Reads and atomically replaces {@code journal.meta}, a small text file an admin can read:
 *
 * <pre>
 * # replicator journal metadata
 * version=1
 * journalId=2f1c...-...   (UUID)
 * baseSeq=0               (decimal; seq before the first entry)
 * </pre>
 *
 * Replaced with {@link AtomicFiles} (temp file, fsync, rename, fsync directory), so after a crash it
 * is the old file or the new one.
 */
final class JournalMetaFile
{
    static final String FILE_NAME = "journal.meta";
    static final int VERSION = 1;

    private static final String VERSION_KEY = "version";
    private static final String JOURNAL_ID_KEY = "journalId";
    private static final String BASE_SEQ_KEY = "baseSeq";

    private JournalMetaFile()
    {
    }

    static void write(final Path file, final JournalMeta meta) throws IOException
    {
        AtomicFiles.writeString(file,
            "# replicator journal metadata\n" +
            VERSION_KEY + '=' + VERSION + '\n' +
            JOURNAL_ID_KEY + '=' + meta.journalId() + '\n' +
            BASE_SEQ_KEY + '=' + meta.baseSeq() + '\n');
    }

    /** @throws JournalException if the file is not a journal metadata file of a known version. */
    static JournalMeta read(final Path file) throws IOException
    {
        final Properties properties = new Properties();
        properties.load(new StringReader(Files.readString(file, StandardCharsets.UTF_8)));
        final String version = properties.getProperty(VERSION_KEY);
        if (!Integer.toString(VERSION).equals(version))
        {
            throw new JournalException("journal metadata " + file + " has version " + version +
                ", this build reads version " + VERSION);
        }
        final String journalId = properties.getProperty(JOURNAL_ID_KEY);
        final String baseSeq = properties.getProperty(BASE_SEQ_KEY);
        try
        {
            return new JournalMeta(UUID.fromString(journalId).toString(), Long.parseLong(baseSeq));
        }
        catch (final RuntimeException ex)
        {
            throw new JournalException("journal metadata " + file + " is damaged (journalId=" + journalId +
                ", baseSeq=" + baseSeq + ")", ex);
        }
    }
}
