package dev.replicator.core.security;

import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509CRLEntry;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Set;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;
import javax.net.ssl.X509TrustManager;

/**
 * Decides whether to trust the other end's certificate. Our own checks come first, each with one
 * sentence for the log: issued by a trusted CA (signature), within its validity, not on the deny
 * list, carrying a role this end accepts (a server must be a target; a client an agent or an admin).
 * Then the JDK's PKIX validation runs too (key usage, extended key usage, constraints), so nothing
 * the standard checks is skipped.
 *
 * <p>Thread-safe (the deny list synchronises its own reloads).
 */
final class PeerTrustManager extends X509ExtendedTrustManager
{
    private static final Set<Role> CLIENT_ROLES = Set.of(Role.AGENT, Role.ADMIN);
    private static final Set<Role> SERVER_ROLES = Set.of(Role.TARGET);

    private final List<X509Certificate> authorities;
    private final DenyList denyList;
    private final X509TrustManager pkix;

    PeerTrustManager(final List<X509Certificate> authorities, final DenyList denyList, final X509TrustManager pkix)
    {
        this.authorities = authorities;
        this.denyList = denyList;
        this.pkix = pkix;
    }

    @Override
    public void checkClientTrusted(final X509Certificate[] chain, final String authType) throws CertificateException
    {
        check(chain, CLIENT_ROLES, "client");
        pkixCheck(() -> pkix.checkClientTrusted(leafOnly(chain), authType), chain);
    }

    @Override
    public void checkServerTrusted(final X509Certificate[] chain, final String authType) throws CertificateException
    {
        check(chain, SERVER_ROLES, "server");
        pkixCheck(() -> pkix.checkServerTrusted(leafOnly(chain), authType), chain);
    }

    @Override
    public void checkClientTrusted(final X509Certificate[] chain, final String authType, final Socket socket)
        throws CertificateException
    {
        checkClientTrusted(chain, authType);
    }

    @Override
    public void checkServerTrusted(final X509Certificate[] chain, final String authType, final Socket socket)
        throws CertificateException
    {
        checkServerTrusted(chain, authType);
    }

    @Override
    public void checkClientTrusted(final X509Certificate[] chain, final String authType, final SSLEngine engine)
        throws CertificateException
    {
        checkClientTrusted(chain, authType);
    }

    @Override
    public void checkServerTrusted(final X509Certificate[] chain, final String authType, final SSLEngine engine)
        throws CertificateException
    {
        checkServerTrusted(chain, authType);
    }

    @Override
    public X509Certificate[] getAcceptedIssuers()
    {
        return authorities.toArray(new X509Certificate[0]);
    }

    /**
     * Our checks again, for a connection whose handshake may have resumed an earlier session (TLS 1.3
     * PSK): a resumed handshake shows no certificate to a trust manager, and a certificate denied or
     * expired since must not ride in on its old session.
     */
    void recheck(final X509Certificate peer, final boolean peerIsClient) throws CertificateException
    {
        final X509Certificate[] chain = {peer};
        check(chain, peerIsClient ? CLIENT_ROLES : SERVER_ROLES, peerIsClient ? "client" : "server");
    }

    private void check(final X509Certificate[] chain, final Set<Role> accepted, final String side)
        throws CertificateException
    {
        if (chain == null || chain.length == 0)
        {
            throw new PeerCertificateException("the " + side + " sent no certificate");
        }
        final X509Certificate leaf = chain[0];
        final String who = describe(leaf);
        final X509Certificate issuer = issuerOf(leaf);
        if (issuer == null)
        {
            throw new PeerCertificateException(who + " was not issued by a trusted CA (its issuer is " +
                leaf.getIssuerX500Principal() + ")");
        }
        try
        {
            leaf.checkValidity();
        }
        catch (final CertificateExpiredException ex)
        {
            throw new PeerCertificateException(who + " expired on " + leaf.getNotAfter().toInstant(), ex);
        }
        catch (final CertificateNotYetValidException ex)
        {
            throw new PeerCertificateException(who + " is not valid before " + leaf.getNotBefore().toInstant(), ex);
        }
        final X509CRLEntry denied = denyList.entryFor(leaf);
        if (denied != null)
        {
            throw new PeerCertificateException(who + " is on the deny list " + denyList.file() + " (revoked " +
                denied.getRevocationDate().toInstant() + ")");
        }
        final PeerIdentity identity;
        try
        {
            identity = PeerIdentity.of(leaf);
        }
        catch (final CertificateParsingException ex)
        {
            throw new PeerCertificateException(ex.getMessage(), ex);
        }
        if (!accepted.contains(identity.role()))
        {
            throw new PeerCertificateException(who + " is a " + identity.role().lowerName() + " certificate; a " +
                side + " here must hold one of " + accepted.stream().map(Role::lowerName).sorted().toList());
        }
    }

    private X509Certificate issuerOf(final X509Certificate leaf)
    {
        for (final X509Certificate authority : authorities)
        {
            if (authority.getSubjectX500Principal().equals(leaf.getIssuerX500Principal()))
            {
                try
                {
                    leaf.verify(authority.getPublicKey());
                    return authority;
                }
                catch (final GeneralSecurityException ex)
                {
                    // Same name, different key: another deployment's CA. Try the next one.
                }
            }
        }
        return null;
    }

    private interface Check
    {
        void run() throws CertificateException;
    }

    private static void pkixCheck(final Check check, final X509Certificate[] chain) throws CertificateException
    {
        try
        {
            check.run();
        }
        catch (final CertificateException ex)
        {
            throw new PeerCertificateException(describe(chain[0]) + " failed PKIX validation: " + ex.getMessage(), ex);
        }
    }

    /** The peer's own certificate: the CA comes from our trust anchors, never from what the peer sends. */
    private static X509Certificate[] leafOnly(final X509Certificate[] chain)
    {
        return new X509Certificate[] {chain[0]};
    }

    static String describe(final X509Certificate certificate)
    {
        String name;
        try
        {
            name = PeerIdentity.commonName(certificate);
        }
        catch (final CertificateParsingException ex)
        {
            name = certificate.getSubjectX500Principal().getName();
        }
        return "certificate CN=" + name + " (serial " + certificate.getSerialNumber().toString(16) + ")";
    }
}
