package dev.replicator.core.wire;

import dev.replicator.core.codec.Checksums;
import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Seeded fuzzing of what a receiver does with a data frame: {@link Frames#verify} then
 * {@link DataFrameDecoder#decode}. Inputs are valid frames built with {@link DataFrameEncoder} and then
 * mutated: bit flips, byte changes, insertions and deletions, truncation, and structure-aware changes
 * of the record count, kinds, codecs, encoded lengths, volumes, block indices, seqs and hashes, with
 * interesting values (0, -1, the maxima, off by one). Half of the mutated frames get their CRC32C
 * recomputed, so the decoder's own record checks are reached and not only the CRC.
 *
 * <p>Property: a frame either decodes to records that pass every check (each block is the bytes of a
 * block that was encoded, whole, in range, seqs in order) or is refused with a
 * {@link CorruptFrameException} that has a message. No other exception, and the decoder allocates
 * only in proportion to the frame's real length, never to a length a field claims.
 *
 * <p>Replay a run with {@code -Dfuzz.seed=N}; run longer with {@code -Dfuzz.iterations=N}.
 */
class DataFrameFuzzTest
{
    private static final long SEED = Long.getLong("fuzz.seed", System.nanoTime());
    private static final int ITERATIONS = Integer.getInteger("fuzz.iterations", 30_000);

    private static final int[] BLOCK_SIZES = {4096, 1024, 512, 16384};
    private static final long[] BLOCK_COUNTS = {1024, 64, 1L << 32, 16};
    private static final int[] INTERESTING_INTS = {
        0, 1, -1, 2, 31, 32, 33, 255, 256, 257, 511, 512, 1023, 1024, 4095, 4096, 4097, 16384, 65535, 65536,
        FrameDescriptor.MAX_FRAME_LENGTH, FrameDescriptor.MAX_FRAME_LENGTH + 1, FrameDescriptor.MAX_PLAIN_BYTES_PER_FRAME,
        1 << 30, Integer.MAX_VALUE, Integer.MAX_VALUE - 31, Integer.MIN_VALUE, Integer.MIN_VALUE + 1};
    private static final long[] INTERESTING_LONGS = {
        0, 1, -1, 63, 64, 1023, 1024, 1L << 32, (1L << 32) - 1, Long.MAX_VALUE, Long.MIN_VALUE, Long.MAX_VALUE - 1};
    /** Decoding a frame may allocate this much beyond what its real length explains (exception messages). */
    private static final long ALLOCATION_SLACK_BYTES = 256 * 1024;

    private final Random random = new Random(SEED);
    private final DataFrameEncoder encoder = new DataFrameEncoder();
    private final DataFrameDecoder decoder = new DataFrameDecoder(BLOCK_SIZES, BLOCK_COUNTS);
    private final com.sun.management.ThreadMXBean threads =
        (com.sun.management.ThreadMXBean)ManagementFactory.getThreadMXBean();

    /** Plain content of every block and label of the frame being fuzzed, by xxHash64. */
    private final Map<Long, byte[]> encodedContent = new HashMap<>();
    private final Map<String, Integer> outcomes = new TreeMap<>();
    private DecodedBatch lastBatch;

    /** One record of a frame as built, and where it starts in the frame. */
    private record Built(int offset, int encodedLength)
    {
    }

    @Test
    void mutatedDataFramesDecodeCorrectlyOrFailWithCorruptFrameException()
    {
        System.out.printf("DataFrameFuzzTest seed=%d iterations=%d (replay: -Dfuzz.seed=%d)%n", SEED, ITERATIONS, SEED);
        for (int iteration = 0; iteration < ITERATIONS; iteration++)
        {
            final long afterSeq = random.nextInt(4) == 0 ? 0 : random.nextLong() & 0xFFFF_FFFFL;
            final List<Built> records = new ArrayList<>();
            final ByteBuffer frame = buildValidFrame(afterSeq, records);
            final int cleanLength = frame.limit();
            final StringBuilder mutations = new StringBuilder();
            final boolean mutate = random.nextInt(10) != 0;
            if (mutate)
            {
                final int count = 1 + random.nextInt(3);
                for (int m = 0; m < count; m++)
                {
                    mutations.append(mutate(frame, records)).append("; ");
                }
                if (random.nextBoolean())
                {
                    frame.putInt(FrameDescriptor.CRC_OFFSET, Frames.crcOf(frame, frame.limit()));
                    mutations.append("CRC recomputed");
                }
            }
            final String context = "seed " + SEED + " iteration " + iteration + " (frame of " + cleanLength +
                " bytes, mutations: " + (mutate ? mutations : "none") + ")";
            check(frame, afterSeq, !mutate, context);
        }
        final int total = outcomes.values().stream().mapToInt(Integer::intValue).sum();
        System.out.printf("DataFrameFuzzTest fuzzed %d frames: %s%n", total, outcomes);
        assertThat(total).isEqualTo(ITERATIONS);
        assertThat(outcomes.getOrDefault("decoded", 0)).as("some frames decode").isPositive();
        assertThat(outcomes.size()).as("many different refusals are reached").isGreaterThan(8);
    }

    /** Frames that claim huge sizes in every field cost no more memory than their bytes. */
    @Test
    void claimedLengthsAndCountsNeverDriveAllocation()
    {
        final long[] afterSeqs = {0, 5};
        int inputs = 0;
        for (final int claimed : INTERESTING_INTS)
        {
            for (final long afterSeq : afterSeqs)
            {
                final List<Built> records = new ArrayList<>();
                final ByteBuffer frame = buildValidFrame(afterSeq, records);
                if (records.isEmpty())
                {
                    continue;
                }
                frame.putInt(FrameDescriptor.HEADER_LENGTH + records.get(0).offset() +
                    BlockRecordDescriptor.ENCODED_LENGTH_OFFSET, claimed);
                frame.putInt(FrameDescriptor.COUNT_OFFSET, claimed);
                frame.putInt(FrameDescriptor.CRC_OFFSET, Frames.crcOf(frame, frame.limit()));
                check(frame, afterSeq, false, "claimed " + claimed + " after seq " + afterSeq);
                inputs++;
            }
        }
        System.out.printf("DataFrameFuzzTest fuzzed %d frames with claimed lengths: %s%n", inputs, outcomes);
    }

    private void check(final ByteBuffer frame, final long afterSeq, final boolean mustDecode, final String context)
    {
        final Frame view = new Frame();
        long allocatedBefore = threads.getCurrentThreadAllocatedBytes();
        String outcome = decode(frame, afterSeq, view, context);
        long allocated = threads.getCurrentThreadAllocatedBytes() - allocatedBefore;
        final long allowed = ALLOCATION_SLACK_BYTES + 4L * frame.limit();
        if (allocated > allowed)
        {
            // The first time a check fails, its message's string concatenation is bootstrapped (a few
            // MiB, once per call site): decode the same bytes again to measure the decoder alone.
            allocatedBefore = threads.getCurrentThreadAllocatedBytes();
            outcome = decode(frame, afterSeq, view, context);
            allocated = threads.getCurrentThreadAllocatedBytes() - allocatedBefore;
        }
        assertThat(allocated)
            .as("%s: bytes allocated to decode a frame of %d bytes", context, frame.limit())
            .isLessThanOrEqualTo(allowed);
        if (mustDecode)
        {
            assertThat(outcome).as(context).isEqualTo("decoded");
        }
        if (outcome.equals("decoded"))
        {
            assertDecodedRecordsAreSound(lastBatch, view, afterSeq, context);
        }
        outcomes.merge(outcome, 1, Integer::sum);
    }

    private String decode(final ByteBuffer frame, final long afterSeq, final Frame view, final String context)
    {
        try
        {
            Frames.verify(frame, frame.limit());
            view.wrap(frame, frame.limit());
            lastBatch = decoder.decode(view, afterSeq);
            return "decoded";
        }
        catch (final CorruptFrameException ex)
        {
            assertThat(ex.getMessage()).as(context).isNotBlank();
            return "refused: " + reason(ex.getMessage());
        }
        catch (final RuntimeException | Error ex)
        {
            throw new AssertionError(context + ": " + ex, ex);
        }
    }

    private void assertDecodedRecordsAreSound(
        final DecodedBatch batch, final Frame frame, final long afterSeq, final String context)
    {
        assertThat(batch.size()).as(context).isEqualTo(frame.count());
        long previous = afterSeq;
        for (int i = 0; i < batch.size(); i++)
        {
            assertThat(batch.seq(i)).as("%s: record %d seq", context, i).isGreaterThan(afterSeq)
                .isGreaterThanOrEqualTo(previous);
            previous = batch.seq(i);
            if (batch.isCheckpoint(i))
            {
                final byte[] label = batch.label(i).getBytes(StandardCharsets.UTF_8);
                assertThat(label.length).as(context).isLessThanOrEqualTo(BlockRecordDescriptor.MAX_LABEL_BYTES);
                continue;
            }
            final int volume = batch.volumeIndex(i);
            assertThat(volume).as(context).isBetween(0, BLOCK_SIZES.length - 1);
            assertThat(batch.blockIndex(i)).as(context).isBetween(0L, BLOCK_COUNTS[volume] - 1);
            final ByteBuffer block = batch.block(i);
            assertThat(block.remaining()).as(context).isEqualTo(BLOCK_SIZES[volume]);
            final byte[] bytes = new byte[block.remaining()];
            block.get(bytes);
            final byte[] expected = encodedContent.get(Checksums.xxHash64(bytes, 0, bytes.length));
            assertThat(expected).as("%s: record %d decodes to bytes that were never encoded", context, i).isNotNull();
            assertThat(bytes).as(context).isEqualTo(expected);
        }
        if (batch.size() > 0)
        {
            assertThat(previous).as(context).isEqualTo(frame.seq());
        }
    }

    /** A valid frame in a heap buffer with room to grow; records of it are listed in {@code records}. */
    private ByteBuffer buildValidFrame(final long afterSeq, final List<Built> records)
    {
        encoder.begin();
        encodedContent.clear();
        final int count = random.nextInt(10) == 0 ? 0 : 1 + random.nextInt(12);
        long seq = afterSeq + 1;
        int position = FrameDescriptor.HEADER_LENGTH;
        for (int i = 0; i < count; i++)
        {
            if (random.nextInt(3) != 0)
            {
                seq += random.nextInt(3);
            }
            if (random.nextInt(6) == 0)
            {
                final String label = randomLabel();
                if (!encoder.tryAddCheckpoint(seq, random.nextLong(), label))
                {
                    break;
                }
                final byte[] bytes = label.getBytes(StandardCharsets.UTF_8);
                encodedContent.put(Checksums.xxHash64(bytes, 0, bytes.length), bytes);
            }
            else
            {
                final int volume = random.nextInt(BLOCK_SIZES.length);
                final int blockSize = BLOCK_SIZES[volume];
                if (!encoder.hasRoomFor(1, blockSize))
                {
                    break;
                }
                final byte[] content = randomBlock(blockSize);
                encodedContent.put(Checksums.xxHash64(content, 0, content.length), content);
                final long blockIndex = (random.nextLong() & Long.MAX_VALUE) % BLOCK_COUNTS[volume];
                encoder.addBlock(seq, volume, blockIndex, ByteBuffer.wrap(content), 0, blockSize);
            }
            final int encodedLength = encoder.encodedBytes() - position - BlockRecordDescriptor.HEADER_LENGTH;
            records.add(new Built(position - FrameDescriptor.HEADER_LENGTH, encodedLength));
            position = encoder.encodedBytes();
        }
        final MessageType type = random.nextBoolean() ? MessageType.DATA : MessageType.FAILBACK_DATA;
        final ByteBuffer finished = encoder.finish(type, random.nextInt(5));
        final ByteBuffer copy = ByteBuffer.allocate(finished.remaining() + 64).order(ByteOrder.LITTLE_ENDIAN);
        copy.put(finished).flip();
        return copy;
    }

    private byte[] randomBlock(final int blockSize)
    {
        final byte[] content = new byte[blockSize];
        switch (random.nextInt(4))
        {
            case 0 ->
            {
                // all zero
            }
            case 1 ->
            {
                final byte[] phrase = new byte[1 + random.nextInt(24)];
                random.nextBytes(phrase);
                for (int i = 0; i < blockSize; i++)
                {
                    content[i] = phrase[i % phrase.length];
                }
            }
            case 2 -> content[random.nextInt(blockSize)] = (byte)(1 + random.nextInt(255));
            default -> random.nextBytes(content);
        }
        return content;
    }

    private String randomLabel()
    {
        final int length = random.nextInt(5) == 0 ? 0 : random.nextInt(60);
        final StringBuilder label = new StringBuilder();
        while (label.length() < length)
        {
            final int kind = random.nextInt(4);
            label.appendCodePoint(kind == 0 ? 0x1F600 + random.nextInt(50) : kind == 1 ? 0xE9 : 'a' + random.nextInt(26));
        }
        String text = label.toString();
        while (text.getBytes(StandardCharsets.UTF_8).length > BlockRecordDescriptor.MAX_LABEL_BYTES)
        {
            text = text.substring(0, text.length() / 2);
        }
        return text;
    }

    /** Applies one random mutation; returns what it did. */
    private String mutate(final ByteBuffer frame, final List<Built> records)
    {
        final int length = frame.limit();
        final int choice = random.nextInt(records.isEmpty() ? 6 : 16);
        switch (choice)
        {
            case 0 ->
            {
                final int bit = random.nextInt(length * 8);
                frame.put(bit >>> 3, (byte)(frame.get(bit >>> 3) ^ (1 << (bit & 7))));
                return "bit " + bit + " flipped";
            }
            case 1 ->
            {
                final int at = random.nextInt(length);
                frame.put(at, (byte)random.nextInt(256));
                return "byte " + at + " set";
            }
            case 2 ->
            {
                final int n = 1 + random.nextInt(Math.min(16, frame.capacity() - length + 1));
                if (length + n > frame.capacity())
                {
                    return "no room to insert";
                }
                final int at = FrameDescriptor.HEADER_LENGTH + random.nextInt(length - FrameDescriptor.HEADER_LENGTH + 1);
                final ByteBuffer tail = frame.duplicate().limit(length).position(at).slice();
                final byte[] moved = new byte[tail.remaining()];
                tail.get(moved);
                final byte[] inserted = new byte[n];
                random.nextBytes(inserted);
                frame.limit(length + n);
                frame.put(at, inserted);
                frame.put(at + n, moved);
                return n + " bytes inserted at " + at;
            }
            case 3 ->
            {
                final int at = FrameDescriptor.HEADER_LENGTH + random.nextInt(length - FrameDescriptor.HEADER_LENGTH + 1);
                final int n = Math.min(length - at, 1 + random.nextInt(64));
                final byte[] moved = new byte[length - at - n];
                frame.get(at + n, moved);
                frame.put(at, moved);
                frame.limit(length - n);
                return n + " bytes deleted at " + at;
            }
            case 4 ->
            {
                final int newLength = FrameDescriptor.HEADER_LENGTH + random.nextInt(length - FrameDescriptor.HEADER_LENGTH + 1);
                frame.limit(newLength);
                return "truncated to " + newLength;
            }
            case 5 ->
            {
                final int value = pickInt();
                frame.putInt(FrameDescriptor.COUNT_OFFSET, value);
                return "count set to " + value;
            }
            default ->
            {
                return mutateRecord(frame, records, choice);
            }
        }
    }

    private String mutateRecord(final ByteBuffer frame, final List<Built> records, final int choice)
    {
        final int index = random.nextInt(records.size());
        final Built record = records.get(index);
        final int at = FrameDescriptor.HEADER_LENGTH + record.offset();
        if (at + BlockRecordDescriptor.HEADER_LENGTH > frame.limit())
        {
            return "record " + index + " no longer in the frame";
        }
        switch (choice)
        {
            case 6 ->
            {
                final byte codec = (byte)(random.nextBoolean() ? random.nextInt(4) : random.nextInt(256));
                frame.put(at + BlockRecordDescriptor.CODEC_OFFSET, codec);
                return "record " + index + " codec set to " + codec;
            }
            case 7 ->
            {
                final int value = random.nextBoolean() ? pickInt() : record.encodedLength() + random.nextInt(9) - 4;
                frame.putInt(at + BlockRecordDescriptor.ENCODED_LENGTH_OFFSET, value);
                return "record " + index + " encoded length set to " + value;
            }
            case 8 ->
            {
                final byte kind = (byte)(random.nextBoolean() ? random.nextInt(4) : random.nextInt(256));
                frame.put(at + BlockRecordDescriptor.KIND_OFFSET, kind);
                return "record " + index + " kind set to " + kind;
            }
            case 9 ->
            {
                final int volume = random.nextBoolean() ? random.nextInt(BLOCK_SIZES.length + 1) : random.nextInt(65536);
                frame.putShort(at + BlockRecordDescriptor.VOLUME_OFFSET, (short)volume);
                return "record " + index + " volume set to " + volume;
            }
            case 10 ->
            {
                final long value = pickLong();
                frame.putLong(at + BlockRecordDescriptor.BLOCK_INDEX_OFFSET, value);
                return "record " + index + " block index set to " + value;
            }
            case 11 ->
            {
                final long seq = frame.getLong(at + BlockRecordDescriptor.SEQ_OFFSET);
                final long value = random.nextBoolean() ? pickLong() : seq + random.nextInt(5) - 2;
                frame.putLong(at + BlockRecordDescriptor.SEQ_OFFSET, value);
                return "record " + index + " seq set to " + value;
            }
            case 12 ->
            {
                frame.putLong(at + BlockRecordDescriptor.HASH_OFFSET, random.nextLong());
                return "record " + index + " hash changed";
            }
            case 13 ->
            {
                if (record.encodedLength() == 0)
                {
                    return "record " + index + " has no payload to damage";
                }
                final int payload = at + BlockRecordDescriptor.HEADER_LENGTH + random.nextInt(record.encodedLength());
                if (payload < frame.limit())
                {
                    frame.put(payload, (byte)(frame.get(payload) ^ (1 + random.nextInt(255))));
                }
                return "record " + index + " payload byte " + payload + " changed";
            }
            case 14 ->
            {
                final Built other = records.get(random.nextInt(records.size()));
                final int from = FrameDescriptor.HEADER_LENGTH + other.offset();
                final int n = Math.min(BlockRecordDescriptor.HEADER_LENGTH, frame.limit() - Math.max(at, from));
                if (n <= 0)
                {
                    return "record " + index + " header not copied (other record beyond the frame)";
                }
                final byte[] header = new byte[n];
                frame.get(from, header);
                frame.put(at, header);
                return "record " + index + " header copied from another record";
            }
            default ->
            {
                final int value = pickInt();
                frame.putInt(at + BlockRecordDescriptor.ENCODED_LENGTH_OFFSET, value);
                frame.put(at + BlockRecordDescriptor.CODEC_OFFSET, (byte)random.nextInt(3));
                return "record " + index + " codec and encoded length set (" + value + ")";
            }
        }
    }

    private int pickInt()
    {
        return random.nextInt(3) == 0 ? random.nextInt() : INTERESTING_INTS[random.nextInt(INTERESTING_INTS.length)];
    }

    private long pickLong()
    {
        return random.nextInt(3) == 0 ? random.nextLong() : INTERESTING_LONGS[random.nextInt(INTERESTING_LONGS.length)];
    }

    /** The kind of refusal, without the numbers, to count how many different checks were reached. */
    private static String reason(final String message)
    {
        return message.replaceAll("\\(expected [0-9a-f]+, computed [0-9a-f]+\\)", "").replaceAll("(?<![A-Za-z0-9])-?\\d+", "N");
    }
}
