package dev.replicator.cli;

import dev.replicator.core.security.CertificateAuthority;
import dev.replicator.core.security.PeerIdentity;
import dev.replicator.core.security.PemFiles;
import dev.replicator.core.security.Role;
import dev.replicator.core.volume.VolumeSpec;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.concurrent.Callable;

/**
 * {@code replicator certs}: the deployment's CA and the certificates of its nodes (docs/SECURITY.md).
 * Keys never leave the directory they are made in; private keys are written 0600.
 */
@Command(name = "certs", description = "Make the CA, issue and revoke node certificates (mutual TLS).",
    subcommands = {CertsCommand.Init.class, CertsCommand.Issue.class, CertsCommand.Revoke.class,
        CertsCommand.Show.class})
final class CertsCommand
{
    static final String CA_DIR_ENV = "REPLICATOR_CA_DIR";

    /** The CA directory: --dir, else $REPLICATOR_CA_DIR, else ./replicator-ca. */
    static final class CaDir
    {
        @Option(names = "--dir", paramLabel = "DIR",
            description = "the CA directory (default: $REPLICATOR_CA_DIR, else ./replicator-ca)")
        Path dir;

        Path resolve()
        {
            if (dir != null)
            {
                return dir;
            }
            final String env = System.getenv(CA_DIR_ENV);
            return Path.of(env == null || env.isEmpty() ? "replicator-ca" : env);
        }
    }

    @Command(name = "init", description = "Make a new CA: ca.key (0600) and ca.crt in DIR.")
    static final class Init implements Callable<Integer>
    {
        @picocli.CommandLine.Mixin
        CaDir caDir = new CaDir();

        @Option(names = "--name", paramLabel = "NAME", defaultValue = "replicator-ca",
            description = "the CA's common name (default: replicator-ca)")
        String name;

        @Option(names = "--days", paramLabel = "N", defaultValue = "3650", description = "validity (default: 3650)")
        int days;

        @Override
        public Integer call() throws Exception
        {
            final Path dir = caDir.resolve();
            checkDays(days);
            try
            {
                final CertificateAuthority ca = CertificateAuthority.init(dir, name, Instant.now().plus(
                    Duration.ofDays(days)));
                System.out.printf("CA '%s' made in %s (valid until %s): keep ca.key offline; give ca.crt to " +
                    "every node%n", name, dir, ca.certificate().getNotAfter().toInstant());
            }
            catch (final FileAlreadyExistsException ex)
            {
                throw new CliException(2, dir + " already holds a CA (ca.key); to rotate the CA make a new one in " +
                    "another directory (docs/SECURITY.md)");
            }
            return 0;
        }
    }

    @Command(name = "issue", description = "Issue a key and certificate for an agent, a target or an admin.")
    static final class Issue implements Callable<Integer>
    {
        @picocli.CommandLine.Mixin
        CaDir caDir = new CaDir();

        @ArgGroup(exclusive = true, multiplicity = "1")
        Who who;

        static final class Who
        {
            @Option(names = "--agent", paramLabel = "NAME", description = "an agent (its agent.name)")
            String agent;

            @Option(names = "--target", paramLabel = "NAME", description = "a target")
            String target;

            @Option(names = "--admin", paramLabel = "NAME", description = "an admin (runs admin commands)")
            String admin;
        }

        @Option(names = "--groups", paramLabel = "G1,G2", split = ",",
            description = "agents only: the groups it may ship and receive failback for")
        Set<String> groups;

        @Option(names = "--out", paramLabel = "DIR",
            description = "where node.key, node.crt, ca.crt (and crl.pem) go (default: DIR/nodes/NAME); " +
                "point tls.dir or --tls-dir at it")
        Path out;

        @Option(names = "--days", paramLabel = "N", defaultValue = "365", description = "validity (default: 365)")
        int days;

        @Override
        public Integer call() throws Exception
        {
            final Role role = who.agent != null ? Role.AGENT : who.target != null ? Role.TARGET : Role.ADMIN;
            final String name = who.agent != null ? who.agent : who.target != null ? who.target : who.admin;
            checkName("name", name);
            checkDays(days);
            final Set<String> named = groups == null ? Set.of() : new LinkedHashSet<>(groups);
            if (role == Role.AGENT && named.isEmpty())
            {
                throw new CliException(2, "an agent certificate needs --groups G1,G2: the groups it may replicate");
            }
            if (role != Role.AGENT && !named.isEmpty())
            {
                throw new CliException(2, "--groups is for agent certificates only");
            }
            for (final String group : named)
            {
                checkName("group", group);
            }
            final CertificateAuthority ca = loadCa(caDir.resolve());
            final Path outDir = out != null ? out : caDir.resolve().resolve("nodes").resolve(name);
            final CertificateAuthority.Issued issued = ca.issue(role, name, named, Instant.now().minusSeconds(300),
                Instant.now().plus(Duration.ofDays(days)));
            try
            {
                ca.writeNode(outDir, issued);
            }
            catch (final FileAlreadyExistsException ex)
            {
                throw new CliException(2, outDir + " already holds a key; issue into a new directory (--out) to " +
                    "rotate, then revoke the old serial");
            }
            System.out.printf("%s certificate for '%s'%s, serial %s, valid until %s, written to %s%n",
                role.lowerName(), name, named.isEmpty() ? "" : " (groups " + String.join(",", named) + ")",
                issued.certificate().getSerialNumber().toString(16), issued.certificate().getNotAfter().toInstant(),
                outDir);
            return 0;
        }
    }

    @Command(name = "revoke", description = "Add a certificate to the deny list (DIR/crl.pem), then copy it to " +
        "every target (and agent) tls dir.")
    static final class Revoke implements Callable<Integer>
    {
        @picocli.CommandLine.Mixin
        CaDir caDir = new CaDir();

        @ArgGroup(exclusive = true, multiplicity = "1")
        Which which;

        static final class Which
        {
            @Option(names = "--serial", paramLabel = "HEX", description = "the serial number (hex, as issue prints)")
            String serial;

            @Option(names = "--cert", paramLabel = "FILE", description = "the certificate file")
            Path cert;
        }

        @Override
        public Integer call() throws Exception
        {
            final BigInteger serial;
            if (which.cert != null)
            {
                serial = readCertificate(which.cert).getSerialNumber();
            }
            else
            {
                try
                {
                    serial = new BigInteger(which.serial, 16);
                }
                catch (final NumberFormatException ex)
                {
                    throw new CliException(2, "--serial '" + which.serial + "' is not a hex number");
                }
            }
            final CertificateAuthority ca = loadCa(caDir.resolve());
            final int count = ca.revoke(serial).getRevokedCertificates().size();
            System.out.printf("serial %s denied (%d on the list): copy %s to each node's tls dir (tls.crl); targets " +
                "re-read it at the next connection%n", serial.toString(16), count,
                ca.dir().resolve(CertificateAuthority.CRL_FILE));
            return 0;
        }
    }

    @Command(name = "show", description = "Print who a certificate names: CN, role, groups, serial, validity.")
    static final class Show implements Callable<Integer>
    {
        @Parameters(paramLabel = "FILE", description = "a PEM certificate (e.g. DIR/node.crt)")
        Path file;

        @Override
        public Integer call() throws Exception
        {
            final X509Certificate certificate = readCertificate(file);
            try
            {
                final PeerIdentity identity = PeerIdentity.of(certificate);
                System.out.printf("%s '%s'%s serial %s valid %s .. %s issuer %s%n", identity.role().lowerName(),
                    identity.name(), identity.groups().isEmpty() ? "" : " groups " +
                        identity.groups().stream().sorted().toList(), identity.serial(),
                    certificate.getNotBefore().toInstant(), certificate.getNotAfter().toInstant(),
                    certificate.getIssuerX500Principal().getName());
            }
            catch (final CertificateParsingException ex)
            {
                throw new CliException(2, file + ": " + ex.getMessage());
            }
            return 0;
        }
    }

    private static X509Certificate readCertificate(final Path file) throws CliException
    {
        try
        {
            return PemFiles.readCertificates(file).get(0);
        }
        catch (final IOException ex)
        {
            throw new CliException(2, ex.getMessage());
        }
    }

    private static CertificateAuthority loadCa(final Path dir) throws CliException
    {
        try
        {
            return CertificateAuthority.load(dir);
        }
        catch (final NoSuchFileException ex)
        {
            throw new CliException(2, "no CA in " + dir + " (make one with 'replicator certs init --dir " + dir +
                "', or set --dir / $" + CA_DIR_ENV + ")");
        }
        catch (final IOException ex)
        {
            throw new CliException(2, "cannot read the CA in " + dir + ": " + ex.getMessage());
        }
    }

    private static void checkName(final String what, final String name) throws CliException
    {
        if (!VolumeSpec.isValidName(name))
        {
            throw new CliException(2, what + " '" + name + "' must be 1-64 letters, digits, '.', '_' or '-'");
        }
    }

    private static void checkDays(final int days) throws CliException
    {
        if (days < 1 || days > 36_500)
        {
            throw new CliException(2, "--days must be between 1 and 36500");
        }
    }
}
