package dev.replicator.core.ext;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * What a {@link FaultProxy} has done since it started: connections, bytes forwarded per direction,
 * faults injected per direction and kind. Thread-safe: the proxy's threads write, anyone reads.
 * Values are read one at a time, so a reader racing the proxy may see a fault counted before the
 * bytes around it.
 */
public final class FaultCounters
{
    private static final FaultKind[] KINDS = FaultKind.values();
    private static final FaultDirection[] DIRECTIONS = FaultDirection.values();

    private final AtomicLong connections = new AtomicLong();
    private final AtomicLong upstreamConnectFailures = new AtomicLong();
    private final AtomicLongArray bytes = new AtomicLongArray(DIRECTIONS.length);
    private final AtomicLongArray faults = new AtomicLongArray(DIRECTIONS.length * KINDS.length);

    FaultCounters()
    {
    }

    /** Client connections accepted (each one numbered from 1 in accept order). */
    public long connections()
    {
        return connections.get();
    }

    /** Accepted clients whose connection to the server failed; the client was closed. */
    public long upstreamConnectFailures()
    {
        return upstreamConnectFailures.get();
    }

    /** Bytes written to the receiving side of {@code direction}. */
    public long bytesForwarded(final FaultDirection direction)
    {
        return bytes.get(direction.ordinal());
    }

    public long faultsInjected(final FaultDirection direction, final FaultKind kind)
    {
        return faults.get(index(direction, kind));
    }

    /** Both directions. */
    public long faultsInjected(final FaultKind kind)
    {
        long total = 0;
        for (final FaultDirection direction : DIRECTIONS)
        {
            total += faultsInjected(direction, kind);
        }
        return total;
    }

    public long totalFaultsInjected()
    {
        long total = 0;
        for (final FaultKind kind : KINDS)
        {
            total += faultsInjected(kind);
        }
        return total;
    }

    int onConnection()
    {
        return (int)connections.incrementAndGet();
    }

    void onUpstreamConnectFailure()
    {
        upstreamConnectFailures.incrementAndGet();
    }

    void onForwarded(final FaultDirection direction, final int count)
    {
        bytes.addAndGet(direction.ordinal(), count);
    }

    void onFault(final FaultDirection direction, final FaultKind kind)
    {
        faults.incrementAndGet(index(direction, kind));
    }

    private static int index(final FaultDirection direction, final FaultKind kind)
    {
        return direction.ordinal() * KINDS.length + kind.ordinal();
    }

    /** One line, e.g. {@code connections=12 bytesUp=1048576 bytesDown=4096 DROP=1+0 FLIP=3+1 ...} (up+down). */
    @Override
    public String toString()
    {
        final StringBuilder sb = new StringBuilder()
            .append("connections=").append(connections())
            .append(" bytesUp=").append(bytesForwarded(FaultDirection.UPSTREAM))
            .append(" bytesDown=").append(bytesForwarded(FaultDirection.DOWNSTREAM));
        for (final FaultKind kind : KINDS)
        {
            sb.append(' ').append(kind).append('=')
                .append(faultsInjected(FaultDirection.UPSTREAM, kind)).append('+')
                .append(faultsInjected(FaultDirection.DOWNSTREAM, kind));
        }
        return sb.toString();
    }
}
