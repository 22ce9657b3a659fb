package dev.replicator.core.security;

import dev.replicator.core.config.HostPort;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;

/**
 * Mutual TLS 1.3 and nothing older. Both ends show a certificate issued by the deployment's CA; the
 * server asks for the client's ("want", not "need", so that a missing one is refused after the
 * handshake with a sentence of our own rather than a provider's alert text). Who the peer is comes
 * from its certificate ({@link PeerIdentity}); what it may do is decided by {@link AccessPolicy}.
 *
 * <p>Thread-safe: one instance serves every connection of a process.
 */
final class TlsTransport implements Transport
{
    private static final String[] PROTOCOLS = {"TLSv1.3"};
    private static final char[] IN_MEMORY_PASSWORD = "replicator".toCharArray();

    private final SSLContext context;
    private final PeerTrustManager trust;
    private final TlsProvider provider;
    private final PeerIdentity self;

    private TlsTransport(
        final SSLContext context, final PeerTrustManager trust, final TlsProvider provider, final PeerIdentity self)
    {
        this.context = context;
        this.trust = trust;
        this.provider = provider;
        this.self = self;
    }

    static TlsTransport load(final TlsSettings settings) throws IOException
    {
        final List<X509Certificate> authorities = PemFiles.readCertificates(settings.ca());
        final List<X509Certificate> chain = PemFiles.readCertificates(settings.cert());
        final PrivateKey key = PemFiles.readPrivateKey(settings.key());
        final X509Certificate own = chain.get(0);
        final PeerIdentity self;
        try
        {
            self = PeerIdentity.of(own);
        }
        catch (final GeneralSecurityException ex)
        {
            throw new IOException(settings.cert() + ": " + ex.getMessage(), ex);
        }
        checkOwn(settings, own, key, authorities);
        final DenyList denyList = DenyList.load(settings.crl(), authorities);
        if (denyList.entryFor(own) != null)
        {
            throw new IOException("this node's " + PeerTrustManager.describe(own) + " is on the deny list " +
                settings.crl() + "; issue a new one (docs/SECURITY.md, rotation)");
        }
        try
        {
            final KeyStore trusted = KeyStore.getInstance("PKCS12");
            trusted.load(null, null);
            for (int i = 0; i < authorities.size(); i++)
            {
                trusted.setCertificateEntry("ca-" + i, authorities.get(i));
            }
            final TrustManagerFactory pkix = TrustManagerFactory.getInstance("PKIX");
            pkix.init(trusted);
            final KeyStore keys = KeyStore.getInstance("PKCS12");
            keys.load(null, null);
            keys.setKeyEntry("node", key, IN_MEMORY_PASSWORD, chain.toArray(new X509Certificate[0]));
            final KeyManagerFactory keyManagers = settings.provider().newKeyManagerFactory();
            keyManagers.init(keys, IN_MEMORY_PASSWORD);
            final SSLContext context = settings.provider().newContext();
            final PeerTrustManager trust = new PeerTrustManager(authorities, denyList,
                firstX509(pkix.getTrustManagers()));
            context.init(keyManagers.getKeyManagers(), new TrustManager[] {trust}, new java.security.SecureRandom());
            return new TlsTransport(context, trust, settings.provider(), self);
        }
        catch (final GeneralSecurityException ex)
        {
            throw new IOException("cannot set up TLS from " + settings.cert() + ": " + ex.getMessage(), ex);
        }
    }

    /** A node whose own certificate is unusable fails at start, saying why, not at its first connection. */
    private static void checkOwn(
        final TlsSettings settings, final X509Certificate own, final PrivateKey key,
        final List<X509Certificate> authorities) throws IOException
    {
        final String who = "this node's " + PeerTrustManager.describe(own) + " (" + settings.cert() + ")";
        try
        {
            own.checkValidity();
        }
        catch (final CertificateExpiredException ex)
        {
            throw new IOException(who + " expired on " + own.getNotAfter().toInstant() +
                "; issue a new one (docs/SECURITY.md, rotation)", ex);
        }
        catch (final CertificateNotYetValidException ex)
        {
            throw new IOException(who + " is not valid before " + own.getNotBefore().toInstant(), ex);
        }
        boolean issued = false;
        for (final X509Certificate authority : authorities)
        {
            try
            {
                own.verify(authority.getPublicKey());
                issued = true;
                break;
            }
            catch (final GeneralSecurityException ex)
            {
                // Not this CA.
            }
        }
        if (!issued)
        {
            throw new IOException(who + " was not issued by a CA in " + settings.ca());
        }
        try
        {
            final String algorithm = "EC".equals(key.getAlgorithm()) ? "SHA256withECDSA" : "SHA256with" +
                key.getAlgorithm();
            final byte[] probe = "replicator key check".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
            final Signature signer = Signature.getInstance(algorithm);
            signer.initSign(key);
            signer.update(probe);
            final byte[] signature = signer.sign();
            final Signature verifier = Signature.getInstance(algorithm);
            verifier.initVerify(own.getPublicKey());
            verifier.update(probe);
            if (!verifier.verify(signature))
            {
                throw new IOException(settings.key() + " is not the key of " + who);
            }
        }
        catch (final GeneralSecurityException ex)
        {
            throw new IOException(settings.key() + " is not the key of " + who + ": " + ex.getMessage(), ex);
        }
    }

    private static X509TrustManager firstX509(final TrustManager[] managers)
    {
        for (final TrustManager manager : managers)
        {
            if (manager instanceof X509TrustManager x509)
            {
                return x509;
            }
        }
        throw new IllegalStateException("the PKIX trust manager factory made no X509TrustManager");
    }

    @Override
    public Socket connect(final HostPort address, final int timeoutMs) throws IOException
    {
        final Socket plain = PlainTransport.INSTANCE.connect(address, timeoutMs);
        final SSLSocket socket;
        try
        {
            socket = (SSLSocket)context.getSocketFactory().createSocket(plain, address.host(), address.port(), true);
        }
        catch (final IOException ex)
        {
            plain.close();
            throw ex;
        }
        try
        {
            socket.setUseClientMode(true);
            socket.setEnabledProtocols(PROTOCOLS);
            socket.setSoTimeout(timeoutMs);
            socket.startHandshake();
            trust.recheck((X509Certificate)socket.getSession().getPeerCertificates()[0], false);
            socket.setSoTimeout(0);
            return socket;
        }
        catch (final java.security.cert.CertificateException ex)
        {
            socket.close();
            throw new PeerRefusedException("refused the target " + address + ": " + ex.getMessage(), ex);
        }
        catch (final SSLException ex)
        {
            socket.close();
            final PeerCertificateException ours = findCause(ex);
            throw new PeerRefusedException(ours != null ? "refused the target " + address + ": " + ours.getMessage() :
                "TLS handshake with " + address + " failed: " + ex.getMessage(), ex);
        }
        catch (final IOException ex)
        {
            socket.close();
            throw ex;
        }
    }

    @Override
    public ServerSocket listen(final HostPort address, final int backlog) throws IOException
    {
        final SSLServerSocket socket = (SSLServerSocket)context.getServerSocketFactory().createServerSocket();
        socket.setReuseAddress(true);
        socket.setEnabledProtocols(PROTOCOLS);
        socket.setWantClientAuth(true);
        socket.bind(new InetSocketAddress(address.host(), address.port()), backlog);
        return socket;
    }

    @Override
    public PeerIdentity handshake(final Socket accepted, final int timeoutMs) throws IOException
    {
        final SSLSocket socket = (SSLSocket)accepted;
        try
        {
            socket.setTcpNoDelay(true);
            socket.setSoTimeout(timeoutMs);
            socket.startHandshake();
        }
        catch (final SSLException ex)
        {
            final PeerCertificateException ours = findCause(ex);
            throw new PeerRefusedException(ours != null ? ours.getMessage() : "TLS handshake failed: " +
                ex.getMessage(), ex);
        }
        final X509Certificate certificate;
        try
        {
            certificate = (X509Certificate)socket.getSession().getPeerCertificates()[0];
        }
        catch (final SSLPeerUnverifiedException ex)
        {
            throw new PeerRefusedException("the client sent no certificate (mutual TLS needs one)", ex);
        }
        try
        {
            trust.recheck(certificate, true);
            return PeerIdentity.of(certificate);
        }
        catch (final GeneralSecurityException ex)
        {
            throw new PeerRefusedException(ex.getMessage(), ex);
        }
    }

    private static PeerCertificateException findCause(final Throwable error)
    {
        for (Throwable t = error; t != null; t = t.getCause() == t ? null : t.getCause())
        {
            if (t instanceof PeerCertificateException ours)
            {
                return ours;
            }
            for (final Throwable suppressed : t.getSuppressed())
            {
                if (suppressed instanceof PeerCertificateException ours)
                {
                    return ours;
                }
            }
        }
        return null;
    }

    @Override
    public boolean secure()
    {
        return true;
    }

    @Override
    public PeerIdentity self()
    {
        return self;
    }

    @Override
    public String describe()
    {
        return "mutual TLS 1.3 (" + provider.name().toLowerCase(java.util.Locale.ROOT) + ") as " + self;
    }
}
