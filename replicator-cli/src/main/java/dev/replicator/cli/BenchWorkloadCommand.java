package dev.replicator.cli;

import dev.replicator.agent.Agent;
import dev.replicator.agent.AgentConfig;
import dev.replicator.core.codec.BlockCodec;
import dev.replicator.core.codec.Checksums;
import dev.replicator.core.journal.Journal;
import dev.replicator.core.journal.JournalConfig;
import dev.replicator.core.security.TlsSettings;
import dev.replicator.core.volume.VolumeSpec;
import org.HdrHistogram.Histogram;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Stream;

/**
 * A workload generator for scripts/bench.sh (hidden from help): runs an agent with API capture in
 * this process against a real target, writes through {@link Agent#writer()} at a fixed rate (or as
 * fast as it can), and prints one line of {@code key=value} figures:
 * <ul>
 *   <li>{@code pipeline_mb_s}: bytes written / (first write to the ACK of the last one);</li>
 *   <li>{@code write_p50_us ...}: each {@code write()} call (volume pwrite + journal append +
 *       fingerprint), HdrHistogram;</li>
 *   <li>{@code append_p50_us ...}: {@link Journal#appendWrite} alone of the same entries (128 MiB
 *       at the workload's rate, 200 MB/s if unlimited), on a scratch journal next to the agent's
 *       state, before the workload;</li>
 *   <li>{@code lag_p50_ms ...}: from a write's return until an ACK covers its seq (polled every
 *       50 us);</li>
 *   <li>{@code ceiling_mb_s}: LZ4 encode + xxHash64 of the same data in this JVM, one thread: what
 *       the shipper's CPU work alone allows; measured before and after the workload, the higher
 *       of the two;</li>
 *   <li>{@code agent_rss_mib}: this process's resident set at the end.</li>
 * </ul>
 * All buffers are allocated and touched before timing starts (warm memory).
 */
@Command(name = "bench-workload", hidden = true,
    description = "Benchmark workload: API agent writing at a fixed rate (scripts/bench.sh).")
final class BenchWorkloadCommand implements Callable<Integer>
{
    private static final int POOL_BYTES = 64 << 20;
    private static final int BLOCK_BYTES = 4096;
    /** JournalPretoucher.ENABLED_PROP_NAME (package-private there). */
    private static final String PRETOUCH_PROP_NAME = "replicator.journal.pretouch";
    /**
     * Appends are timed at a steady rate, as a host writes: appending as fast as memory copies (GB/s)
     * soon meets the kernel's dirty-page throttling, which then dominates the tail instead of the journal.
     */
    private static final int APPEND_RATE_MB_S = 200;

    /** Where writes go. */
    enum Pattern
    {
        RANDOM4K(4096), SEQ64K(65536);

        final int writeBytes;

        Pattern(final int writeBytes)
        {
            this.writeBytes = writeBytes;
        }
    }

    /** What writes hold. */
    enum Data
    {
        RANDOM, TEXT, MIXED
    }

    @Option(names = "--config", required = true, paramLabel = "FILE", description = "agent config (capture = api)")
    Path config;

    @Option(names = "--pattern", defaultValue = "RANDOM4K", description = "RANDOM4K or SEQ64K")
    Pattern pattern;

    @Option(names = "--data", defaultValue = "MIXED", description = "RANDOM, TEXT or MIXED")
    Data data;

    @Option(names = "--mib", defaultValue = "512", description = "MiB to write")
    int mib;

    @Option(names = "--rate-mb-s", defaultValue = "0", description = "MB/s to write at; 0: as fast as possible")
    int rateMbS;

    @Option(names = "--initial-sync", description = "scan capture: wait for the first scan to be acked, " +
        "print initial_sync_s and agent_rss_mib, exit")
    boolean initialSync;

    @Override
    public Integer call() throws Exception
    {
        // As 'agent run': the config's TLS material, else plaintext only with REPLICATOR_INSECURE=1.
        final AgentConfig loaded = AgentConfig.load(config);
        final AgentConfig agentConfig = loaded.withTls(loaded.tls().resolve(false, TlsSettings.insecureEnv(),
            "tls.dir in " + config));
        if (initialSync)
        {
            return initialSync(agentConfig);
        }
        if (agentConfig.capture() != AgentConfig.Capture.API)
        {
            throw new CliException(2, "bench-workload needs an agent config with capture = api");
        }
        final VolumeSpec volume = agentConfig.volumes().get(0);
        final ByteBuffer pool = ByteBuffer.allocateDirect(POOL_BYTES);
        fill(pool, data);
        // Measured before and after the workload: on a shared machine the CPU available changes by
        // the minute, and the higher figure is the honest ceiling to compare with.
        final double ceilingBeforeMbS = ceilingMbS(pool);
        // The same appends without the journal's pre-toucher first, for the ratio in one run.
        System.setProperty(PRETOUCH_PROP_NAME, "false");
        final Histogram appendNoPretouch = appendLatency(
            agentConfig.stateDir().resolveSibling("bench-scratch-journal"), pool, rateMbS == 0 ? APPEND_RATE_MB_S : rateMbS);
        System.clearProperty(PRETOUCH_PROP_NAME);
        final Histogram append = appendLatency(agentConfig.stateDir().resolveSibling("bench-scratch-journal"), pool,
            rateMbS == 0 ? APPEND_RATE_MB_S : rateMbS);

        final int writeBytes = pattern.writeBytes;
        final int writes = (int)((long)mib * (1 << 20) / writeBytes);
        final long[] seqs = new long[writes];
        final long[] doneNs = new long[writes];
        final Histogram write = new Histogram(TimeUnit.SECONDS.toNanos(10), 3);
        final Histogram lag = new Histogram(TimeUnit.SECONDS.toNanos(60), 3);
        try (Agent agent = new Agent(agentConfig).start())
        {
            awaitConnected(agent);
            final long base = agent.ackedSeq();
            final AckWatcher watcher = new AckWatcher(agent, seqs, doneNs, lag);
            watcher.start();
            final SplittableRandom random = new SplittableRandom(17);
            final long slots = volume.sizeBytes() / writeBytes;
            final double nsPerWrite = rateMbS == 0 ? 0 : writeBytes * 1000.0 / rateMbS;
            final ByteBuffer view = pool.duplicate();
            final long startNs = System.nanoTime();
            for (int i = 0; i < writes; i++)
            {
                if (nsPerWrite > 0)
                {
                    final long dueNs = startNs + (long)(i * nsPerWrite);
                    while (System.nanoTime() - dueNs < 0)
                    {
                        Thread.onSpinWait();
                    }
                }
                final long slot = pattern == Pattern.SEQ64K ? i % slots : random.nextLong(slots);
                final int poolOffset = (int)((long)i * writeBytes % POOL_BYTES);
                view.limit(poolOffset + writeBytes).position(poolOffset);
                final long beforeNs = System.nanoTime();
                final long seq = agent.writer().write(volume.name(), slot * writeBytes, view);
                final long afterNs = System.nanoTime();
                write.recordValue(afterNs - beforeNs);
                seqs[i] = seq;
                doneNs[i] = afterNs;
                watcher.published = i + 1;
            }
            final long lastSeq = seqs[writes - 1];
            final long deadlineNs = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
            while (watcher.acked < writes)
            {
                if (System.nanoTime() - deadlineNs > 0)
                {
                    throw new CliException(1, "the target did not acknowledge seq " + lastSeq + " within 5 minutes " +
                        "(acked " + agent.ackedSeq() + ", started at " + base + ")");
                }
                LockSupport.parkNanos(1_000_000);
            }
            watcher.interrupt();
            watcher.join();
            final double seconds = (watcher.lastAckNs - startNs) / 1e9;
            final double ceilingAfterMbS = ceilingMbS(pool);
            final double ceilingMbS = Math.max(ceilingBeforeMbS, ceilingAfterMbS);
            final double pipelineMbS = (double)writes * writeBytes / 1e6 / seconds;
            System.out.println(String.format(Locale.ROOT,
                "pattern=%s data=%s mib=%d rate_mb_s=%d pipeline_mb_s=%.1f ceiling_mb_s=%.1f ratio=%.3f " +
                "ceiling_before_mb_s=%.1f ceiling_after_mb_s=%.1f " +
                "write_p50_us=%.1f write_p99_us=%.1f write_p999_us=%.1f " +
                "append_p50_us=%.1f append_p99_us=%.1f append_p999_us=%.1f " +
                "append_nopretouch_p99_us=%.1f append_nopretouch_p999_us=%.1f " +
                "lag_p50_ms=%.2f lag_p99_ms=%.2f lag_max_ms=%.2f agent_rss_mib=%d",
                pattern, data, mib, rateMbS, pipelineMbS, ceilingMbS, pipelineMbS / ceilingMbS,
                ceilingBeforeMbS, ceilingAfterMbS,
                us(write, 50), us(write, 99), us(write, 99.9),
                us(append, 50), us(append, 99), us(append, 99.9), us(appendNoPretouch, 99), us(appendNoPretouch, 99.9),
                us(lag, 50) / 1000, us(lag, 99) / 1000, lag.getMaxValue() / 1e6, rssMib()));
        }
        return 0;
    }

    /**
     * The first scan of a scan-capture agent ships every non-zero block (a bulk sync from the volume
     * for a fresh agent): done when a scan has ended, the sync is acknowledged, and the target acked
     * everything journaled, the first checkpoint included. Polled every 2 ms.
     */
    private static int initialSync(final AgentConfig agentConfig) throws Exception
    {
        if (agentConfig.capture() != AgentConfig.Capture.SCAN)
        {
            throw new CliException(2, "bench-workload --initial-sync needs an agent config with capture = scan");
        }
        final long startNs = System.nanoTime();
        try (Agent agent = new Agent(agentConfig).start())
        {
            final long deadlineNs = startNs + TimeUnit.MINUTES.toNanos(30);
            while (true)
            {
                final dev.replicator.agent.AgentStatus status = agent.status();
                // A bulk sync is done when every block is acknowledged and the first checkpoint (the target's
                // first image) after it is durable too.
                if (status.scans() >= 1 && agent.ackedSeq() >= status.lastJournaledSeq() && status.connected() &&
                    !agent.bulkSyncOutstanding() && (agent.bulkSyncMarkedBlocks() == 0 || status.lastCheckpointSeq() > 0))
                {
                    break;
                }
                if (System.nanoTime() - deadlineNs > 0)
                {
                    throw new CliException(1, "initial sync not done within 30 minutes");
                }
                Thread.sleep(2);
            }
            System.out.println(String.format(Locale.ROOT, "initial_sync_in_process_s=%.3f agent_rss_mib=%d",
                (System.nanoTime() - startNs) / 1e9, rssMib()));
        }
        return 0;
    }

    private static double us(final Histogram histogram, final double percentile)
    {
        return histogram.getValueAtPercentile(percentile) / 1000.0;
    }

    private static void awaitConnected(final Agent agent) throws InterruptedException, CliException
    {
        final long deadlineNs = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!agent.status().connected() || !"PRIMARY".equals(agent.status().role()))
        {
            if (System.nanoTime() - deadlineNs > 0)
            {
                throw new CliException(1, "the agent did not connect to the target within 60 s");
            }
            Thread.sleep(20);
        }
    }

    /** LZ4 (or zero/raw) encode plus xxHash64 of every 4 KiB block of the pool, for at least a second. */
    private static double ceilingMbS(final ByteBuffer pool)
    {
        final ByteBuffer encoded = ByteBuffer.allocateDirect(BlockCodec.maxEncodedLength(BLOCK_BYTES));
        long bytes = 0;
        long sink = 0;
        final long startNs = System.nanoTime();
        long elapsedNs = 0;
        int round = 0;
        while (elapsedNs < TimeUnit.MILLISECONDS.toNanos(1500) || round < 2)
        {
            for (int offset = 0; offset < POOL_BYTES; offset += BLOCK_BYTES)
            {
                encoded.clear();
                sink += BlockCodec.encode(pool, offset, BLOCK_BYTES, encoded);
                sink += Checksums.xxHash64(pool, offset, BLOCK_BYTES);
                bytes += BLOCK_BYTES;
            }
            round++;
            elapsedNs = System.nanoTime() - startNs;
        }
        if (sink == 42)
        {
            System.err.print("");
        }
        return bytes / 1e6 / (elapsedNs / 1e9);
    }

    /** {@link Journal#appendWrite} of 4 KiB entries from the pool, 128 MiB at {@code rateMbS}, on a scratch journal. */
    private static Histogram appendLatency(final Path directory, final ByteBuffer pool, final int rateMbS)
        throws IOException
    {
        final double nsPerAppend = BLOCK_BYTES * 1000.0 / rateMbS;
        final Histogram histogram = new Histogram(TimeUnit.SECONDS.toNanos(10), 3);
        try (Journal journal = Journal.open(JournalConfig.builder(directory).build()))
        {
            final int entries = (128 << 20) / BLOCK_BYTES;
            final long startNs = System.nanoTime();
            for (int i = 0; i < entries; i++)
            {
                final long dueNs = startNs + (long)(i * nsPerAppend);
                while (System.nanoTime() - dueNs < 0)
                {
                    Thread.onSpinWait();
                }
                final int offset = (i * BLOCK_BYTES) % POOL_BYTES;
                final long beforeNs = System.nanoTime();
                journal.appendWrite(0, i, pool, offset, BLOCK_BYTES);
                histogram.recordValue(System.nanoTime() - beforeNs);
            }
        }
        finally
        {
            try (Stream<Path> files = Files.walk(directory))
            {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
        return histogram;
    }

    private static void fill(final ByteBuffer pool, final Data data)
    {
        final SplittableRandom random = new SplittableRandom(99);
        final byte[] block = new byte[BLOCK_BYTES];
        for (int b = 0; b < POOL_BYTES / BLOCK_BYTES; b++)
        {
            final Data kind = data != Data.MIXED ? data : switch (b % 4)
            {
                case 0 -> Data.RANDOM;
                case 1, 2 -> Data.TEXT;
                default -> null;
            };
            if (kind == Data.RANDOM)
            {
                random.nextBytes(block);
            }
            else if (kind == Data.TEXT)
            {
                BenchText.fill(block, random);
            }
            else
            {
                java.util.Arrays.fill(block, (byte)0);
            }
            pool.put(b * BLOCK_BYTES, block);
        }
    }

    private static long rssMib() throws IOException
    {
        for (final String line : Files.readAllLines(Path.of("/proc/self/status")))
        {
            if (line.startsWith("VmRSS:"))
            {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024;
            }
        }
        return -1;
    }

    /** Matches ACKs to writes: the lag of write i is the time from its return to the first ACK >= its seq. */
    private static final class AckWatcher extends Thread
    {
        private final Agent agent;
        private final long[] seqs;
        private final long[] doneNs;
        private final Histogram lag;
        volatile int published;
        volatile int acked;
        volatile long lastAckNs;

        AckWatcher(final Agent agent, final long[] seqs, final long[] doneNs, final Histogram lag)
        {
            super("bench-ack-watcher");
            setDaemon(true);
            this.agent = agent;
            this.seqs = seqs;
            this.doneNs = doneNs;
            this.lag = lag;
        }

        @Override
        public void run()
        {
            int next = 0;
            while (!isInterrupted())
            {
                final int limit = published;
                final long ackedSeq = agent.ackedSeq();
                final long nowNs = System.nanoTime();
                while (next < limit && seqs[next] <= ackedSeq)
                {
                    lag.recordValue(Math.max(0, nowNs - doneNs[next]));
                    next++;
                    lastAckNs = nowNs;
                }
                acked = next;
                LockSupport.parkNanos(50_000);
            }
        }
    }
}
