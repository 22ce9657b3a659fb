package dev.replicator.core.security;

import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x500.style.IETFUtils;

import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Who is at the other end of a connection, read from its verified certificate
 * ({@link CertificateNames}). A plaintext ({@code --insecure}) connection has no identity:
 * {@link #UNAUTHENTICATED}.
 *
 * @param name   the certificate's CN.
 * @param role   null only for {@link #UNAUTHENTICATED}.
 * @param groups the groups an agent may ship and fail back (empty for other roles).
 * @param serial the certificate's serial number in hex, for logs and the deny list.
 */
public record PeerIdentity(String name, Role role, Set<String> groups, String serial)
{
    public static final PeerIdentity UNAUTHENTICATED = new PeerIdentity("(plaintext peer)", null, Set.of(), "-");

    public boolean authenticated()
    {
        return role != null;
    }

    /**
     * @throws CertificateParsingException if the certificate names no CN, no role or more than one role.
     */
    public static PeerIdentity of(final X509Certificate certificate) throws CertificateParsingException
    {
        final String name = commonName(certificate);
        Role role = null;
        final Set<String> groups = new LinkedHashSet<>();
        final Collection<List<?>> altNames = certificate.getSubjectAlternativeNames();
        if (altNames != null)
        {
            for (final List<?> altName : altNames)
            {
                // (type, value): type 6 is uniformResourceIdentifier (RFC 5280 GeneralName).
                if (((Integer)altName.get(0)) != 6)
                {
                    continue;
                }
                final String uri = (String)altName.get(1);
                final Role named = CertificateNames.roleOf(uri);
                if (named != null)
                {
                    if (role != null && role != named)
                    {
                        throw new CertificateParsingException("certificate CN=" + name + " names two roles");
                    }
                    role = named;
                }
                final String group = CertificateNames.groupOf(uri);
                if (group != null)
                {
                    groups.add(group);
                }
            }
        }
        if (role == null)
        {
            throw new CertificateParsingException("certificate CN=" + name + " names no replicator role " +
                "(" + CertificateNames.ROLE_URI_PREFIX + "agent|target|admin); it was not made by 'replicator certs'");
        }
        return new PeerIdentity(name, role, Set.copyOf(groups), certificate.getSerialNumber().toString(16));
    }

    static String commonName(final X509Certificate certificate) throws CertificateParsingException
    {
        final X500Name subject = X500Name.getInstance(certificate.getSubjectX500Principal().getEncoded());
        final RDN[] cns = subject.getRDNs(BCStyle.CN);
        if (cns.length != 1)
        {
            throw new CertificateParsingException("certificate subject '" + subject + "' has no single CN");
        }
        return IETFUtils.valueToString(cns[0].getFirst().getValue());
    }

    @Override
    public String toString()
    {
        return authenticated() ? role.lowerName() + " '" + name + "' (serial " + serial + ")" : name;
    }
}
