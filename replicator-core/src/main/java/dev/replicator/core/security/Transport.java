package dev.replicator.core.security;

import dev.replicator.core.config.HostPort;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;

/**
 * How a node opens its connections: mutual TLS 1.3 ({@link TlsTransport}) or, only when asked for
 * explicitly, plaintext ({@link PlainTransport}). Everything above it sees a blocking {@link Socket}.
 *
 * <pre>
 *   agent, admin CLI --connect()--&gt;  ==TLS 1.3, both sides show certificates==  --listen()/handshake()--&gt; target
 * </pre>
 */
public interface Transport
{
    /** Connects and, for TLS, completes the handshake (the server must hold a target certificate). */
    Socket connect(HostPort address, int timeoutMs) throws IOException;

    /** A bound listening socket whose accepted sockets go to {@link #handshake}. */
    ServerSocket listen(HostPort address, int backlog) throws IOException;

    /**
     * Completes the server side of an accepted connection's handshake.
     *
     * @return who connected ({@link PeerIdentity#UNAUTHENTICATED} in plaintext).
     * @throws PeerRefusedException if the peer's certificate is missing or not trusted; the message
     *                              is one sentence for the log.
     */
    PeerIdentity handshake(Socket accepted, int timeoutMs) throws IOException;

    boolean secure();

    /** Who this end is ({@link PeerIdentity#UNAUTHENTICATED} in plaintext). */
    PeerIdentity self();

    /** For the start-up log line, e.g. "mutual TLS 1.3 (jdk) as target 'dr-site'". */
    String describe();

    /**
     * The transport for settled settings: a {@link TlsSettings.Mode#UNSET} must be resolved first.
     *
     * @throws IOException if TLS material cannot be read or does not fit together.
     */
    static Transport of(final TlsSettings settings) throws IOException
    {
        return switch (settings.mode())
        {
            case INSECURE -> PlainTransport.INSTANCE;
            case TLS -> TlsTransport.load(settings);
            case UNSET -> throw new IllegalStateException("TLS settings not resolved: call TlsSettings.resolve first");
        };
    }
}
