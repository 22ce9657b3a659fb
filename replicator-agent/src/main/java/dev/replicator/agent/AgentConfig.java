package dev.replicator.agent;

import dev.replicator.core.config.ConfigException;
import dev.replicator.core.config.ConfigFile;
import dev.replicator.core.config.HostPort;
import dev.replicator.core.tree.TreeVolumeSpec;
import dev.replicator.core.volume.VolumeChannel;
import dev.replicator.core.volume.VolumeSpec;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * An agent's settings: the group it protects, its volumes, where its target is, how it captures and
 * ships. Immutable once {@link #load loaded}; every setting is validated there.
 *
 * <pre>
 * group = db                          # required
 * target = 127.0.0.1:7400             # required
 * state.dir = /var/lib/replicator/db  # journal, fingerprints, epoch
 * agent.name = host1                  # default: the host name
 * volume.data.path = /dev/sdb         # one or more volumes, in this order
 * volume.data.block.size = 4096
 * volume.data.size = 256m             # optional: checked against the file or device
 * volume.share.kind = tree            # a directory tree (default kind: block)
 * volume.share.path = /srv/share
 * volume.share.block.size = 65536     # per-file fingerprint block of a tree (default 64 KiB)
 * capture = scan                      # scan | api
 * scan.interval.ms = 5000
 * ship.window.frames = 8
 * ship.frame.bytes = 1m
 * journal.sync = checkpoint           # none | checkpoint
 * journal.max.unshipped.bytes = 8g     # beyond this, changed blocks are tracked in a bitmap
 * </pre>
 */
public final class AgentConfig
{
    public static final int DEFAULT_SCAN_INTERVAL_MS = 5000;
    public static final long DEFAULT_MAX_UNSHIPPED_BYTES = 8L << 30;

    /** How changes are captured. */
    public enum Capture
    {
        /** Periodic block fingerprinting of the volume (no interception needed). */
        SCAN,
        /** Only through the embedding API ({@code VolumeWriter}). */
        API
    }

    /** When the journal is fsynced; a process crash never loses an append either way (mmap). */
    public enum JournalSync
    {
        /** Leave it to the OS: a power loss may lose the unshipped tail. */
        NONE,
        /** At every checkpoint and every scan's end. */
        CHECKPOINT
    }

    private final String group;
    private final String agentName;
    private final HostPort target;
    private final Path stateDir;
    private final List<VolumeSpec> volumes;
    private final List<TreeVolumeSpec> treeVolumes;
    private final Capture capture;
    private final long scanIntervalMs;
    private final int windowFrames;
    private final int frameBytes;
    private final JournalSync journalSync;
    private final int heartbeatIntervalMs;
    private final String rollCycle;
    private final long maxUnshippedBytes;

    private AgentConfig(final Builder b)
    {
        this.group = b.group;
        this.agentName = b.agentName;
        this.target = b.target;
        this.stateDir = b.stateDir;
        this.volumes = List.copyOf(b.volumes);
        this.treeVolumes = List.copyOf(b.treeVolumes);
        this.capture = b.capture;
        this.scanIntervalMs = b.scanIntervalMs;
        this.windowFrames = b.windowFrames;
        this.frameBytes = b.frameBytes;
        this.journalSync = b.journalSync;
        this.heartbeatIntervalMs = b.heartbeatIntervalMs;
        this.rollCycle = b.rollCycle;
        this.maxUnshippedBytes = b.maxUnshippedBytes;
    }

    public static AgentConfig load(final Path file)
    {
        final ConfigFile config = ConfigFile.load(file);
        final Builder b = new Builder();
        b.group = config.requireString("group");
        if (!VolumeSpec.isValidName(b.group))
        {
            throw config.error("group", "'" + b.group + "' must be 1-64 letters, digits, '.', '_' or '-'");
        }
        b.target = HostPort.parse(config.requireString("target"), config.source() + ": 'target'");
        b.agentName = config.string("agent.name", defaultHostName());
        final Path base = file.toAbsolutePath().getParent();
        b.stateDir = base.resolve(config.path("state.dir", Path.of("state")));
        b.capture = switch (config.string("capture", "scan"))
        {
            case "scan" -> Capture.SCAN;
            case "api" -> Capture.API;
            default -> throw config.error("capture", "must be scan or api");
        };
        b.scanIntervalMs = config.longValue("scan.interval.ms", DEFAULT_SCAN_INTERVAL_MS, 100, 86_400_000L);
        b.windowFrames = config.intValue("ship.window.frames", 8, 1, 1024);
        b.frameBytes = config.intValue("ship.frame.bytes", 1 << 20, 64 * 1024, 8 << 20);
        b.journalSync = switch (config.string("journal.sync", "checkpoint"))
        {
            case "none" -> JournalSync.NONE;
            case "checkpoint" -> JournalSync.CHECKPOINT;
            default -> throw config.error("journal.sync", "must be none or checkpoint");
        };
        b.heartbeatIntervalMs = config.intValue("heartbeat.interval.ms", 1000, 50, 60_000);
        b.maxUnshippedBytes = config.longValue("journal.max.unshipped.bytes", DEFAULT_MAX_UNSHIPPED_BYTES,
            4L << 20, Long.MAX_VALUE / 2);
        b.rollCycle = config.string("journal.roll.cycle", "FAST_HOURLY");
        try
        {
            net.openhft.chronicle.queue.RollCycles.valueOf(b.rollCycle);
        }
        catch (final IllegalArgumentException ex)
        {
            throw config.error("journal.roll.cycle", "'" + b.rollCycle + "' is not a roll cycle (e.g. FAST_HOURLY, " +
                "HALF_HOURLY, FAST_DAILY)");
        }

        final Set<String> names = new LinkedHashSet<>();
        for (final String key : config.keysStartingWith("volume."))
        {
            final String rest = key.substring("volume.".length());
            final int dot = rest.indexOf('.');
            if (dot <= 0)
            {
                throw config.error(key, "expected volume.NAME.path, volume.NAME.size or volume.NAME.block.size");
            }
            names.add(rest.substring(0, dot));
        }
        if (names.isEmpty())
        {
            throw new ConfigException(config.source() + ": no volume configured (add volume.NAME.path = FILE)");
        }
        for (final String name : names)
        {
            if ("tree".equals(config.string("volume." + name + ".kind", "block")))
            {
                b.treeVolumes.add(treeVolume(config, base, name));
            }
            else
            {
                b.volumes.add(volume(config, base, name));
            }
        }
        config.rejectUnknownKeys();
        return b.build();
    }

    private static TreeVolumeSpec treeVolume(final ConfigFile config, final Path base, final String name)
    {
        final String prefix = "volume." + name + ".";
        if (!VolumeSpec.isValidName(name))
        {
            throw config.error(prefix + "path", "volume name '" + name + "' must be letters, digits, '.', '_' or '-'");
        }
        final Path path = base.resolve(config.requirePath(prefix + "path"));
        final int blockSize = config.intValue(prefix + "block.size", TreeVolumeSpec.DEFAULT_BLOCK_SIZE,
            VolumeSpec.MIN_BLOCK_SIZE, VolumeSpec.MAX_BLOCK_SIZE);
        if (!Files.isDirectory(path))
        {
            throw config.error(prefix + "path", path + " is not a directory (a tree volume replicates a directory)");
        }
        return new TreeVolumeSpec(name, path, blockSize);
    }

    private static VolumeSpec volume(final ConfigFile config, final Path base, final String name)
    {
        if (!"block".equals(config.string("volume." + name + ".kind", "block")))
        {
            throw config.error("volume." + name + ".kind", "must be block or tree");
        }
        final String prefix = "volume." + name + ".";
        if (!VolumeSpec.isValidName(name))
        {
            throw config.error(prefix + "path", "volume name '" + name + "' must be letters, digits, '.', '_' or '-'");
        }
        final Path path = base.resolve(config.requirePath(prefix + "path"));
        final int blockSize = config.intValue(prefix + "block.size", VolumeSpec.DEFAULT_BLOCK_SIZE,
            VolumeSpec.MIN_BLOCK_SIZE, VolumeSpec.MAX_BLOCK_SIZE);
        if (!Files.exists(path))
        {
            throw config.error(prefix + "path", path + " does not exist");
        }
        if (Files.isDirectory(path))
        {
            throw config.error(prefix + "path", path + " is a directory, not a file or block device");
        }
        final long actual;
        try
        {
            actual = VolumeChannel.sizeOf(path);
        }
        catch (final java.io.UncheckedIOException | NumberFormatException ex)
        {
            throw config.error(prefix + "path", "cannot read the size of " + path + ": " + ex.getMessage());
        }
        final long size = config.longValue(prefix + "size", actual, 1, Long.MAX_VALUE);
        if (size != actual)
        {
            throw config.error(prefix + "size", "configured as " + size + " bytes but " + path + " has " + actual);
        }
        try
        {
            return new VolumeSpec(name, path, size, blockSize);
        }
        catch (final IllegalArgumentException ex)
        {
            throw new ConfigException(config.source() + ": " + ex.getMessage());
        }
    }

    private static String defaultHostName()
    {
        try
        {
            return InetAddress.getLocalHost().getHostName();
        }
        catch (final UnknownHostException ex)
        {
            return "agent";
        }
    }

    public String group()
    {
        return group;
    }

    public String agentName()
    {
        return agentName;
    }

    public HostPort target()
    {
        return target;
    }

    public Path stateDir()
    {
        return stateDir;
    }

    public List<VolumeSpec> volumes()
    {
        return volumes;
    }

    /** Directory trees, in index order (their own index space, apart from block volumes). */
    public List<TreeVolumeSpec> treeVolumes()
    {
        return treeVolumes;
    }

    public Capture capture()
    {
        return capture;
    }

    public long scanIntervalMs()
    {
        return scanIntervalMs;
    }

    public int windowFrames()
    {
        return windowFrames;
    }

    public int frameBytes()
    {
        return frameBytes;
    }

    public JournalSync journalSync()
    {
        return journalSync;
    }

    public int heartbeatIntervalMs()
    {
        return heartbeatIntervalMs;
    }

    public String rollCycle()
    {
        return rollCycle;
    }

    /** Unshipped journal bytes beyond which changes are tracked in a dirty bitmap instead. */
    public long maxUnshippedBytes()
    {
        return maxUnshippedBytes;
    }

    public int volumeIndex(final String name)
    {
        for (int i = 0; i < volumes.size(); i++)
        {
            if (volumes.get(i).name().equals(name))
            {
                return i;
            }
        }
        return -1;
    }

    public static Builder builder()
    {
        return new Builder();
    }

    /** For embedding and tests: the same settings without a file. */
    public static final class Builder
    {
        private String group;
        private String agentName = "agent";
        private HostPort target;
        private Path stateDir;
        private final List<VolumeSpec> volumes = new ArrayList<>();
        private final List<TreeVolumeSpec> treeVolumes = new ArrayList<>();
        private Capture capture = Capture.SCAN;
        private long scanIntervalMs = DEFAULT_SCAN_INTERVAL_MS;
        private int windowFrames = 8;
        private int frameBytes = 1 << 20;
        private JournalSync journalSync = JournalSync.CHECKPOINT;
        private int heartbeatIntervalMs = 1000;
        private String rollCycle = "FAST_HOURLY";
        private long maxUnshippedBytes = DEFAULT_MAX_UNSHIPPED_BYTES;

        public Builder maxUnshippedBytes(final long maxUnshippedBytes)
        {
            this.maxUnshippedBytes = maxUnshippedBytes;
            return this;
        }

        public Builder group(final String group)
        {
            this.group = group;
            return this;
        }

        public Builder agentName(final String agentName)
        {
            this.agentName = agentName;
            return this;
        }

        public Builder target(final HostPort target)
        {
            this.target = target;
            return this;
        }

        public Builder stateDir(final Path stateDir)
        {
            this.stateDir = stateDir;
            return this;
        }

        public Builder treeVolume(final TreeVolumeSpec volume)
        {
            this.treeVolumes.add(volume);
            return this;
        }

        public Builder volume(final VolumeSpec volume)
        {
            this.volumes.add(volume);
            return this;
        }

        public Builder capture(final Capture capture)
        {
            this.capture = capture;
            return this;
        }

        public Builder scanIntervalMs(final long scanIntervalMs)
        {
            this.scanIntervalMs = scanIntervalMs;
            return this;
        }

        public Builder windowFrames(final int windowFrames)
        {
            this.windowFrames = windowFrames;
            return this;
        }

        public Builder frameBytes(final int frameBytes)
        {
            this.frameBytes = frameBytes;
            return this;
        }

        public Builder rollCycle(final String rollCycle)
        {
            this.rollCycle = rollCycle;
            return this;
        }

        public AgentConfig build()
        {
            if (group == null || target == null || stateDir == null || volumes.isEmpty() && treeVolumes.isEmpty())
            {
                throw new ConfigException("an agent needs a group, a target, a state dir and at least one volume");
            }
            return new AgentConfig(this);
        }
    }
}
