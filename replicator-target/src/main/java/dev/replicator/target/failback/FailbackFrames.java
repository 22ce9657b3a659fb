package dev.replicator.target.failback;

import dev.replicator.core.wire.DataFrameEncoder;
import dev.replicator.core.wire.FrameDescriptor;
import dev.replicator.core.wire.MessageType;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;

/**
 * The FAILBACK_DATA frames of one failback pass on their way to the primary: the frame being built,
 * and a window of frames sent and not yet acknowledged. Block and tree failback fill the encoder
 * their own way and share the sending.
 */
final class FailbackFrames
{
    private final FailbackPeer peer;
    private final long epoch;
    private final int windowFrames;
    private final DataFrameEncoder encoder = new DataFrameEncoder(
        FrameDescriptor.MAX_FRAME_LENGTH, FrameDescriptor.MAX_PLAIN_BYTES_PER_FRAME);
    /** Seqs of frames sent and not yet acknowledged, oldest first. */
    private final ArrayDeque<Long> inflight = new ArrayDeque<>();
    private long wireBytes;

    FailbackFrames(final FailbackPeer peer, final long epoch, final int windowFrames)
    {
        this.peer = peer;
        this.epoch = epoch;
        this.windowFrames = windowFrames;
        encoder.begin();
    }

    /** The frame being built. */
    DataFrameEncoder encoder()
    {
        return encoder;
    }

    /** Sends the frame being built (if it holds anything), first waiting for room in the window. */
    void flush() throws IOException
    {
        if (encoder.isEmpty())
        {
            return;
        }
        final ByteBuffer frame = encoder.finish(MessageType.FAILBACK_DATA, epoch);
        wireBytes += frame.remaining();
        final long frameSeq = encoder.lastSeq();
        if (inflight.size() == windowFrames)
        {
            peer.awaitOldest(inflight);
        }
        peer.send(frame);
        inflight.addLast(frameSeq);
        encoder.begin();
    }

    /** Waits until the primary has made every frame sent so far durable. */
    void awaitAll() throws IOException
    {
        if (!inflight.isEmpty())
        {
            peer.awaitAck(inflight.peekLast());
            inflight.clear();
        }
    }

    /** Bytes of every frame sent. */
    long wireBytes()
    {
        return wireBytes;
    }
}
