package dev.replicator.core.nbd;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.SocketChannel;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * One client connection: negotiation, then the transmission phase. Its thread reads requests and
 * hands each to the server's workers, so several requests are served at once and replies go out
 * in the order they complete. A fixed pool of {@link NbdRequest} slots bounds the requests in
 * flight: with every slot busy the reader stops reading and TCP pushes back on the client. The
 * payload bytes of READs and WRITEs in flight are also bounded, server-wide, by a budget the reader
 * takes before reading a payload or starting a read, so many connections sending 32 MiB requests
 * cannot run the process out of memory.
 *
 * <p>A request that breaks the protocol (bad magic, a READ or WRITE longer than
 * {@link NbdProtocol#MAX_PAYLOAD_BYTES}) closes this connection with one log line; a well-formed but
 * invalid request (out of range, read-only export, unknown command) gets an error reply.
 */
final class NbdConnection implements Runnable
{
    private static final Logger LOG = LoggerFactory.getLogger(NbdConnection.class);
    private static final int KNOWN_FLAGS = NbdProtocol.CMD_FLAG_FUA | NbdProtocol.CMD_FLAG_NO_HOLE |
        NbdProtocol.CMD_FLAG_DF | NbdProtocol.CMD_FLAG_REQ_ONE | NbdProtocol.CMD_FLAG_FAST_ZERO;

    /** How often a reader waiting for payload budget checks whether its connection was closed. */
    private static final long BUDGET_POLL_MS = 100;

    private final SocketChannel channel;
    private final NbdExports exports;
    private final Executor workers;
    private final String peer;
    private final Runnable onClose;
    private final Semaphore payloadBudget;
    private final BlockingQueue<NbdRequest> free;
    private final int slots;
    private final Object writeLock = new Object();
    private final ByteBuffer requestHeader = ByteBuffer.allocateDirect(NbdRequestDecoder.HEADER_BYTES);
    private NbdSession session;
    private volatile boolean closed;

    NbdConnection(
        final SocketChannel channel,
        final NbdExports exports,
        final Executor workers,
        final int maxInFlight,
        final Semaphore payloadBudget,
        final String peer,
        final Runnable onClose)
    {
        this.payloadBudget = payloadBudget;
        this.channel = channel;
        this.exports = exports;
        this.workers = workers;
        this.peer = peer;
        this.onClose = onClose;
        this.slots = maxInFlight;
        this.free = new ArrayBlockingQueue<>(maxInFlight);
        for (int i = 0; i < maxInFlight; i++)
        {
            free.add(new NbdRequest());
        }
    }

    @Override
    public void run()
    {
        try
        {
            session = new NbdHandshake(channel, exports).negotiate();
            if (session != null)
            {
                LOG.debug("nbd {}: serving export '{}'", peer, session.exportName());
                transmit();
            }
        }
        catch (final NbdProtocolException ex)
        {
            LOG.warn("nbd {}: closing the connection: {}", peer, ex.getMessage());
        }
        catch (final EOFException | AsynchronousCloseException ex)
        {
            LOG.debug("nbd {}: connection closed", peer);
        }
        catch (final IOException ex)
        {
            if (!closed)
            {
                LOG.info("nbd {}: connection failed: {}", peer, ex.getMessage());
            }
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
        }
        finally
        {
            close();
        }
    }

    private void transmit() throws IOException, InterruptedException
    {
        final NbdBackend backend = session.backend();
        while (true)
        {
            final NbdRequest request = free.take();
            requestHeader.clear();
            NbdIo.readFully(channel, requestHeader);
            NbdRequestDecoder.decode(requestHeader, request);
            if (request.type == NbdProtocol.CMD_DISC)
            {
                free.add(request);
                drain();
                return;
            }
            final boolean hasPayload = request.type == NbdProtocol.CMD_WRITE;
            if ((hasPayload || request.type == NbdProtocol.CMD_READ) &&
                Integer.compareUnsigned(request.length, NbdProtocol.MAX_PAYLOAD_BYTES) > 0)
            {
                throw new NbdProtocolException("request type " + request.type + " of " +
                    Integer.toUnsignedString(request.length) + " bytes exceeds the " + NbdProtocol.MAX_PAYLOAD_BYTES +
                    "-byte maximum");
            }
            if (hasPayload || request.type == NbdProtocol.CMD_READ)
            {
                acquireBudget(request);
            }
            if (hasPayload)
            {
                try
                {
                    NbdIo.readFully(channel, request.data(request.length));
                }
                catch (final IOException ex)
                {
                    release(request);
                    throw ex;
                }
                request.data.flip();
            }
            final int error = validate(request, backend);
            if (error != 0)
            {
                replyError(request, error);
                release(request);
                continue;
            }
            try
            {
                workers.execute(() -> serve(request));
            }
            catch (final RejectedExecutionException ex)
            {
                release(request);
                throw new AsynchronousCloseException();
            }
        }
    }

    private int validate(final NbdRequest request, final NbdBackend backend)
    {
        if ((request.flags & ~KNOWN_FLAGS) != 0)
        {
            return NbdProtocol.EINVAL;
        }
        final long length = Integer.toUnsignedLong(request.length);
        final boolean inRange = request.offset >= 0 && length <= backend.size() - request.offset;
        switch (request.type)
        {
            case NbdProtocol.CMD_READ:
                return inRange ? 0 : NbdProtocol.EINVAL;
            case NbdProtocol.CMD_WRITE:
            case NbdProtocol.CMD_WRITE_ZEROES:
                if (backend.readOnly())
                {
                    return NbdProtocol.EPERM;
                }
                return inRange ? 0 : NbdProtocol.ENOSPC;
            case NbdProtocol.CMD_TRIM:
                if (backend.readOnly())
                {
                    return NbdProtocol.EPERM;
                }
                return inRange ? 0 : NbdProtocol.EINVAL;
            case NbdProtocol.CMD_FLUSH:
                return 0;
            case NbdProtocol.CMD_BLOCK_STATUS:
                return session.baseAllocation() && inRange && length > 0 ? 0 : NbdProtocol.EINVAL;
            default:
                return NbdProtocol.EINVAL;
        }
    }

    /** Runs on a worker: one request against the backend, then its reply. */
    private void serve(final NbdRequest request)
    {
        final NbdBackend backend = session.backend();
        int error = 0;
        try
        {
            switch (request.type)
            {
                case NbdProtocol.CMD_READ -> backend.read(request.offset, request.data(request.length));
                case NbdProtocol.CMD_WRITE -> backend.write(request.offset, request.data, request.fua());
                case NbdProtocol.CMD_WRITE_ZEROES ->
                    backend.writeZeroes(request.offset, Integer.toUnsignedLong(request.length), request.fua());
                case NbdProtocol.CMD_TRIM ->
                {
                    backend.trim(request.offset, Integer.toUnsignedLong(request.length));
                    if (request.fua())
                    {
                        backend.flush();
                    }
                }
                case NbdProtocol.CMD_FLUSH -> backend.flush();
                case NbdProtocol.CMD_BLOCK_STATUS ->
                {
                    request.startStatus();
                    backend.blockStatus(request.offset, Integer.toUnsignedLong(request.length), request);
                }
                default -> error = NbdProtocol.EINVAL;
            }
        }
        catch (final NbdBackendException ex)
        {
            error = ex.errno();
            LOG.debug("nbd {}: request type {} refused: {}", peer, request.type, ex.getMessage());
        }
        catch (final IOException | RuntimeException ex)
        {
            error = NbdProtocol.EIO;
            LOG.warn("nbd {}: request type {} at offset {} failed: {}", peer, request.type, request.offset,
                ex.toString());
        }
        try
        {
            if (error != 0)
            {
                replyError(request, error);
            }
            else
            {
                reply(request);
            }
        }
        catch (final IOException ex)
        {
            if (!closed)
            {
                LOG.info("nbd {}: reply failed, closing: {}", peer, ex.getMessage());
            }
            close();
        }
        finally
        {
            release(request);
        }
    }

    private void reply(final NbdRequest request) throws IOException
    {
        final ByteBuffer header = request.replyHeader;
        switch (request.type)
        {
            case NbdProtocol.CMD_READ ->
            {
                request.data.flip();
                if (session.structuredReplies() && request.length == 0)
                {
                    // An OFFSET_DATA chunk may not be empty.
                    send(NbdReplyEncoder.none(header, request.cookie), null);
                }
                else if (session.structuredReplies())
                {
                    send(NbdReplyEncoder.offsetData(header, request.cookie, request.offset, request.length),
                        request.data);
                }
                else
                {
                    send(NbdReplyEncoder.simple(header, request.cookie, 0), request.data);
                }
            }
            case NbdProtocol.CMD_BLOCK_STATUS ->
            {
                request.data.flip();
                if (!request.data.hasRemaining())
                {
                    // A backend must describe at least one extent; a reply with none is malformed.
                    replyError(request, NbdProtocol.EIO);
                    return;
                }
                send(NbdReplyEncoder.blockStatus(header, request.cookie, request.data.remaining() / 8), request.data);
            }
            default -> send(NbdReplyEncoder.simple(header, request.cookie, 0), null);
        }
    }

    private void replyError(final NbdRequest request, final int error) throws IOException
    {
        final boolean chunked = session.structuredReplies() &&
            (request.type == NbdProtocol.CMD_READ || request.type == NbdProtocol.CMD_BLOCK_STATUS);
        send(chunked ? NbdReplyEncoder.error(request.replyHeader, request.cookie, error) :
            NbdReplyEncoder.simple(request.replyHeader, request.cookie, error), null);
    }

    private void send(final ByteBuffer header, final ByteBuffer data) throws IOException
    {
        synchronized (writeLock)
        {
            if (data == null)
            {
                NbdIo.writeFully(channel, header);
            }
            else
            {
                NbdIo.writeFully(channel, header, data);
            }
        }
    }

    /** Waits for the request's share of the payload budget, or until this connection is closed. */
    private void acquireBudget(final NbdRequest request) throws IOException, InterruptedException
    {
        final int kib = (int)((Integer.toUnsignedLong(request.length) + 1023) / 1024);
        while (!payloadBudget.tryAcquire(kib, BUDGET_POLL_MS, TimeUnit.MILLISECONDS))
        {
            if (closed)
            {
                free.add(request);
                throw new AsynchronousCloseException();
            }
        }
        request.budgetKib = kib;
    }

    /** Returns a slot and its share of the server's payload budget. */
    private void release(final NbdRequest request)
    {
        payloadBudget.release(request.budgetKib);
        request.budgetKib = 0;
        request.trimBuffer();
        free.add(request);
    }

    /** Waits until every request in flight has replied (NBD_CMD_DISC). */
    private void drain() throws InterruptedException
    {
        for (int i = 0; i < slots; i++)
        {
            free.take();
        }
    }

    synchronized void close()
    {
        if (closed)
        {
            return;
        }
        closed = true;
        try
        {
            channel.close();
        }
        catch (final IOException ex)
        {
            LOG.debug("nbd {}: close: {}", peer, ex.getMessage());
        }
        onClose.run();
    }
}
