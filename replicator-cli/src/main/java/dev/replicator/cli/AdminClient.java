package dev.replicator.cli;

import dev.replicator.core.config.HostPort;
import dev.replicator.core.security.PeerRefusedException;
import dev.replicator.core.security.Transport;
import dev.replicator.core.wire.Frame;
import dev.replicator.core.wire.FrameChannel;
import dev.replicator.core.wire.MessageType;
import dev.replicator.core.wire.Messages;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

import java.io.EOFException;
import java.io.IOException;
import java.net.Socket;
import java.util.Map;
import javax.net.ssl.SSLException;

/**
 * The CLI's side of the admin protocol: one connection per command to the target, one request,
 * progress frames rendered as a bar with rate and ETA when stdout is a terminal, one response.
 */
final class AdminClient
{
    private static final int CONNECT_TIMEOUT_MS = 3000;

    private final HostPort target;
    private final Transport transport;

    AdminClient(final HostPort target, final Transport transport)
    {
        this.target = target;
        this.transport = transport;
    }

    Messages.AdminResponse call(final String command, final Map<String, String> args) throws CliException
    {
        final Socket socket;
        try
        {
            socket = transport.connect(target, CONNECT_TIMEOUT_MS);
        }
        catch (final PeerRefusedException ex)
        {
            throw new CliException(1, ex.getMessage() + " (does the target run TLS with this certificate's CA?)");
        }
        catch (final IOException ex)
        {
            throw new CliException(1, "cannot reach the target at " + target + " (" + ex.getMessage() +
                "); is 'replicator target run' running there? Use --target HOST:PORT or REPLICATOR_TARGET");
        }
        ProgressBar bar = null;
        try (FrameChannel channel = new FrameChannel(socket))
        {
            channel.send(MessageType.ADMIN_REQUEST, 0, 0, new Messages.AdminRequest(command, args));
            while (true)
            {
                final Frame frame = channel.read();
                if (frame.type() == MessageType.ADMIN_PROGRESS)
                {
                    final Messages.AdminProgress progress = frame.bodyAs(Messages.AdminProgress.class);
                    if (System.console() != null && progress.total() > 0)
                    {
                        if (bar == null)
                        {
                            bar = new ProgressBarBuilder().setTaskName(progress.phase())
                                .setInitialMax(progress.total()).setUnit("MiB", 1 << 20).showSpeed()
                                .setStyle(ProgressBarStyle.ASCII).build();
                        }
                        bar.stepTo(progress.done());
                    }
                }
                else if (frame.type() == MessageType.ADMIN_RESPONSE)
                {
                    return frame.bodyAs(Messages.AdminResponse.class);
                }
                else
                {
                    throw new CliException(1, "the target answered with an unexpected " + frame.type());
                }
            }
        }
        catch (final SSLException ex)
        {
            throw new CliException(1, "the target at " + target + " ended TLS during '" + command + "': " +
                ex.getMessage() + " (it refuses certificates that are expired, deny-listed or not from its CA; " +
                "see its log)");
        }
        catch (final IOException ex)
        {
            // A target that stops mid-command closes the socket: EOF has no message of its own.
            final String why = ex instanceof EOFException || ex.getMessage() == null ?
                "the target closed the connection" : ex.getMessage();
            throw new CliException(1, "lost the connection to the target at " + target + " during '" + command +
                "': " + why + "; 'replicator status' shows what was done");
        }
        finally
        {
            if (bar != null)
            {
                bar.close();
            }
        }
    }

}
