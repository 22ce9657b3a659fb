package dev.replicator.core.wire;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.Closeable;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.TimeUnit;

/**
 * Frames over one connection's byte streams. Blocking I/O on a {@link Socket}, so that a TLS
 * socket drops in without changing anything above this class.
 *
 * <p>Threading: one thread reads ({@link #read()}); any thread may write, writes are serialised.
 * The receive buffer is reused: a {@link Frame} is valid until the next read.
 */
public final class FrameChannel implements Closeable
{
    private static final int STREAM_BUFFER_BYTES = 256 * 1024;

    private final Socket socket;
    private final DataInputStream in;
    private final OutputStream out;
    private final Frame frame = new Frame();
    private final byte[] lengthField = new byte[Integer.BYTES];
    private final byte[] peekHeader = new byte[FrameDescriptor.HEADER_LENGTH];
    private final String peer;
    private ByteBuffer receiveBuffer = ByteBuffer.allocate(64 * 1024).order(ByteOrder.LITTLE_ENDIAN);
    private final ByteBuffer controlBuffer = ByteBuffer.allocate(FrameDescriptor.MAX_FRAME_LENGTH)
        .order(ByteOrder.LITTLE_ENDIAN);

    public FrameChannel(final Socket socket) throws IOException
    {
        this.socket = socket;
        socket.setTcpNoDelay(true);
        this.in = new DataInputStream(new BufferedInputStream(socket.getInputStream(), STREAM_BUFFER_BYTES));
        this.out = new BufferedOutputStream(socket.getOutputStream(), STREAM_BUFFER_BYTES);
        this.peer = String.valueOf(socket.getRemoteSocketAddress());
    }

    public String peer()
    {
        return peer;
    }

    /** Read timeout: a peer silent for longer is treated as gone (it sends heartbeats when idle). */
    public void readTimeoutMs(final int timeoutMs) throws IOException
    {
        socket.setSoTimeout(timeoutMs);
    }

    /**
     * Reads the next whole frame and checks its length, version, type and CRC32C.
     *
     * @throws EOFException          if the peer closed the connection, between frames or inside one
     *                               (the message says which).
     * @throws CorruptFrameException if the frame fails a check; the stream can't be trusted after it.
     */
    public Frame read() throws IOException
    {
        final int lengthBytes = in.readNBytes(lengthField, 0, Integer.BYTES);
        if (lengthBytes < Integer.BYTES)
        {
            throw new EOFException(lengthBytes == 0 ? peer + " closed the connection" :
                peer + " closed the connection inside a frame's length field (" + lengthBytes + " of 4 bytes)");
        }
        final int length = (lengthField[0] & 0xFF) | (lengthField[1] & 0xFF) << 8 | (lengthField[2] & 0xFF) << 16 |
            (lengthField[3] & 0xFF) << 24;
        if (length < FrameDescriptor.HEADER_LENGTH || length > FrameDescriptor.MAX_FRAME_LENGTH)
        {
            throw new CorruptFrameException("frame length " + length + " is outside [" +
                FrameDescriptor.HEADER_LENGTH + ", " + FrameDescriptor.MAX_FRAME_LENGTH + "]");
        }
        if (receiveBuffer.capacity() < length)
        {
            receiveBuffer = ByteBuffer.allocate(Math.min(FrameDescriptor.MAX_FRAME_LENGTH,
                Math.max(length, receiveBuffer.capacity() * 2))).order(ByteOrder.LITTLE_ENDIAN);
        }
        final byte[] array = receiveBuffer.array();
        receiveBuffer.putInt(0, length);
        // The length is trusted before the CRC can be checked: read the header first and refuse a
        // length its type cannot have, and give the body a deadline, so that a damaged length can
        // neither allocate without bound nor leave this side waiting forever on bytes that trickle in.
        readWithin(array, 4, FrameDescriptor.HEADER_LENGTH - 4, length);
        final MessageType type = MessageType.fromCode(array[FrameDescriptor.TYPE_OFFSET]);
        if (type != null && type.headerOnly() && length != FrameDescriptor.HEADER_LENGTH)
        {
            throw new CorruptFrameException(type + " frame with a length of " + length + " (it has no body)");
        }
        readWithin(array, FrameDescriptor.HEADER_LENGTH, length - FrameDescriptor.HEADER_LENGTH, length);
        Frames.verify(receiveBuffer, length);
        frame.wrap(receiveBuffer, length);
        return frame;
    }

    /**
     * Whether the next frame's header has already arrived (buffered here or in the socket) and says
     * {@code type}: a {@link #read()} would not wait for the peer to send it. Never blocks; consumes
     * nothing. A receiver uses it to take frames that are already waiting into one group commit.
     */
    public boolean hasBufferedFrame(final MessageType type) throws IOException
    {
        if (in.available() < FrameDescriptor.HEADER_LENGTH)
        {
            return false;
        }
        in.mark(FrameDescriptor.HEADER_LENGTH);
        try
        {
            final int n = in.readNBytes(peekHeader, 0, FrameDescriptor.HEADER_LENGTH);
            return n == FrameDescriptor.HEADER_LENGTH && peekHeader[FrameDescriptor.TYPE_OFFSET] == type.code();
        }
        finally
        {
            in.reset();
        }
    }

    private void readWithin(final byte[] array, final int offset, final int count, final int frameLength)
        throws IOException
    {
        final int timeoutMs = socket.getSoTimeout();
        final long deadlineNs = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        int done = 0;
        while (done < count)
        {
            final int n = in.read(array, offset + done, count - done);
            if (n < 0)
            {
                throw new EOFException(peer + " closed the connection after " + (offset + done) + " of the " +
                    frameLength + " bytes of a frame");
            }
            done += n;
            if (timeoutMs > 0 && done < count && deadlineNs - System.nanoTime() < 0)
            {
                throw new CorruptFrameException("frame of " + frameLength + " bytes still incomplete after " +
                    timeoutMs + " ms (" + (offset + done) + " bytes came): its length is likely damaged");
            }
        }
    }

    /** Writes a finished frame (position 0, limit = its length) and flushes. */
    public synchronized void write(final ByteBuffer finishedFrame) throws IOException
    {
        out.write(finishedFrame.array(), finishedFrame.arrayOffset() + finishedFrame.position(),
            finishedFrame.remaining());
        out.flush();
    }

    /** Sends a frame whose body is {@code body} as JSON (null: empty body). */
    public synchronized void send(final MessageType type, final long epoch, final long seq, final Object body)
        throws IOException
    {
        int length = FrameDescriptor.HEADER_LENGTH;
        if (body != null)
        {
            final byte[] json = Json.encode(body);
            if (json.length > FrameDescriptor.MAX_FRAME_LENGTH - FrameDescriptor.HEADER_LENGTH)
            {
                throw new ProtocolException(type + " body of " + json.length + " bytes is too large for a frame");
            }
            controlBuffer.clear();
            controlBuffer.position(FrameDescriptor.HEADER_LENGTH);
            controlBuffer.put(json);
            length += json.length;
        }
        write(Frames.finish(controlBuffer, length, type, epoch, seq, 0));
    }

    /** Sends a frame with a binary body already written at [HEADER_LENGTH, frameLength) of {@code frame}. */
    public synchronized void sendBinary(
        final ByteBuffer frameBuffer, final int frameLength, final MessageType type, final long epoch, final long seq,
        final int count) throws IOException
    {
        write(Frames.finish(frameBuffer, frameLength, type, epoch, seq, count));
    }

    /**
     * Half-closes: the peer reads everything sent so far, then the end of the stream, while this side
     * can still read. Closing outright with frames unread makes the kernel reset the connection, and a
     * reset can cost the peer the last frames it had not read yet.
     */
    public void shutdownOutput() throws IOException
    {
        socket.shutdownOutput();
    }

    public boolean isClosed()
    {
        return socket.isClosed();
    }

    @Override
    public void close() throws IOException
    {
        socket.close();
    }
}
