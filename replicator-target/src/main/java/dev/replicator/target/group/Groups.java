package dev.replicator.target.group;

import dev.replicator.core.wire.Messages;
import dev.replicator.target.image.ImageStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * Every group the target holds, under {@code data.dir/groups/NAME}. Groups are created by the
 * first hello of their primary agent and reloaded on start. Thread-safe.
 */
public final class Groups implements AutoCloseable
{
    private static final Logger LOG = LoggerFactory.getLogger(Groups.class);

    private final Path root;
    private final Map<String, Group> groups = new TreeMap<>();

    private Groups(final Path root)
    {
        this.root = root;
    }

    public static Groups open(final Path dataDir) throws IOException
    {
        final Groups groups = new Groups(dataDir.resolve("groups"));
        Files.createDirectories(groups.root);
        try (Stream<Path> dirs = Files.list(groups.root))
        {
            for (final Path dir : dirs.sorted().toList())
            {
                if (Files.isRegularFile(dir.resolve(GroupState.FILE_NAME)))
                {
                    final GroupState state = GroupState.read(dir);
                    final ImageStore store = ImageStore.open(dir, Group.specsOf(state.volumes()));
                    groups.groups.put(state.name(), new Group(dir, state, store));
                    LOG.info("group={} epoch={} loaded: role {}, durable seq={}", state.name(), state.epoch(),
                        state.role(), store.lastSeq());
                }
            }
        }
        return groups;
    }

    public synchronized Group get(final String name)
    {
        return groups.get(name);
    }

    public synchronized List<Group> all()
    {
        return new ArrayList<>(groups.values());
    }

    /** Creates a group for a primary's first hello: epoch 1, replicating from its journal. */
    public synchronized Group create(final Messages.Hello hello) throws IOException
    {
        final Group existing = groups.get(hello.group());
        if (existing != null)
        {
            return existing;
        }
        final Path dir = root.resolve(hello.group());
        Files.createDirectories(dir);
        final GroupState state = new GroupState(
            hello.group(), List.copyOf(hello.volumes()), 1, hello.journalId(), GroupRole.REPLICATING, null);
        final ImageStore store = ImageStore.open(dir, Group.specsOf(state.volumes()));
        // The state file last: a group directory without it is ignored and recreated.
        state.write(dir);
        final Group group = new Group(dir, state, store);
        groups.put(hello.group(), group);
        LOG.info("group={} epoch=1 created for agent {} with {} volume(s)", hello.group(), hello.agentName(),
            hello.volumes().size());
        return group;
    }

    @Override
    public synchronized void close()
    {
        for (final Group group : groups.values())
        {
            try
            {
                group.store().close();
                group.closeTrees();
            }
            catch (final IOException | RuntimeException ex)
            {
                LOG.warn("group={} closing store: {}", group.name(), ex.getMessage());
            }
        }
        groups.clear();
    }
}
