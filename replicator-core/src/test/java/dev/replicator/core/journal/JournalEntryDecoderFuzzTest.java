package dev.replicator.core.journal;

import net.openhft.chronicle.bytes.Bytes;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.zip.CRC32C;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Seeded fuzzing of {@link JournalEntryDecoder}, the check every entry passes before any of its fields
 * is used: valid entries (written by {@link JournalEntryDescriptor#write}) are mutated (bit flips,
 * bytes set, the payload length, type and format fields set to interesting values, cut short or
 * extended) and decoded from a Chronicle {@link Bytes} as a tailer would hand them over.
 *
 * <p>Property: decode never throws and never reads outside the document; it accepts an entry only if
 * it is byte for byte one that was written (or, for the unchecked old format, has a consistent
 * length and a known type), and otherwise says what is wrong. Memory grows only to the real length
 * of a document, never to a length a field claims.
 *
 * <p>Replay a run with {@code -Dfuzz.seed=N}; run longer with {@code -Dfuzz.iterations=N}.
 */
class JournalEntryDecoderFuzzTest
{
    private static final long SEED = Long.getLong("fuzz.seed", System.nanoTime());
    private static final int ITERATIONS = Integer.getInteger("fuzz.iterations", 100_000);
    private static final int[] INTERESTING = {
        0, 1, -1, 3, 4, 31, 32, 33, 511, 512, 4096, 1 << 20, Integer.MAX_VALUE, Integer.MIN_VALUE, Integer.MAX_VALUE - 35};

    private final Random random = new Random(SEED);
    private final Map<String, Integer> outcomes = new TreeMap<>();

    @Test
    void damagedEntriesAreRefusedWithAReasonAndNeverThrow()
    {
        System.out.printf("JournalEntryDecoderFuzzTest seed=%d iterations=%d (replay: -Dfuzz.seed=%d)%n",
            SEED, ITERATIONS, SEED);
        final JournalEntryDecoder decoder = new JournalEntryDecoder(0);
        final ByteBuffer header = ByteBuffer.allocate(JournalEntryDescriptor.HEADER_LENGTH).order(ByteOrder.LITTLE_ENDIAN);
        final CRC32C crc = new CRC32C();
        for (int iteration = 0; iteration < ITERATIONS; iteration++)
        {
            final byte[] payload = new byte[random.nextInt(4) == 0 ? 0 : random.nextInt(2048)];
            random.nextBytes(payload);
            final byte type = random.nextBoolean() ? JournalEntryDescriptor.TYPE_WRITE : JournalEntryDescriptor.TYPE_CHECKPOINT;
            JournalEntryDescriptor.encodeHeader(header, random.nextLong() & Long.MAX_VALUE, random.nextLong(),
                random.nextLong() & Long.MAX_VALUE, payload.length, random.nextInt(65536), type);
            final Bytes<ByteBuffer> written = Bytes.elasticHeapByteBuffer(64);
            JournalEntryDescriptor.write(written, header, crc, ByteBuffer.wrap(payload), 0, payload.length);
            final byte[] entry = new byte[(int)written.writePosition()];
            written.read(entry);
            written.releaseLast();

            final StringBuilder mutation = new StringBuilder();
            final byte[] document = random.nextInt(8) == 0 ? entry : mutate(entry, mutation);
            final String context = "seed " + SEED + " iteration " + iteration + " (entry of " + entry.length +
                " bytes, " + (document == entry ? "intact" : mutation) + ")";

            // As a tailer hands it over: the document between read position and limit, other bytes around it.
            final Bytes<ByteBuffer> bytes = Bytes.elasticHeapByteBuffer(document.length + 16);
            bytes.write(new byte[7]).write(document).write(new byte[9]);
            bytes.readPositionRemaining(7, document.length);
            final String damage;
            try
            {
                damage = decoder.decode(bytes);
            }
            catch (final RuntimeException | Error ex)
            {
                throw new AssertionError(context + ": " + ex, ex);
            }
            finally
            {
                bytes.releaseLast();
            }
            assertThat(decoder.payloadBytes().length).as(context + ": payload buffer").isLessThanOrEqualTo(Math.max(2048,
                document.length));
            if (damage == null)
            {
                assertAccepted(decoder, document, entry, context);
                outcomes.merge(document == entry ? "intact, accepted" : "mutated, accepted", 1, Integer::sum);
            }
            else
            {
                assertThat(document).as(context + ": an intact entry was refused: " + damage).isNotSameAs(entry);
                outcomes.merge(damage.replaceAll("\\(stored [0-9a-f]+, computed [0-9a-f]+\\)", "")
                    .replaceAll("(?<![A-Za-z0-9])-?\\d+", "N"), 1, Integer::sum);
            }
        }
        System.out.printf("JournalEntryDecoderFuzzTest fuzzed %d entries: %s%n", ITERATIONS, outcomes);
        assertThat(outcomes.keySet().stream().filter(key -> key.contains("CRC32C")).count()).isPositive();
    }

    private static void assertAccepted(
        final JournalEntryDecoder decoder, final byte[] document, final byte[] entry, final String context)
    {
        final byte format = document[JournalEntryDescriptor.FORMAT_OFFSET];
        if (format == JournalEntryDescriptor.FORMAT_CRC32C)
        {
            assertThat(document).as(context + ": a changed entry passed its CRC32C").isEqualTo(entry);
        }
        else
        {
            // The old format has no CRC: only its length and type are checked.
            assertThat(format).as(context).isEqualTo(JournalEntryDescriptor.FORMAT_UNCHECKED);
            assertThat(JournalEntryDescriptor.HEADER_LENGTH + decoder.payloadLength()).as(context).isEqualTo(document.length);
        }
        assertThat(Arrays.equals(decoder.payloadBytes(), 0, decoder.payloadLength(),
            document, JournalEntryDescriptor.HEADER_LENGTH, JournalEntryDescriptor.HEADER_LENGTH + decoder.payloadLength()))
            .as(context + ": payload").isTrue();
        assertThat(decoder.type()).as(context).isIn(JournalEntryDescriptor.TYPE_WRITE, JournalEntryDescriptor.TYPE_CHECKPOINT,
            JournalEntryDescriptor.TYPE_TREE);
    }

    private byte[] mutate(final byte[] entry, final StringBuilder mutation)
    {
        byte[] document = entry.clone();
        final int mutations = 1 + random.nextInt(3);
        for (int m = 0; m < mutations; m++)
        {
            switch (random.nextInt(7))
            {
                case 0 ->
                {
                    if (document.length > 0)
                    {
                        final int bit = random.nextInt(document.length * 8);
                        document[bit >>> 3] ^= (byte)(1 << (bit & 7));
                        mutation.append("bit ").append(bit).append(" flipped; ");
                    }
                }
                case 1 ->
                {
                    if (document.length > 0)
                    {
                        final int at = random.nextInt(document.length);
                        document[at] = (byte)random.nextInt(256);
                        mutation.append("byte ").append(at).append(" set; ");
                    }
                }
                case 2 ->
                {
                    if (document.length >= JournalEntryDescriptor.HEADER_LENGTH)
                    {
                        final int value = INTERESTING[random.nextInt(INTERESTING.length)];
                        ByteBuffer.wrap(document).order(ByteOrder.LITTLE_ENDIAN)
                            .putInt(JournalEntryDescriptor.PAYLOAD_LENGTH_OFFSET, value);
                        mutation.append("payload length set to ").append(value).append("; ");
                    }
                }
                case 3 ->
                {
                    if (document.length >= JournalEntryDescriptor.HEADER_LENGTH)
                    {
                        final byte value = (byte)(random.nextBoolean() ? random.nextInt(4) : random.nextInt(256));
                        document[random.nextBoolean() ? JournalEntryDescriptor.TYPE_OFFSET : JournalEntryDescriptor.FORMAT_OFFSET] =
                            value;
                        mutation.append("type or format set to ").append(value).append("; ");
                    }
                }
                case 4 ->
                {
                    final int length = random.nextInt(document.length + 1);
                    document = Arrays.copyOf(document, length);
                    mutation.append("cut to ").append(length).append("; ");
                }
                case 5 ->
                {
                    final int length = document.length + 1 + random.nextInt(16);
                    document = Arrays.copyOf(document, length);
                    mutation.append("extended with zeros to ").append(length).append("; ");
                }
                default ->
                {
                    if (document.length >= JournalEntryDescriptor.HEADER_LENGTH + JournalEntryDescriptor.CRC_LENGTH)
                    {
                        // Old format with a consistent length: the one way past the CRC, by design.
                        document = Arrays.copyOf(document, document.length - JournalEntryDescriptor.CRC_LENGTH);
                        document[JournalEntryDescriptor.FORMAT_OFFSET] = JournalEntryDescriptor.FORMAT_UNCHECKED;
                        mutation.append("made an old-format entry; ");
                    }
                }
            }
        }
        return document;
    }
}
