package dev.replicator.core.security;

import java.security.cert.CertificateException;

/**
 * A peer's certificate failed one of our checks; the message is one sentence for the log. JSSE
 * wraps it in the handshake failure, where {@link TlsTransport} finds it again.
 */
final class PeerCertificateException extends CertificateException
{
    private static final long serialVersionUID = 1L;

    PeerCertificateException(final String message)
    {
        super(message);
    }

    PeerCertificateException(final String message, final Throwable cause)
    {
        super(message, cause);
    }
}
