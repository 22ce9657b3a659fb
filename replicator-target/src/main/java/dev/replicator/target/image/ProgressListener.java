package dev.replicator.target.image;

/**
 * Told how far a long operation (materializing an image) has got. Called on the thread doing the work,
 * once per chunk, so it must be cheap; it need not be thread-safe.
 */
@FunctionalInterface
public interface ProgressListener
{
    void onProgress(long bytesDone, long bytesTotal);
}
