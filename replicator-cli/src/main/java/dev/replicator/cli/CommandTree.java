package dev.replicator.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * Builds the picocli command tree for one run. Picocli reflects over every command class it is
 * given, and for the whole tree that was most of an admin command's JVM start (100-200 ms of the
 * 300 of `replicator --version`, docs/PERFORMANCE.md "Instant recovery"). A run whose first
 * argument names a subcommand, or asks for the version, only needs that part: the root gets just
 * that subcommand. Anything else (no argument, --help, a mistyped name) gets the full tree, so
 * usage and "did you mean" stay complete.
 */
final class CommandTree
{
    private CommandTree()
    {
    }

    static CommandLine forArgs(final String... args)
    {
        final String first = args.length == 0 ? "" : args[0];
        if ("--version".equals(first) || "-V".equals(first))
        {
            return new CommandLine(new Root());
        }
        for (final Class<?> subcommand : Replicator.class.getAnnotation(Command.class).subcommands())
        {
            if (subcommand.getAnnotation(Command.class).name().equals(first))
            {
                final CommandLine root = new CommandLine(new Root());
                root.addSubcommand(subcommand);
                return root;
            }
        }
        return new CommandLine(new Replicator());
    }

    /** The root of a partial tree: {@link Replicator}'s own options, without its subcommand list. */
    @Command(name = "replicator", mixinStandardHelpOptions = true, versionProvider = Replicator.Version.class)
    static final class Root implements Runnable
    {
        @Override
        public void run()
        {
            throw new IllegalStateException("the partial command tree is only built for a subcommand or --version");
        }
    }
}
