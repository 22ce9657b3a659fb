package dev.replicator.core.security;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.GeneralSecurityException;
import java.security.cert.X509CRL;
import java.security.cert.X509CRLEntry;
import java.security.cert.X509Certificate;
import java.util.List;

/**
 * The deny list: a CRL signed by the deployment's CA ({@code replicator certs revoke} writes it).
 * Looked at on every handshake and re-read when the file's time or size changes, so copying a new
 * {@code crl.pem} into place takes effect without a restart. A list that cannot be read or whose
 * signature does not verify is refused at start; replaced by such a file later, the last good list
 * stays in force (and the problem is logged), so a botched copy never lets a revoked node in.
 *
 * <p>Thread-safe: handshakes on several connection threads look it up.
 */
final class DenyList
{
    private static final Logger LOG = LoggerFactory.getLogger(DenyList.class);

    private final Path file;
    private final List<X509Certificate> authorities;
    private X509CRL crl;
    private FileTime loadedTime;
    private long loadedSize = -1;

    private DenyList(final Path file, final List<X509Certificate> authorities)
    {
        this.file = file;
        this.authorities = authorities;
    }

    /** @param file null: no deny list. */
    static DenyList load(final Path file, final List<X509Certificate> authorities) throws IOException
    {
        final DenyList list = new DenyList(file, authorities);
        if (file != null)
        {
            list.reload(true);
        }
        return list;
    }

    /** @return the CRL entry denying this certificate, or null. */
    synchronized X509CRLEntry entryFor(final X509Certificate certificate)
    {
        if (file == null)
        {
            return null;
        }
        try
        {
            reload(false);
        }
        catch (final IOException ex)
        {
            LOG.error("deny list {} not re-read, the previous one stays in force: {}", file, ex.getMessage());
        }
        if (crl == null || !crl.getIssuerX500Principal().equals(certificate.getIssuerX500Principal()))
        {
            return null;
        }
        return crl.getRevokedCertificate(certificate.getSerialNumber());
    }

    Path file()
    {
        return file;
    }

    private void reload(final boolean atStart) throws IOException
    {
        final FileTime time = Files.getLastModifiedTime(file);
        final long size = Files.size(file);
        if (!atStart && time.equals(loadedTime) && size == loadedSize)
        {
            return;
        }
        // Remembered before verifying: a bad file is reported once, not on every handshake.
        loadedTime = time;
        loadedSize = size;
        final X509CRL next = PemFiles.readCrl(file);
        verify(next);
        crl = next;
        if (!atStart)
        {
            LOG.info("deny list {} re-read: {} certificate(s) denied", file,
                next.getRevokedCertificates() == null ? 0 : next.getRevokedCertificates().size());
        }
    }

    private void verify(final X509CRL candidate) throws IOException
    {
        for (final X509Certificate authority : authorities)
        {
            if (authority.getSubjectX500Principal().equals(candidate.getIssuerX500Principal()))
            {
                try
                {
                    candidate.verify(authority.getPublicKey());
                    return;
                }
                catch (final GeneralSecurityException ex)
                {
                    throw new IOException("deny list " + file + " is not signed by the CA " +
                        authority.getSubjectX500Principal() + ": " + ex.getMessage(), ex);
                }
            }
        }
        throw new IOException("deny list " + file + " was issued by " + candidate.getIssuerX500Principal() +
            ", which is not a trusted CA");
    }
}
