package dev.replicator.core.security;

import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.CRLReason;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.X509v2CRLBuilder;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CRLConverter;
import org.bouncycastle.cert.jcajce.JcaX509CRLHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Set;

/**
 * The deployment's own certificate authority, kept in one directory (which should live offline or
 * on an admin host, never on an agent):
 *
 * <pre>
 *   ca.key    the CA's private key (0600)
 *   ca.crt    the CA certificate: every node trusts it (tls.ca)
 *   crl.pem   the deny list, signed by the CA; rewritten by every revoke
 * </pre>
 *
 * Keys are ECDSA P-256: small, and the fastest signature TLS 1.3 handshakes offer in both providers.
 * Serial numbers are 127 random bits, so two issues never collide without a counter file.
 */
public final class CertificateAuthority
{
    public static final String KEY_FILE = "ca.key";
    public static final String CERT_FILE = "ca.crt";
    public static final String CRL_FILE = "crl.pem";
    private static final String SIGNATURE = "SHA256withECDSA";
    private static final SecureRandom RANDOM = new SecureRandom();

    private final Path dir;
    private final PrivateKey key;
    private final X509Certificate certificate;

    private CertificateAuthority(final Path dir, final PrivateKey key, final X509Certificate certificate)
    {
        this.dir = dir;
        this.key = key;
        this.certificate = certificate;
    }

    /** A key and the certificate the CA made for it. */
    public record Issued(PrivateKey key, X509Certificate certificate)
    {
    }

    /**
     * Makes a new CA in {@code dir} (created 0700 if missing).
     *
     * @throws java.nio.file.FileAlreadyExistsException if the directory already holds a CA key.
     */
    public static CertificateAuthority init(final Path dir, final String name, final Instant notAfter)
        throws IOException
    {
        if (Files.exists(dir.resolve(KEY_FILE)))
        {
            throw new java.nio.file.FileAlreadyExistsException(dir.resolve(KEY_FILE).toString(), null,
                "this directory already holds a CA");
        }
        if (!Files.exists(dir))
        {
            Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        }
        final KeyPair pair = newKeyPair();
        final X500Name subject = subject(name);
        try
        {
            final X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(subject, serial(),
                Date.from(Instant.now().minusSeconds(300)), Date.from(notAfter), subject, pair.getPublic());
            final JcaX509ExtensionUtils utils = new JcaX509ExtensionUtils();
            builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(0));
            builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
            builder.addExtension(Extension.subjectKeyIdentifier, false,
                utils.createSubjectKeyIdentifier(pair.getPublic()));
            final X509Certificate certificate = toCertificate(builder.build(signer(pair.getPrivate())));
            PemFiles.writePrivateKey(dir.resolve(KEY_FILE), pair.getPrivate());
            PemFiles.writeCertificates(dir.resolve(CERT_FILE), List.of(certificate));
            return new CertificateAuthority(dir, pair.getPrivate(), certificate);
        }
        catch (final GeneralSecurityException ex)
        {
            throw new IOException("cannot make the CA certificate: " + ex.getMessage(), ex);
        }
    }

    public static CertificateAuthority load(final Path dir) throws IOException
    {
        if (!Files.exists(dir.resolve(KEY_FILE)))
        {
            throw new java.nio.file.NoSuchFileException(dir.resolve(KEY_FILE).toString(), null,
                "no CA here; make one with 'replicator certs init --dir " + dir + "'");
        }
        final PrivateKey key = PemFiles.readPrivateKey(dir.resolve(KEY_FILE));
        final X509Certificate certificate = PemFiles.readCertificates(dir.resolve(CERT_FILE)).get(0);
        return new CertificateAuthority(dir, key, certificate);
    }

    public X509Certificate certificate()
    {
        return certificate;
    }

    public Path dir()
    {
        return dir;
    }

    /**
     * Issues a certificate for a new key. {@code groups} only for agents.
     */
    public Issued issue(
        final Role role, final String name, final Set<String> groups, final Instant notBefore, final Instant notAfter)
        throws IOException
    {
        final KeyPair pair = newKeyPair();
        try
        {
            final X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(certificate, serial(),
                Date.from(notBefore), Date.from(notAfter), subject(name), pair.getPublic());
            final JcaX509ExtensionUtils utils = new JcaX509ExtensionUtils();
            builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
            builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
            builder.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(
                role == Role.TARGET ? KeyPurposeId.id_kp_serverAuth : KeyPurposeId.id_kp_clientAuth));
            final List<GeneralName> names = new ArrayList<>();
            names.add(new GeneralName(GeneralName.uniformResourceIdentifier, CertificateNames.roleUri(role)));
            for (final String group : groups)
            {
                names.add(new GeneralName(GeneralName.uniformResourceIdentifier, CertificateNames.groupUri(group)));
            }
            builder.addExtension(Extension.subjectAlternativeName, false,
                new GeneralNames(names.toArray(new GeneralName[0])));
            builder.addExtension(Extension.subjectKeyIdentifier, false,
                utils.createSubjectKeyIdentifier(pair.getPublic()));
            builder.addExtension(Extension.authorityKeyIdentifier, false,
                utils.createAuthorityKeyIdentifier(certificate));
            return new Issued(pair.getPrivate(), toCertificate(builder.build(signer(key))));
        }
        catch (final GeneralSecurityException ex)
        {
            throw new IOException("cannot issue a certificate for " + name + ": " + ex.getMessage(), ex);
        }
    }

    /**
     * Writes what a node needs into {@code outDir} (created 0700): its key (0600), its certificate,
     * the CA certificate, and the current deny list if there is one. Point {@code tls.dir} at it.
     */
    public void writeNode(final Path outDir, final Issued issued) throws IOException
    {
        if (Files.exists(outDir.resolve(TlsSettings.KEY_FILE)))
        {
            throw new java.nio.file.FileAlreadyExistsException(outDir.resolve(TlsSettings.KEY_FILE).toString(), null,
                "a key is already there; issue into a new directory to rotate");
        }
        if (!Files.exists(outDir))
        {
            Files.createDirectories(outDir,
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        }
        PemFiles.writePrivateKey(outDir.resolve(TlsSettings.KEY_FILE), issued.key());
        PemFiles.writeCertificates(outDir.resolve(TlsSettings.CERT_FILE), List.of(issued.certificate()));
        PemFiles.writeCertificates(outDir.resolve(TlsSettings.CA_FILE), List.of(certificate));
        if (Files.exists(dir.resolve(CRL_FILE)))
        {
            PemFiles.writeCrl(outDir.resolve(TlsSettings.CRL_FILE), PemFiles.readCrl(dir.resolve(CRL_FILE)));
        }
    }

    /**
     * Adds a serial number to the deny list ({@code crl.pem}, signed by this CA) and returns the new
     * list. Earlier entries are kept. It carries no next-update date: a deny list stays in force until
     * a newer one replaces it.
     */
    public X509CRL revoke(final BigInteger serial) throws IOException
    {
        final Path file = dir.resolve(CRL_FILE);
        final Date now = new Date();
        final X509v2CRLBuilder builder = new X509v2CRLBuilder(
            X500Name.getInstance(certificate.getSubjectX500Principal().getEncoded()), now);
        try
        {
            if (Files.exists(file))
            {
                builder.addCRL(new JcaX509CRLHolder(PemFiles.readCrl(file)));
            }
            builder.addCRLEntry(serial, now, CRLReason.privilegeWithdrawn);
            builder.addExtension(Extension.authorityKeyIdentifier, false,
                new JcaX509ExtensionUtils().createAuthorityKeyIdentifier(certificate));
            final X509CRL crl = new JcaX509CRLConverter().getCRL(builder.build(signer(key)));
            PemFiles.writeCrl(file, crl);
            return crl;
        }
        catch (final GeneralSecurityException ex)
        {
            throw new IOException("cannot write the deny list: " + ex.getMessage(), ex);
        }
    }

    private static X500Name subject(final String name)
    {
        return new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.O, "replicator").addRDN(BCStyle.CN, name).build();
    }

    private static BigInteger serial()
    {
        return new BigInteger(127, RANDOM).setBit(126);
    }

    private static KeyPair newKeyPair() throws IOException
    {
        try
        {
            final KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
            generator.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
            return generator.generateKeyPair();
        }
        catch (final GeneralSecurityException ex)
        {
            throw new IOException("cannot make an EC P-256 key: " + ex.getMessage(), ex);
        }
    }

    private static ContentSigner signer(final PrivateKey key) throws GeneralSecurityException
    {
        try
        {
            return new JcaContentSignerBuilder(SIGNATURE).build(key);
        }
        catch (final OperatorCreationException ex)
        {
            throw new GeneralSecurityException(ex.getMessage(), ex);
        }
    }

    private static X509Certificate toCertificate(final X509CertificateHolder holder) throws GeneralSecurityException
    {
        return new JcaX509CertificateConverter().getCertificate(holder);
    }
}
