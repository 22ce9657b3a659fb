package dev.replicator.target.image;

/**
 * Receives the xxHash64 fingerprint ({@link dev.replicator.core.codec.Checksums#xxHash64}) of every
 * block a materialization writes, in ascending block order, computed from the bytes written. Called
 * on the thread doing the work; it need not be thread-safe.
 */
@FunctionalInterface
public interface BlockFingerprintSink
{
    void accept(long blockIndex, long xxHash64);
}
