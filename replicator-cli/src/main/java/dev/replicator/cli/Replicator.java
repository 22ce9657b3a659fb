package dev.replicator.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.replicator.agent.Agent;
import dev.replicator.agent.AgentConfig;
import dev.replicator.agent.AgentStatus;
import dev.replicator.core.config.ConfigException;
import dev.replicator.core.config.HostPort;
import dev.replicator.core.security.TlsSettings;
import dev.replicator.core.wire.Json;
import dev.replicator.core.wire.Messages;
import dev.replicator.target.Target;
import dev.replicator.target.TargetConfig;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZoneId;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

/**
 * {@code replicator}: the one command-line program. Daemons ({@code target run}, {@code agent run})
 * and admin commands that talk to a target over its admin protocol. Exit codes: 0 ok, 1 runtime
 * failure, 2 bad input.
 */
@Command(name = "replicator", mixinStandardHelpOptions = true, versionProvider = Replicator.Version.class,
    description = "Block replication with point-in-time images, failover and delta failback.",
    subcommands = {
        Replicator.TargetCommand.class,
        Replicator.AgentCommand.class,
        Replicator.StatusCommand.class,
        Replicator.ImagesCommand.class,
        Replicator.CheckpointCommand.class,
        Replicator.FailoverCommand.class,
        Replicator.FailbackCommand.class,
        Replicator.VerifyCommand.class,
        CertsCommand.class,
        BenchWorkloadCommand.class
    })
public final class Replicator implements Callable<Integer>
{
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(final String[] args)
    {
        System.exit(run(args));
    }

    static int run(final String... args)
    {
        final CommandLine cli = CommandTree.forArgs(args);
        cli.setExecutionExceptionHandler((ex, commandLine, parseResult) ->
        {
            final PrintWriter err = commandLine.getErr();
            if (ex instanceof CliException cliEx)
            {
                err.println("replicator: " + cliEx.getMessage());
                return cliEx.exitCode();
            }
            if (ex instanceof ConfigException)
            {
                err.println("replicator: " + ex.getMessage());
                return 2;
            }
            err.println("replicator: " + ex);
            return 1;
        });
        return cli.execute(args);
    }

    @Override
    public Integer call()
    {
        spec.commandLine().usage(spec.commandLine().getOut());
        return 2;
    }

    /** {@code --version}: the build's version, from the jar manifest ("dev" when run from classes). */
    static final class Version implements CommandLine.IVersionProvider
    {
        @Override
        public String[] getVersion()
        {
            final String version = Replicator.class.getPackage().getImplementationVersion();
            return new String[] {"replicator " + (version == null ? "dev" : version)};
        }
    }

    /** Where admin commands find the target. */
    static final class TargetOption
    {
        @Option(names = "--target", paramLabel = "HOST:PORT",
            description = "the target's address (default: $REPLICATOR_TARGET, else 127.0.0.1:7400)")
        String target;

        @Option(names = "--tls-dir", paramLabel = "DIR",
            description = "admin certificate from 'certs issue --admin' (default: $REPLICATOR_TLS_DIR)")
        Path tlsDir;

        @Option(names = "--insecure", description = "plaintext, no certificate (labs only; also REPLICATOR_INSECURE=1)")
        boolean insecure;

        AdminClient client() throws CliException
        {
            try
            {
                return new AdminClient(HostPort.parse(address(), "--target"), AdminTls.transport(tlsDir, insecure));
            }
            catch (final ConfigException ex)
            {
                throw new CliException(2, ex.getMessage());
            }
        }

        String address()
        {
            String address = target;
            if (address == null)
            {
                address = System.getenv("REPLICATOR_TARGET");
            }
            if (address == null || address.isEmpty())
            {
                address = "127.0.0.1:" + HostPort.DEFAULT_TARGET_PORT;
            }
            return address;
        }
    }

    static JsonNode request(final TargetOption target, final String command, final Map<String, String> args)
        throws CliException
    {
        final Messages.AdminResponse response = target.client().call(command, args);
        if (response.exitCode() != 0)
        {
            throw new CliException(response.exitCode(), response.message());
        }
        return response.data();
    }

    static Map<String, String> args(final String... keyValues)
    {
        final Map<String, String> map = new LinkedHashMap<>();
        for (int i = 0; i < keyValues.length; i += 2)
        {
            if (keyValues[i + 1] != null)
            {
                map.put(keyValues[i], keyValues[i + 1]);
            }
        }
        return map;
    }

    // ---------------------------------------------------------------- target

    @Command(name = "target", description = "Run the target (recovery site).", subcommands = TargetRun.class)
    static final class TargetCommand
    {
    }

    @Command(name = "run", description = "Run a target until stopped (SIGTERM or Ctrl-C).")
    static final class TargetRun implements Callable<Integer>
    {
        @Option(names = "--config", required = true, paramLabel = "FILE", description = "target config file")
        Path config;

        @Option(names = "--insecure", description = "plaintext, no certificates, no authorization (labs only; " +
            "also REPLICATOR_INSECURE=1 when the config names no TLS material)")
        boolean insecure;

        @Override
        public Integer call() throws Exception
        {
            TargetConfig targetConfig = TargetConfig.load(config);
            targetConfig = targetConfig.withTls(targetConfig.tls().resolve(insecure, TlsSettings.insecureEnv(),
                "tls.dir in " + config));
            final Target target = new Target(targetConfig).start();
            awaitShutdown(target);
            return 0;
        }
    }

    // ---------------------------------------------------------------- agent

    @Command(name = "agent", description = "Run or inspect an agent (production host).",
        subcommands = {AgentRun.class, AgentStatusCommand.class})
    static final class AgentCommand
    {
    }

    @Command(name = "run", description = "Protect the config's group until stopped (SIGTERM or Ctrl-C).")
    static final class AgentRun implements Callable<Integer>
    {
        @Option(names = "--config", required = true, paramLabel = "FILE", description = "agent config file")
        Path config;

        @Option(names = "--insecure", description = "plaintext, no certificates (labs only; also " +
            "REPLICATOR_INSECURE=1 when the config names no TLS material)")
        boolean insecure;

        @Override
        public Integer call() throws Exception
        {
            AgentConfig agentConfig = AgentConfig.load(config);
            agentConfig = agentConfig.withTls(agentConfig.tls().resolve(insecure, TlsSettings.insecureEnv(),
                "tls.dir in " + config));
            final Agent agent;
            try
            {
                agent = new Agent(agentConfig).start();
            }
            catch (final IOException ex)
            {
                throw new CliException(1, "agent could not start: " + ex.getMessage());
            }
            final Thread hook = new Thread(agent::close, "agent-shutdown");
            Runtime.getRuntime().addShutdownHook(hook);
            final int code = agent.awaitStop();
            if (agent.fatalRefusal() != null)
            {
                Runtime.getRuntime().removeShutdownHook(hook);
                agent.close();
                throw new CliException(2, "the target refused this agent: " + agent.fatalRefusal().message());
            }
            return code;
        }
    }

    @Command(name = "status", description = "Show the local agent's status (from its state dir).")
    static final class AgentStatusCommand implements Callable<Integer>
    {
        @Option(names = "--config", required = true, paramLabel = "FILE", description = "agent config file")
        Path config;

        @Option(names = "--json", description = "print JSON")
        boolean json;

        @Override
        public Integer call() throws Exception
        {
            final AgentConfig agentConfig = AgentConfig.load(config);
            final Path file = agentConfig.stateDir().resolve(AgentStatus.FILE_NAME);
            if (!Files.exists(file))
            {
                throw new CliException(1, "no status at " + file + ": the agent has not run yet");
            }
            final AgentStatus status = Json.mapper().readValue(file.toFile(), AgentStatus.class);
            if (json)
            {
                System.out.println(Json.encodeToString(status));
            }
            else
            {
                System.out.printf("group %s  role %s  epoch %d  %s%n", status.group(), status.role(), status.epoch(),
                    status.connected() ? "connected" : "not connected");
                System.out.printf("journal: last seq %d, acked %d, unshipped %d entries, %d bytes%n",
                    status.lastJournaledSeq(), status.ackedSeq(), status.lastJournaledSeq() - status.ackedSeq(),
                    status.journalBytes());
                System.out.printf("RPO lag %s when this status was written; capture mode %s%n",
                    StatusTable.duration(status.rpoLagMs()), status.captureMode());
                System.out.printf("scans: %d, last changed %d blocks; last checkpoint seq %d%n", status.scans(),
                    status.lastScanChangedBlocks(), status.lastCheckpointSeq());
                if (status.lastError() != null)
                {
                    System.out.println("last error: " + status.lastError());
                }
            }
            return 0;
        }
    }

    // ---------------------------------------------------------------- admin

    @Command(name = "status", description = "Show every group and volume at the target: role, epoch, connection, "
        + "RPO lag, throughput, journal use, backlog with ETA, last checkpoint, bitmap mode.")
    static final class StatusCommand implements Callable<Integer>
    {
        @CommandLine.Mixin
        TargetOption target = new TargetOption();

        @Option(names = "--json", description = "print JSON")
        boolean json;

        @Option(names = "--watch", description = "refresh until Ctrl-C")
        boolean watch;

        @Option(names = "--interval", paramLabel = "S", defaultValue = "2",
            description = "seconds between refreshes with --watch (default: ${DEFAULT-VALUE})")
        double intervalSeconds;

        @Option(names = "--count", paramLabel = "N", defaultValue = "0",
            description = "with --watch, stop after N refreshes (default: until Ctrl-C)")
        int count;

        @Override
        public Integer call() throws Exception
        {
            if (intervalSeconds < 0.1 || intervalSeconds > 86_400)
            {
                throw new CliException(2, "--interval must be between 0.1 and 86400 seconds");
            }
            if (count < 0)
            {
                throw new CliException(2, "--count must not be negative");
            }
            if (!watch)
            {
                print(request(target, "status", Map.of()));
                return 0;
            }
            final boolean terminal = System.console() != null;
            final long intervalNs = (long)(intervalSeconds * 1e9);
            for (int i = 0; count == 0 || i < count; i++)
            {
                final long startNs = System.nanoTime();
                if (terminal)
                {
                    // Clear the screen and home the cursor: the table refreshes in place.
                    System.out.print("\033[H\033[2J");
                }
                else if (i > 0)
                {
                    System.out.println();
                }
                System.out.println("replicator status of " + target.address() + " at " +
                    java.time.LocalTime.now().withNano(0) + " (every " + intervalSeconds + " s; Ctrl-C ends)");
                try
                {
                    print(request(target, "status", Map.of()));
                }
                catch (final CliException ex)
                {
                    // A watch outlives a target restart: say so and keep watching.
                    System.out.println("replicator: " + ex.getMessage());
                }
                System.out.flush();
                if (count != 0 && i == count - 1)
                {
                    break;
                }
                final long deadlineNs = startNs + intervalNs;
                long remainingNs;
                while ((remainingNs = deadlineNs - System.nanoTime()) > 0)
                {
                    java.util.concurrent.locks.LockSupport.parkNanos(remainingNs);
                }
            }
            return 0;
        }

        private void print(final JsonNode data)
        {
            System.out.print(json ? Json.pretty(data) + System.lineSeparator() : StatusTable.render(data));
        }
    }

    @Command(name = "images", description = "List, export point-in-time images.",
        subcommands = {ImagesList.class, ImagesExport.class, ImagesUnexport.class})
    static final class ImagesCommand
    {
    }

    @Command(name = "list", description = "List images (checkpoints): id, seq, time, label, blocks changed.")
    static final class ImagesList implements Callable<Integer>
    {
        @CommandLine.Mixin
        TargetOption target = new TargetOption();

        @Option(names = "--group", paramLabel = "G", description = "only this group")
        String group;

        @Option(names = "--json", description = "print JSON")
        boolean json;

        @Override
        public Integer call() throws Exception
        {
            final JsonNode data = request(target, "images.list", args("group", group));
            if (json)
            {
                System.out.println(Json.pretty(data));
                return 0;
            }
            System.out.printf("%-24s %10s  %-24s  %-20s %14s  %s%n", "ID", "SEQ", "TIME", "LABEL", "BLOCKS CHANGED",
                "CONSISTENCY");
            for (final JsonNode image : data)
            {
                System.out.printf("%-24s %10d  %-24s  %-20s %14d  %s%n", image.get("id").asText(),
                    image.get("seq").asLong(), image.get("time").asText(), image.get("label").asText(),
                    image.get("blocksChanged").asLong(), image.path("consistency").asText("crash"));
            }
            return 0;
        }
    }

    @Command(name = "export", description = "Write an image to a new file (on the target host), or serve it " +
        "read-only over NBD.")
    static final class ImagesExport implements Callable<Integer>
    {
        @CommandLine.Mixin
        TargetOption target = new TargetOption();

        @Option(names = "--image", required = true, paramLabel = "ID", description = "image id (GROUP@SEQ)")
        String image;

        @CommandLine.ArgGroup(exclusive = true, multiplicity = "1")
        Where where;

        static final class Where
        {
            @Option(names = "--to", paramLabel = "FILE", description = "new file (a directory for a group of " +
                "several volumes)")
            Path to;

            @Option(names = "--nbd", paramLabel = "PORT", arity = "0..1", fallbackValue = "10809",
                description = "serve the image read-only over NBD at once (one export per volume, named by the " +
                    "volume) on the target's listen address, port PORT (default 10809; 0: any free port), until " +
                    "'images unexport' or the target stops")
            String nbd;
        }

        @Override
        public Integer call() throws Exception
        {
            if (where.nbd != null)
            {
                final JsonNode data = request(target, "images.export", args("image", image, "nbd", where.nbd));
                System.out.printf("serving %s read-only at %s, exports %s (%d ms)%n", data.get("image").asText(),
                    data.get("export").asText(), data.get("exports"), data.get("elapsedMs").asLong());
                return 0;
            }
            final Path to = where.to;
            final JsonNode data = request(target, "images.export", args("image", image, "to", absolute(to)));
            System.out.printf("exported %s to %s in %d ms%n", data.get("image").asText(), data.get("paths"),
                data.get("elapsedMs").asLong());
            return 0;
        }
    }

    @Command(name = "unexport", description = "Stop serving an image over NBD.")
    static final class ImagesUnexport implements Callable<Integer>
    {
        @CommandLine.Mixin
        TargetOption target = new TargetOption();

        @Option(names = "--image", required = true, paramLabel = "ID", description = "image id (GROUP@SEQ)")
        String image;

        @Override
        public Integer call() throws Exception
        {
            request(target, "images.unexport", args("image", image));
            System.out.println("stopped serving " + image);
            return 0;
        }
    }

    @Command(name = "checkpoint", description = "Ask the group's primary for a checkpoint now; prints its image id.")
    static final class CheckpointCommand implements Callable<Integer>
    {
        @CommandLine.Mixin
        TargetOption target = new TargetOption();

        @Option(names = "--group", required = true, paramLabel = "G")
        String group;

        @Option(names = "--label", paramLabel = "TEXT", defaultValue = "manual")
        String label;

        @Override
        public Integer call() throws Exception
        {
            final JsonNode data = request(target, "checkpoint", args("group", group, "label", label));
            System.out.println(data.get("image").asText());
            return 0;
        }
    }

    @Command(name = "failover", description = "Fence the primary and produce an image as the writable recovery volume.")
    static final class FailoverCommand implements Callable<Integer>
    {
        @CommandLine.Mixin
        TargetOption target = new TargetOption();

        @Option(names = "--group", required = true, paramLabel = "G")
        String group;

        @CommandLine.ArgGroup(exclusive = true, multiplicity = "1")
        Which which;

        static final class Which
        {
            @Option(names = "--image", paramLabel = "ID", description = "an image id from 'images list'")
            String image;

            @Option(names = "--at", paramLabel = "TIME", description = "the newest image at or before TIME")
            String at;

            @Option(names = "--latest", description = "the newest durable data")
            boolean latest;

            @Option(names = "--latest-consistent", description = "the newest application-consistent image " +
                "(taken with the application quiesced: checkpoint hooks, fsfreeze)")
            boolean latestConsistent;
        }

        @CommandLine.ArgGroup(exclusive = true, multiplicity = "1")
        Recovery recovery;

        static final class Recovery
        {
            @Option(names = "--to", paramLabel = "PATH", description = "new recovery volume file (a directory " +
                "for a group of several volumes), on the target host: the image is copied there first")
            Path to;

            @Option(names = "--export", paramLabel = "nbd[:PORT]", description = "instant recovery: serve the " +
                "image at once as writable NBD exports (one per volume, named by the volume) on the target's " +
                "listen address, port PORT (default 10809); nothing is copied, writes go to an overlay and are " +
                "tracked exactly for failback")
            String export;
        }

        @Option(names = "--test", description = "DR test: a writable copy of the image; replication and roles " +
            "are untouched (--latest means the newest checkpoint)")
        boolean test;

        @Override
        public Integer call() throws Exception
        {
            final String atMs = which.at == null ? null :
                Long.toString(TimeArgument.parseEpochMs(which.at, ZoneId.systemDefault()));
            final JsonNode data = request(target, "failover", args("group", group, "image", which.image, "atMs", atMs,
                "latest", which.latest ? "true" : null, "latestConsistent", which.latestConsistent ? "true" : null,
                "to", recovery.to == null ? null : absolute(recovery.to), "export", recovery.export,
                "test", test ? "true" : null));
            if (test)
            {
                System.out.printf("test failover of group %s: image %s copied to %s (%d ms); replication untouched%n",
                    data.get("group").asText(), data.get("image").asText(), data.get("paths"),
                    data.get("elapsedMs").asLong());
                return 0;
            }
            if (data.has("export"))
            {
                System.out.printf("failed over group %s to image %s at epoch %d: recovery volumes served at %s, " +
                    "exports %s (%d ms)%n", data.get("group").asText(), data.get("image").asText(),
                    data.get("epoch").asLong(), data.get("export").asText(), data.get("exports"),
                    data.get("elapsedMs").asLong());
                return 0;
            }
            System.out.printf("failed over group %s to image %s at epoch %d: recovery %s %s (%d ms)%n",
                data.get("group").asText(), data.get("image").asText(), data.get("epoch").asLong(),
                data.has("trees") ? "tree" : "volume", data.get("paths"), data.get("elapsedMs").asLong());
            return 0;
        }
    }

    @Command(name = "failback", description = "Plan or execute the delta failback to the returning primary.")
    static final class FailbackCommand implements Callable<Integer>
    {
        @CommandLine.Mixin
        TargetOption target = new TargetOption();

        @Option(names = "--group", required = true, paramLabel = "G")
        String group;

        @CommandLine.ArgGroup(exclusive = true, multiplicity = "1")
        Mode mode;

        static final class Mode
        {
            @Option(names = "--plan", description = "print what would move, and why")
            boolean plan;

            @Option(names = "--execute", description = "ship the reverse delta, verify, switch roles")
            boolean execute;
        }

        @Option(names = "--json", description = "print JSON")
        boolean json;

        @Override
        public Integer call() throws Exception
        {
            final JsonNode data = request(target, mode.plan ? "failback.plan" : "failback.execute", args("group", group));
            if (json)
            {
                System.out.println(Json.pretty(data));
                return 0;
            }
            final JsonNode plan = mode.plan ? data : data.get("plan");
            if (plan.has("trees"))
            {
                printTreeFailback(plan, mode.plan ? null : data);
                return 0;
            }
            System.out.printf("failback of group %s (%s mode): %s%n", plan.get("group").asText(),
                plan.get("mode").asText(), plan.get("reason").asText());
            for (final JsonNode volume : plan.get("volumes"))
            {
                System.out.printf("  volume %-10s %9d blocks to ship of %d (written on recovery %d, received after " +
                    "image %d, unshipped on primary %d, differing %d), %d bytes%n", volume.get("volume").asText(),
                    volume.get("blocks").asLong(), volume.get("volumeBlocks").asLong(),
                    volume.get("writtenOnRecovery").asLong(), volume.get("receivedAfterImage").asLong(),
                    volume.get("unshippedOnPrimary").asLong(), volume.get("differing").asLong(),
                    volume.get("bytes").asLong());
            }
            if (!mode.plan)
            {
                System.out.printf("shipped %d blocks (%d bytes on the wire) in %d pass(es); verified %d blocks; " +
                    "roles switched at epoch %d; replication resumes after seq %d (%d ms)%n",
                    data.get("blocksShipped").asLong(), data.get("wireBytes").asLong(), data.get("passes").asInt(),
                    data.get("verifiedBlocks").asLong(), data.get("newEpoch").asLong(), data.get("baseSeq").asLong(),
                    data.get("elapsedMs").asLong());
            }
            return 0;
        }
    }

    /** A tree failback's plan (and result, when {@code result} is not null). */
    static void printTreeFailback(final JsonNode plan, final JsonNode result)
    {
        System.out.printf("failback of group %s (tree mode): %s%n", plan.get("group").asText(), plan.get("reason").asText());
        for (final JsonNode tree : plan.get("trees"))
        {
            System.out.printf("  tree %-10s files created %d, changed %d, renamed %d; deleted %d; dirs created %d; " +
                "symlinks %d; attributes only %d; %d ops, %d bytes to send%n", tree.get("tree").asText(),
                tree.get("filesCreated").asLong(), tree.get("filesChanged").asLong(), tree.get("renamed").asLong(),
                tree.get("deleted").asLong(), tree.get("dirsCreated").asLong(), tree.get("symlinksCreated").asLong(),
                tree.get("attributesOnly").asLong(), tree.get("ops").asLong(), tree.get("bytes").asLong());
            for (final JsonNode path : tree.get("firstPaths"))
            {
                System.out.printf("    %s%n", path.asText());
            }
        }
        if (result != null)
        {
            System.out.printf("shipped %d ops (%d data bytes, %d bytes on the wire) in %d pass(es); replica %d ops; " +
                "verified %d entries; roles switched at epoch %d; replication resumes after seq %d (%d ms)%n",
                result.get("opsShipped").asLong(), result.get("dataBytesShipped").asLong(),
                result.get("wireBytes").asLong(), result.get("passes").asInt(), result.get("replicaOps").asLong(),
                result.get("verifiedEntries").asLong(), result.get("newEpoch").asLong(), result.get("baseSeq").asLong(),
                result.get("elapsedMs").asLong());
        }
    }

    @Command(name = "verify", description = "Check that a file is byte-identical to an image (block fingerprints).")
    static final class VerifyCommand implements Callable<Integer>
    {
        @CommandLine.Mixin
        TargetOption target = new TargetOption();

        @Option(names = "--image", required = true, paramLabel = "ID")
        String image;

        @Option(names = "--file", required = true, paramLabel = "PATH", description = "file on the target host")
        Path file;

        @Override
        public Integer call() throws Exception
        {
            final JsonNode data = request(target, "verify", args("image", image, "file", absolute(file)));
            if (data.get("identical").asBoolean())
            {
                System.out.println(file + " is identical to image " + image);
                return 0;
            }
            throw new CliException(1, file + " differs from image " + image + " in " +
                data.get("mismatchedBlocks").asLong() + " blocks");
        }
    }

    static String absolute(final Path path)
    {
        return path.toAbsolutePath().normalize().toString();
    }

    private static void awaitShutdown(final AutoCloseable service) throws InterruptedException
    {
        final CountDownLatch done = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() ->
        {
            try
            {
                service.close();
            }
            catch (final Exception ignore)
            {
                // Shutting down.
            }
            done.countDown();
        }, "shutdown"));
        done.await();
    }
}
