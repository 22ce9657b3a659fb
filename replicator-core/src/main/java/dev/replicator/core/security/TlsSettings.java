package dev.replicator.core.security;

import dev.replicator.core.config.ConfigException;
import dev.replicator.core.config.ConfigFile;

import java.nio.file.Path;

/**
 * Where a node's TLS material is, as its config file says, or that it runs in plaintext.
 *
 * <pre>
 * tls.dir = /etc/replicator/tls      # node.key, node.crt, ca.crt, crl.pem (optional) as 'certs issue' writes them
 * tls.cert = FILE                    # or each file explicitly (each overrides tls.dir's)
 * tls.key = FILE
 * tls.ca = FILE                      # one or more CA certificates (several during a CA rotation)
 * tls.crl = FILE                     # the deny list; re-read when it changes
 * tls.provider = jdk                 # jdk | bc
 * </pre>
 *
 * @param mode     {@link Mode#UNSET} when the file says nothing about TLS: the command line decides.
 */
public record TlsSettings(Mode mode, Path cert, Path key, Path ca, Path crl, TlsProvider provider)
{
    public static final String KEY_FILE = "node.key";
    public static final String CERT_FILE = "node.crt";
    public static final String CA_FILE = "ca.crt";
    public static final String CRL_FILE = CertificateAuthority.CRL_FILE;

    /** What a node was told about transport security. */
    public enum Mode
    {
        /** Nothing configured: refused at start unless {@code --insecure} or REPLICATOR_INSECURE=1. */
        UNSET,
        /** Plaintext, no identities, no authorization: labs only, warned at every start. */
        INSECURE,
        /** Mutual TLS 1.3. */
        TLS
    }

    public static TlsSettings unset()
    {
        return new TlsSettings(Mode.UNSET, null, null, null, null, TlsProvider.DEFAULT);
    }

    public static TlsSettings insecure()
    {
        return new TlsSettings(Mode.INSECURE, null, null, null, null, TlsProvider.DEFAULT);
    }

    /** The files of a directory written by {@code replicator certs issue}; the deny list only if present. */
    public static TlsSettings fromDir(final Path dir, final TlsProvider provider)
    {
        final Path crl = dir.resolve(CRL_FILE);
        return new TlsSettings(Mode.TLS, dir.resolve(CERT_FILE), dir.resolve(KEY_FILE), dir.resolve(CA_FILE),
            java.nio.file.Files.exists(crl) ? crl : null, provider);
    }

    /** Reads the {@code tls.*} keys of a config file; relative paths are relative to {@code base}. */
    public static TlsSettings read(final ConfigFile config, final Path base)
    {
        final TlsProvider provider;
        try
        {
            provider = TlsProvider.parse(config.string("tls.provider", TlsProvider.DEFAULT.name().toLowerCase(
                java.util.Locale.ROOT)));
        }
        catch (final IllegalArgumentException ex)
        {
            throw config.error("tls.provider", ex.getMessage());
        }
        final Path dir = config.path("tls.dir", null);
        final Path cert = config.path("tls.cert", null);
        final Path key = config.path("tls.key", null);
        final Path ca = config.path("tls.ca", null);
        final Path crl = config.path("tls.crl", null);
        if (dir == null && cert == null && key == null && ca == null)
        {
            if (crl != null)
            {
                throw config.error("tls.crl", "a deny list without TLS material (set tls.dir, or tls.cert, " +
                    "tls.key and tls.ca)");
            }
            return new TlsSettings(Mode.UNSET, null, null, null, null, provider);
        }
        final TlsSettings fromDir = dir == null ? null : fromDir(base.resolve(dir), provider);
        final Path certFile = pick(config, "tls.cert", cert, fromDir == null ? null : fromDir.cert(), base);
        final Path keyFile = pick(config, "tls.key", key, fromDir == null ? null : fromDir.key(), base);
        final Path caFile = pick(config, "tls.ca", ca, fromDir == null ? null : fromDir.ca(), base);
        final Path crlFile = crl != null ? base.resolve(crl) : fromDir == null ? null : fromDir.crl();
        return new TlsSettings(Mode.TLS, certFile, keyFile, caFile, crlFile, provider);
    }

    private static Path pick(
        final ConfigFile config, final String key, final Path explicit, final Path fromDir, final Path base)
    {
        if (explicit != null)
        {
            return base.resolve(explicit);
        }
        if (fromDir == null)
        {
            throw config.error(key, "missing: set tls.dir, or all of tls.cert, tls.key and tls.ca");
        }
        return fromDir;
    }

    /**
     * Settles UNSET with what the command line says. Precedence: {@code --insecure} given, then TLS
     * material configured, then REPLICATOR_INSECURE=1 (so one variable can let a lab or a test
     * harness run plaintext without overriding a node that has certificates).
     *
     * @param where says what to configure, for the message (e.g. "tls.dir in agent.conf").
     * @throws ConfigException if nothing allows plaintext and there is no material.
     */
    public TlsSettings resolve(final boolean insecureFlag, final boolean insecureEnv, final String where)
    {
        if (insecureFlag)
        {
            return insecure();
        }
        if (mode != Mode.UNSET)
        {
            return this;
        }
        if (insecureEnv)
        {
            return insecure();
        }
        throw new ConfigException("no TLS certificate configured (set " + where + " to a directory made by " +
            "'replicator certs issue'), and plaintext needs --insecure or REPLICATOR_INSECURE=1");
    }

    /** True if the environment variable REPLICATOR_INSECURE is 1 (or true/yes). */
    public static boolean insecureEnv()
    {
        final String value = System.getenv("REPLICATOR_INSECURE");
        return value != null && (value.equals("1") || value.equalsIgnoreCase("true") || value.equalsIgnoreCase("yes"));
    }
}
