package dev.replicator.core.codec;

import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * Plain bytes processed, reported by JMH next to ops as the secondary result {@code :bytes} in
 * the benchmark's throughput unit. With {@code @OutputTimeUnit(MICROSECONDS)} that is bytes/us,
 * which is MB/s (10^6 bytes); divide by 1000 for GB/s.
 */
@State(Scope.Thread)
@AuxCounters(AuxCounters.Type.OPERATIONS)
public class BytesProcessed
{
    /** Public: JMH reads the field by name. */
    public long bytes;

    @Setup(Level.Iteration)
    public void reset()
    {
        bytes = 0;
    }
}
