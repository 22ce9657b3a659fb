package dev.replicator.cli;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import static org.assertj.core.api.Assertions.assertThat;

class CommandTreeTest
{
    private static final Class<?>[] SUBCOMMANDS = Replicator.class.getAnnotation(Command.class).subcommands();

    @Test
    void aNamedSubcommandGetsOnlyItselfWithTheSameUsageAsInTheFullTree()
    {
        final CommandLine full = new CommandLine(new Replicator());
        assertThat(full.getSubcommands()).hasSize(SUBCOMMANDS.length);
        for (final String name : full.getSubcommands().keySet())
        {
            final CommandLine partial = CommandTree.forArgs(name, "--whatever");
            assertThat(partial.getSubcommands().keySet()).containsExactly(name);
            assertThat(usageTree(partial.getSubcommands().get(name)))
                .isEqualTo(usageTree(full.getSubcommands().get(name)));
        }
    }

    @Test
    void anythingElseGetsTheFullTree()
    {
        for (final String[] args : new String[][] {{}, {"--help"}, {"statsu"}, {"-h"}})
        {
            assertThat(CommandTree.forArgs(args).getSubcommands()).hasSize(SUBCOMMANDS.length);
        }
        assertThat(CommandTree.forArgs("--version").getSubcommands()).isEmpty();
        assertThat(CommandTree.forArgs("--version").getCommandSpec().version())
            .isEqualTo(new CommandLine(new Replicator()).getCommandSpec().version());
    }

    /** The usage of a command and of every nested subcommand, in order. */
    private static String usageTree(final CommandLine command)
    {
        final StringBuilder out = new StringBuilder(command.getUsageMessage());
        command.getSubcommands().values().forEach(sub -> out.append(usageTree(sub)));
        return out.toString();
    }
}
