package dev.replicator.core.security;

import dev.replicator.core.io.AtomicFiles;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.cert.X509CRLHolder;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CRLConverter;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;

import java.io.IOException;
import java.io.Reader;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * PEM files for certificates, private keys (PKCS#8) and CRLs. A private key file is created with
 * owner-only permissions (0600) as an attribute of its creation, never chmod-ed afterwards, so there
 * is no moment at which another user could open it.
 */
public final class PemFiles
{
    private static final Set<PosixFilePermission> OWNER_ONLY =
        EnumSet.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE);

    private PemFiles()
    {
    }

    public static void writeCertificates(final Path file, final List<X509Certificate> certificates) throws IOException
    {
        AtomicFiles.writeString(file, pem(certificates.toArray()));
    }

    public static void writeCrl(final Path file, final X509CRL crl) throws IOException
    {
        AtomicFiles.writeString(file, pem(crl));
    }

    /**
     * Writes a private key as PKCS#8 PEM into a new file readable by its owner only. The bytes go to a
     * temp file created 0600 beside it, are fsynced, then renamed into place.
     *
     * @throws java.nio.file.FileAlreadyExistsException if {@code file} exists: keys are never overwritten.
     */
    public static void writePrivateKey(final Path file, final PrivateKey key) throws IOException
    {
        if (Files.exists(file))
        {
            throw new java.nio.file.FileAlreadyExistsException(file.toString(), null, "a key is never overwritten");
        }
        final byte[] bytes = pem(new JcaPKCS8Generator(key, null).generate()).getBytes(StandardCharsets.US_ASCII);
        final Path dir = file.toAbsolutePath().getParent();
        final Path temp = dir.resolve(file.getFileName() + ".tmp");
        Files.deleteIfExists(temp);
        try (SeekableByteChannel channel = Files.newByteChannel(temp,
            EnumSet.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE),
            PosixFilePermissions.asFileAttribute(OWNER_ONLY)))
        {
            final ByteBuffer buffer = ByteBuffer.wrap(bytes);
            while (buffer.hasRemaining())
            {
                channel.write(buffer);
            }
            ((java.nio.channels.FileChannel)channel).force(true);
        }
        Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE);
        AtomicFiles.fsyncDirectory(dir);
    }

    /** Every certificate in a PEM file, in order (a chain, or several trusted CAs). */
    public static List<X509Certificate> readCertificates(final Path file) throws IOException
    {
        final List<X509Certificate> certificates = new ArrayList<>();
        try (PEMParser parser = parser(file))
        {
            Object object;
            while ((object = parser.readObject()) != null)
            {
                if (object instanceof X509CertificateHolder holder)
                {
                    certificates.add(new JcaX509CertificateConverter().getCertificate(holder));
                }
            }
        }
        catch (final GeneralSecurityException ex)
        {
            throw new IOException(file + " holds a certificate that cannot be read: " + ex.getMessage(), ex);
        }
        catch (final IOException | RuntimeException ex)
        {
            throw rethrow(file, "certificates", ex);
        }
        if (certificates.isEmpty())
        {
            throw new IOException(file + " holds no PEM certificate");
        }
        return certificates;
    }

    public static PrivateKey readPrivateKey(final Path file) throws IOException
    {
        try (PEMParser parser = parser(file))
        {
            final Object object = parser.readObject();
            final JcaPEMKeyConverter converter = new JcaPEMKeyConverter();
            if (object instanceof PrivateKeyInfo info)
            {
                return converter.getPrivateKey(info);
            }
            if (object instanceof PEMKeyPair pair)
            {
                return converter.getKeyPair(pair).getPrivate();
            }
            throw new IOException(file + " holds no unencrypted PEM private key");
        }
        catch (final IOException | RuntimeException ex)
        {
            throw rethrow(file, "a private key", ex);
        }
    }

    public static X509CRL readCrl(final Path file) throws IOException
    {
        try (PEMParser parser = parser(file))
        {
            final Object object = parser.readObject();
            if (object instanceof X509CRLHolder holder)
            {
                return new JcaX509CRLConverter().getCRL(holder);
            }
            throw new IOException(file + " holds no PEM CRL");
        }
        catch (final GeneralSecurityException ex)
        {
            throw new IOException(file + " holds a CRL that cannot be read: " + ex.getMessage(), ex);
        }
        catch (final IOException | RuntimeException ex)
        {
            throw rethrow(file, "a CRL", ex);
        }
    }

    private static PEMParser parser(final Path file) throws IOException
    {
        final Reader reader;
        try
        {
            reader = Files.newBufferedReader(file, StandardCharsets.US_ASCII);
        }
        catch (final NoSuchFileException ex)
        {
            throw new NoSuchFileException(file.toString(), null, "does not exist");
        }
        return new PEMParser(reader);
    }

    private static IOException rethrow(final Path file, final String what, final Exception ex)
    {
        if (ex instanceof NoSuchFileException)
        {
            return new IOException(file + " does not exist", ex);
        }
        if (ex instanceof IOException io && io.getMessage() != null && io.getMessage().startsWith(file.toString()))
        {
            return io;
        }
        return new IOException("cannot read " + what + " from " + file + ": " + ex.getMessage(), ex);
    }

    private static String pem(final Object... objects) throws IOException
    {
        final StringWriter text = new StringWriter();
        try (JcaPEMWriter writer = new JcaPEMWriter(text))
        {
            for (final Object object : objects)
            {
                writer.writeObject(object);
            }
        }
        return text.toString();
    }
}
