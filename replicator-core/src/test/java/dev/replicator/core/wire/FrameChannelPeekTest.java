package dev.replicator.core.wire;

import dev.replicator.core.test.Await;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/** {@link FrameChannel#hasBufferedFrame}: sees a waiting frame's type without consuming it, never blocks. */
class FrameChannelPeekTest
{
    @Test
    void shouldSeeWaitingFramesByTypeWithoutConsumingThem() throws IOException
    {
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
            Socket client = new Socket(server.getInetAddress(), server.getLocalPort());
            FrameChannel sender = new FrameChannel(client);
            FrameChannel receiver = new FrameChannel(server.accept()))
        {
            assertThat(receiver.hasBufferedFrame(MessageType.HEARTBEAT)).as("nothing sent yet").isFalse();

            sender.send(MessageType.HEARTBEAT, 3, 41, null);
            sender.send(MessageType.ACK, 3, 42, null);
            Await.until(() -> peek(receiver, MessageType.HEARTBEAT), Duration.ofSeconds(10), "the heartbeat to arrive");
            assertThat(receiver.hasBufferedFrame(MessageType.ACK)).as("the next frame is a heartbeat").isFalse();

            final Frame heartbeat = receiver.read();
            assertThat(heartbeat.type()).isEqualTo(MessageType.HEARTBEAT);
            assertThat(heartbeat.seq()).isEqualTo(41);
            Await.until(() -> peek(receiver, MessageType.ACK), Duration.ofSeconds(10), "the ack to be seen");
            final Frame ack = receiver.read();
            assertThat(ack.type()).isEqualTo(MessageType.ACK);
            assertThat(ack.seq()).isEqualTo(42);

            assertThat(receiver.hasBufferedFrame(MessageType.ACK)).as("both frames consumed").isFalse();
        }
    }

    private static boolean peek(final FrameChannel channel, final MessageType type)
    {
        try
        {
            return channel.hasBufferedFrame(type);
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
    }
}
