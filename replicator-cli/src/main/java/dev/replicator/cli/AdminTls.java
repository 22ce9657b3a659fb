package dev.replicator.cli;

import dev.replicator.core.config.ConfigException;
import dev.replicator.core.security.TlsProvider;
import dev.replicator.core.security.TlsSettings;
import dev.replicator.core.security.Transport;

import java.io.IOException;
import java.nio.file.Path;

/**
 * How an admin command reaches the target: with the admin certificate in {@code --tls-dir} (or
 * $REPLICATOR_TLS_DIR), or in plaintext with {@code --insecure} (or REPLICATOR_INSECURE=1 when no
 * directory is given), which it warns about on stderr at every command run from a terminal. Scripts
 * (no console) are spared the line: their stderr is often parsed, and the daemons at both ends
 * already log the warning at every start.
 */
final class AdminTls
{
    static final String TLS_DIR_ENV = "REPLICATOR_TLS_DIR";

    private AdminTls()
    {
    }

    static Transport transport(final Path tlsDir, final boolean insecureFlag) throws CliException
    {
        Path dir = tlsDir;
        if (dir == null && System.getenv(TLS_DIR_ENV) != null && !System.getenv(TLS_DIR_ENV).isEmpty())
        {
            dir = Path.of(System.getenv(TLS_DIR_ENV));
        }
        final TlsSettings configured = dir == null ? TlsSettings.unset() : TlsSettings.fromDir(dir, TlsProvider.DEFAULT);
        final Transport transport;
        try
        {
            transport = Transport.of(configured.resolve(insecureFlag, TlsSettings.insecureEnv(),
                "--tls-dir or " + TLS_DIR_ENV));
        }
        catch (final ConfigException ex)
        {
            throw new CliException(2, ex.getMessage());
        }
        catch (final IOException ex)
        {
            throw new CliException(2, "admin TLS: " + ex.getMessage());
        }
        if (!transport.secure() && System.console() != null)
        {
            System.err.println("replicator: WARNING: plaintext admin connection (--insecure): no encryption, " +
                "no authentication");
        }
        return transport;
    }
}
