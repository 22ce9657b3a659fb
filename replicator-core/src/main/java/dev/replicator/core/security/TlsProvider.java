package dev.replicator.core.security;

import org.bouncycastle.jsse.provider.BouncyCastleJsseProvider;

import java.security.NoSuchAlgorithmException;
import java.security.Provider;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;

/**
 * Which JSSE implementation runs the TLS 1.3 connections ({@code tls.provider}). Both were measured
 * in one run by {@code scripts/bench-tls.sh} (handshakes and bulk throughput over loopback);
 * docs/SECURITY.md has the figures and the reason for the default.
 */
public enum TlsProvider
{
    /** The JDK's SunJSSE: AES-GCM through the JVM's AES-NI/CLMUL intrinsics. */
    JDK,
    /** Bouncy Castle's JSSE (bctls) over the JVM's JCA crypto. */
    BC;

    /** The default, the faster of the two in the measurements. */
    public static final TlsProvider DEFAULT = JDK;

    SSLContext newContext() throws NoSuchAlgorithmException
    {
        return this == JDK ? SSLContext.getInstance("TLSv1.3") :
            SSLContext.getInstance("TLSv1.3", BcHolder.PROVIDER);
    }

    /** Each provider's own key manager: BC JSSE finds no TLS 1.3 credential through SunX509's. */
    KeyManagerFactory newKeyManagerFactory() throws NoSuchAlgorithmException
    {
        return this == JDK ? KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm()) :
            KeyManagerFactory.getInstance("PKIX", BcHolder.PROVIDER);
    }

    public static TlsProvider parse(final String text)
    {
        return switch (text)
        {
            case "jdk" -> JDK;
            case "bc" -> BC;
            default -> throw new IllegalArgumentException("'" + text + "' is not a TLS provider (jdk or bc)");
        };
    }

    /** Made once, on first use: creating the provider is not free. */
    private static final class BcHolder
    {
        /**
         * BC JSSE logs every handshake and close at INFO through java.util.logging: a line per admin
         * command in the target's log. Held here, as the logging framework keeps loggers weakly.
         */
        static final java.util.logging.Logger JSSE_LOG = quiet(java.util.logging.Logger.getLogger("org.bouncycastle.jsse"));
        static final Provider PROVIDER = new BouncyCastleJsseProvider();

        private static java.util.logging.Logger quiet(final java.util.logging.Logger logger)
        {
            logger.setLevel(java.util.logging.Level.WARNING);
            return logger;
        }
    }
}
