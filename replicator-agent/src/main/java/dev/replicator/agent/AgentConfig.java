package dev.replicator.agent;

import dev.replicator.agent.quiesce.QuiesceConfig;
import dev.replicator.core.config.ConfigException;
import dev.replicator.core.config.ConfigFile;
import dev.replicator.core.config.HostPort;
import dev.replicator.core.nbd.NbdListenAddress;
import dev.replicator.core.nbd.NbdProtocol;
import dev.replicator.core.security.TlsSettings;
import dev.replicator.core.tree.TreeVolumeSpec;
import dev.replicator.core.volume.VolumeChannel;
import dev.replicator.core.volume.VolumeSpec;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
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
 * volume.data.front = nbd             # optional: the host writes through an NBD export of this volume
 * volume.data.nbd.listen = 127.0.0.1:10809   # or unix:/run/replicator/data.sock
 * volume.share.kind = tree            # a directory tree (default kind: block)
 * volume.share.path = /srv/share
 * volume.share.block.size = 65536     # per-file fingerprint block of a tree (default 64 KiB)
 * capture = scan                      # scan | api (api is the default, and required, with an nbd front)
 * scan.interval.ms = 5000
 * ship.window.frames = 8
 * ship.frame.bytes = 1m
 * sync.window.bytes = 128m           # bulk (initial) sync frames in flight
 * sync.rate.mb.s = 0                  # bulk sync rate limit, MB/s (0: none)
 * journal.sync = checkpoint           # none | checkpoint
 * journal.max.unshipped.bytes = 8g     # beyond this, changed blocks are tracked in a bitmap
 * metrics.listen = 127.0.0.1:9401    # Prometheus metrics over HTTP; off unless set
 * checkpoint.interval.s = 0           # a quiesced checkpoint this often (0: only when asked)
 * checkpoint.pre.hook = FILE          # consistent checkpoints: see QuiesceConfig
 * checkpoint.post.hook = FILE
 * checkpoint.hook.timeout.ms = 30000
 * volume.data.freeze.mount = /srv/db  # fsfreeze this mount around a quiesced checkpoint
 * freeze.timeout.ms = 30000
 * tls.dir = /etc/replicator/tls       # from 'replicator certs issue --agent NAME --groups G' (TlsSettings)
 * </pre>
 */
public final class AgentConfig
{
    /**
     * Bulk-sync bytes in flight: two group commits at the target, so the agent reads and compresses
     * the next while the target writes and fsyncs (no agent memory: unacknowledged blocks are re-read).
     */
    public static final long DEFAULT_SYNC_WINDOW_BYTES = 128L << 20;
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
    private final long syncWindowBytes;
    private final long syncRateBytesPerS;
    private final JournalSync journalSync;
    private final int heartbeatIntervalMs;
    private final String rollCycle;
    private final long maxUnshippedBytes;
    private final Map<String, NbdListenAddress> nbdFronts;
    private final HostPort metricsListen;
    private final QuiesceConfig quiesce;
    private final long checkpointIntervalMs;
    private final TlsSettings tls;

    /** Every final field is assigned here too, so a new setting cannot be forgotten by {@link #withTls}. */
    private AgentConfig(final AgentConfig other, final TlsSettings tls)
    {
        this.tls = tls;
        this.group = other.group;
        this.agentName = other.agentName;
        this.target = other.target;
        this.stateDir = other.stateDir;
        this.volumes = other.volumes;
        this.capture = other.capture;
        this.scanIntervalMs = other.scanIntervalMs;
        this.windowFrames = other.windowFrames;
        this.frameBytes = other.frameBytes;
        this.syncWindowBytes = other.syncWindowBytes;
        this.syncRateBytesPerS = other.syncRateBytesPerS;
        this.journalSync = other.journalSync;
        this.heartbeatIntervalMs = other.heartbeatIntervalMs;
        this.rollCycle = other.rollCycle;
        this.maxUnshippedBytes = other.maxUnshippedBytes;
        this.nbdFronts = other.nbdFronts;
        this.metricsListen = other.metricsListen;
        this.quiesce = other.quiesce;
        this.checkpointIntervalMs = other.checkpointIntervalMs;
        this.treeVolumes = other.treeVolumes;
    }

    private AgentConfig(final Builder b)
    {
        this.tls = b.tls;
        this.quiesce = b.quiesce;
        this.checkpointIntervalMs = b.checkpointIntervalMs;
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
        this.syncWindowBytes = b.syncWindowBytes;
        this.syncRateBytesPerS = b.syncRateBytesPerS;
        this.journalSync = b.journalSync;
        this.heartbeatIntervalMs = b.heartbeatIntervalMs;
        this.rollCycle = b.rollCycle;
        this.maxUnshippedBytes = b.maxUnshippedBytes;
        this.nbdFronts = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(b.nbdFronts));
        this.metricsListen = b.metricsListen;
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
        final String defaultCapture = hasNbdFront(config) ? "api" : "scan";
        b.capture = switch (config.string("capture", defaultCapture))
        {
            case "scan" -> Capture.SCAN;
            case "api" -> Capture.API;
            default -> throw config.error("capture", "must be scan or api");
        };
        b.scanIntervalMs = config.longValue("scan.interval.ms", DEFAULT_SCAN_INTERVAL_MS, 100, 86_400_000L);
        b.windowFrames = config.intValue("ship.window.frames", 8, 1, 1024);
        b.frameBytes = config.intValue("ship.frame.bytes", 1 << 20, 64 * 1024, 8 << 20);
        b.syncWindowBytes = config.longValue("sync.window.bytes", DEFAULT_SYNC_WINDOW_BYTES, 4 << 20, 1L << 30);
        b.syncRateBytesPerS = config.longValue("sync.rate.mb.s", 0, 0, 100_000) * 1_000_000L;
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
        final String metrics = config.string("metrics.listen", null);
        b.metricsListen = metrics == null ? null : HostPort.parse(metrics, config.source() + ": 'metrics.listen'");
        b.tls = TlsSettings.read(config, base);
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
                continue;
            }
            b.volumes.add(volume(config, base, name));
            final NbdListenAddress listen = nbdFront(config, base, name);
            if (listen != null)
            {
                if (b.capture == Capture.SCAN)
                {
                    throw config.error("capture", "must be api when volume." + name + ".front = nbd: the front " +
                        "end journals every write, and a scan would race with the host's writes");
                }
                b.nbdFronts.put(name, listen);
            }
        }
        b.quiesce = quiesce(config, base, names);
        b.checkpointIntervalMs = config.longValue("checkpoint.interval.s", 0, 0, 86_400L * 365) * 1000;
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

    private static boolean hasNbdFront(final ConfigFile config)
    {
        for (final String key : config.keysStartingWith("volume."))
        {
            if (key.endsWith(".front") && "nbd".equals(config.string(key, "none")))
            {
                return true;
            }
        }
        return false;
    }

    /** The NBD listen address of a volume with {@code front = nbd}, else null. */
    private static NbdListenAddress nbdFront(final ConfigFile config, final Path base, final String name)
    {
        final String prefix = "volume." + name + ".";
        final String front = config.string(prefix + "front", "none");
        final String listen = config.string(prefix + "nbd.listen", NbdListenAddress.LOOPBACK + ":" +
            NbdProtocol.DEFAULT_PORT);
        switch (front)
        {
            case "none":
                if (config.has(prefix + "nbd.listen"))
                {
                    throw config.error(prefix + "nbd.listen", "is set but " + prefix + "front is not nbd");
                }
                return null;
            case "nbd":
                try
                {
                    final NbdListenAddress address = NbdListenAddress.parse(listen);
                    // A relative socket path is relative to the config file, like every other path here.
                    return address.isUnix() ?
                        NbdListenAddress.unix(base.resolve(listen.trim().substring("unix:".length()))) : address;
                }
                catch (final IllegalArgumentException ex)
                {
                    throw config.error(prefix + "nbd.listen", ex.getMessage());
                }
            default:
                throw config.error(prefix + "front", "must be none or nbd");
        }
    }

    private static QuiesceConfig quiesce(final ConfigFile config, final Path base, final Set<String> volumeNames)
    {
        final List<Path> mounts = new ArrayList<>();
        for (final String name : volumeNames)
        {
            final String key = "volume." + name + ".freeze.mount";
            if (config.has(key))
            {
                final Path mount = base.resolve(config.requirePath(key));
                if (!Files.isDirectory(mount))
                {
                    throw config.error(key, mount + " is not a directory (a mount point)");
                }
                if (!isMountPoint(mount))
                {
                    // fsfreeze on any directory freezes the whole file system it is on (perhaps /).
                    throw config.error(key, mount + " is not a mount point (see /proc/self/mounts)");
                }
                mounts.add(mount);
            }
        }
        return new QuiesceConfig(
            hook(config, base, "checkpoint.pre.hook"),
            hook(config, base, "checkpoint.post.hook"),
            config.longValue("checkpoint.hook.timeout.ms", QuiesceConfig.DEFAULT_HOOK_TIMEOUT_MS, 1, 86_400_000L),
            mounts,
            config.longValue("freeze.timeout.ms", QuiesceConfig.DEFAULT_FREEZE_TIMEOUT_MS, 1, 86_400_000L));
    }

    private static boolean isMountPoint(final Path dir)
    {
        final Path mounts = Path.of("/proc/self/mounts");
        if (!Files.isReadable(mounts))
        {
            return true; // Not Linux: fsfreeze is not there either, and the freeze will fail loudly.
        }
        try
        {
            final String wanted = dir.toRealPath().toString();
            for (final String line : Files.readAllLines(mounts))
            {
                final String[] fields = line.split(" ");
                // Mount points are octal-escaped in this file (a space is \040).
                if (fields.length > 1 && fields[1].replace("\\040", " ").equals(wanted))
                {
                    return true;
                }
            }
            return false;
        }
        catch (final java.io.IOException ex)
        {
            return false;
        }
    }

    private static Path hook(final ConfigFile config, final Path base, final String key)
    {
        if (!config.has(key))
        {
            return null;
        }
        final Path path = base.resolve(config.requirePath(key));
        if (!Files.isRegularFile(path) || !Files.isExecutable(path))
        {
            throw config.error(key, path + " is not an executable file");
        }
        return path;
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

    /** Bulk-sync frames unacknowledged at most ({@code sync.window.bytes}, default 32 MiB). */
    public long syncWindowBytes()
    {
        return syncWindowBytes;
    }

    /** The bulk sync's average rate limit in bytes a second ({@code sync.rate.mb.s}), 0 for none. */
    public long syncRateBytesPerS()
    {
        return syncRateBytesPerS;
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

    /** Volumes served to the host over NBD (volume name to listen address); empty if none. */
    public Map<String, NbdListenAddress> nbdFronts()
    {
        return nbdFronts;
    }

    /** Hooks and fsfreeze around requested and periodic checkpoints. */
    public QuiesceConfig quiesce()
    {
        return quiesce;
    }

    /** A quiesced checkpoint this often; 0: only when asked ({@code replicator checkpoint}). */
    public long checkpointIntervalMs()
    {
        return checkpointIntervalMs;
    }

    /** Where the TLS material is; UNSET when the file names none (the command line decides). */
    public TlsSettings tls()
    {
        return tls;
    }

    /** The same settings with TLS settled (by the command line's --insecure or the material). */
    public AgentConfig withTls(final TlsSettings settings)
    {
        return new AgentConfig(this, settings);
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

    /** Where the Prometheus metrics endpoint listens, or null (the default: no endpoint). */
    public HostPort metricsListen()
    {
        return metricsListen;
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
        private long syncWindowBytes = DEFAULT_SYNC_WINDOW_BYTES;
        private long syncRateBytesPerS;
        private JournalSync journalSync = JournalSync.CHECKPOINT;
        private int heartbeatIntervalMs = 1000;
        private String rollCycle = "FAST_HOURLY";
        private long maxUnshippedBytes = DEFAULT_MAX_UNSHIPPED_BYTES;
        private final Map<String, NbdListenAddress> nbdFronts = new LinkedHashMap<>();

        /** Serves a volume (added with {@link #volume}) to the host over NBD; needs {@link Capture#API}. */
        public Builder nbdFront(final String volumeName, final NbdListenAddress listen)
        {
            this.nbdFronts.put(volumeName, listen);
            return this;
        }

        private HostPort metricsListen;

        public Builder metricsListen(final HostPort metricsListen)
        {
            this.metricsListen = metricsListen;
            return this;
        }

        private QuiesceConfig quiesce = QuiesceConfig.none();
        private long checkpointIntervalMs;

        public Builder quiesce(final QuiesceConfig quiesce)
        {
            this.quiesce = quiesce;
            return this;
        }

        public Builder checkpointIntervalMs(final long checkpointIntervalMs)
        {
            this.checkpointIntervalMs = checkpointIntervalMs;
            return this;
        }

        /** Plaintext unless told: the builder is for tests and embedders on a trusted host. */
        private TlsSettings tls = TlsSettings.insecure();

        public Builder tls(final TlsSettings tls)
        {
            this.tls = tls;
            return this;
        }

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

        public Builder heartbeatIntervalMs(final int heartbeatIntervalMs)
        {
            this.heartbeatIntervalMs = heartbeatIntervalMs;
            return this;
        }

        public Builder windowFrames(final int windowFrames)
        {
            this.windowFrames = windowFrames;
            return this;
        }

        public Builder syncRateBytesPerS(final long syncRateBytesPerS)
        {
            this.syncRateBytesPerS = syncRateBytesPerS;
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
            if (!nbdFronts.isEmpty() && capture != Capture.API)
            {
                throw new ConfigException("a volume with an nbd front end needs capture = api");
            }
            return new AgentConfig(this);
        }
    }
}
