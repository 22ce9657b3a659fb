package dev.replicator.core.wire;

import dev.replicator.core.codec.BlockCodec;
import dev.replicator.core.tree.TreeOp;
import dev.replicator.core.tree.TreeRecordDescriptor;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class DataFrameRoundTripTest
{
    private static final int BLOCK = 4096;
    private static final int[] BLOCK_SIZES = {BLOCK, BLOCK};
    private static final long[] BLOCK_COUNTS = {1024, 1024};

    private static ByteBuffer blocks(final long seed)
    {
        final Random random = new Random(seed);
        final ByteBuffer data = ByteBuffer.allocateDirect(3 * BLOCK);
        final byte[] noise = new byte[BLOCK];
        random.nextBytes(noise);
        data.put(noise);                                   // block 0: incompressible
        final byte[] text = ("the quick brown fox jumps over the lazy dog " + seed + "\n")
            .repeat(BLOCK / 40).substring(0, BLOCK).getBytes(StandardCharsets.US_ASCII);
        data.put(text);                                    // block 1: compressible
        data.put(new byte[BLOCK]);                         // block 2: all zero
        return data.flip();
    }

    private static ByteBuffer encode(final ByteBuffer data)
    {
        final DataFrameEncoder encoder = new DataFrameEncoder();
        assertThat(encoder.hasRoomFor(3, BLOCK)).isTrue();
        encoder.addBlock(7, 0, 10, data, 0, BLOCK);
        encoder.addBlock(7, 0, 11, data, BLOCK, BLOCK);
        encoder.addBlock(8, 1, 12, data, 2 * BLOCK, BLOCK);
        assertThat(encoder.tryAddCheckpoint(9, 123_456L, "before-upgrade")).isTrue();
        final ByteBuffer finished = encoder.finish(MessageType.DATA, 3);
        final ByteBuffer copy = ByteBuffer.allocate(finished.remaining()).order(ByteOrder.LITTLE_ENDIAN);
        copy.put(finished).flip();
        return copy;
    }

    private static Frame frameOf(final ByteBuffer bytes) throws CorruptFrameException
    {
        Frames.verify(bytes, bytes.limit());
        final Frame frame = new Frame();
        frame.wrap(bytes, bytes.limit());
        return frame;
    }

    @Test
    void shouldRoundTripIncompressibleCompressibleAndZeroBlocksAndCheckpoints() throws Exception
    {
        final ByteBuffer data = blocks(1);
        final ByteBuffer bytes = encode(data);
        // The zero block carries no payload and the text block compresses: well under 3 raw blocks.
        assertThat(bytes.limit()).isLessThan(2 * BLOCK + 4 * BlockRecordDescriptor.HEADER_LENGTH + 200);

        final Frame frame = frameOf(bytes);
        assertThat(frame.type()).isEqualTo(MessageType.DATA);
        assertThat(frame.epoch()).isEqualTo(3);
        assertThat(frame.seq()).isEqualTo(9);
        assertThat(frame.count()).isEqualTo(4);

        final DecodedBatch batch = new DataFrameDecoder(BLOCK_SIZES, BLOCK_COUNTS).decode(frame, 6);
        assertThat(batch.size()).isEqualTo(4);
        for (int i = 0; i < 3; i++)
        {
            assertThat(batch.isCheckpoint(i)).isFalse();
            final ByteBuffer expected = data.duplicate().position(i * BLOCK).limit((i + 1) * BLOCK);
            assertThat(batch.block(i)).isEqualTo(expected);
        }
        assertThat(batch.seq(0)).isEqualTo(7);
        assertThat(batch.blockIndex(1)).isEqualTo(11);
        assertThat(batch.volumeIndex(2)).isEqualTo(1);
        assertThat(batch.isCheckpoint(3)).isTrue();
        assertThat(batch.label(3)).isEqualTo("before-upgrade");
        assertThat(batch.timestampMs(3)).isEqualTo(123_456L);
    }

    @Test
    void shouldRoundTripTreeOpsBesideBlocksAndRefuseADamagedOne() throws Exception
    {
        final TreeOp write = TreeOp.write("dir/file.txt", 65536, ("hello tree ".repeat(500)).getBytes(StandardCharsets.UTF_8));
        final TreeOp rename = TreeOp.rename("a/b", "c/d");
        final ByteBuffer writeBytes = TreeRecordDescriptor.encode(write);
        final ByteBuffer renameBytes = TreeRecordDescriptor.encode(rename);
        final DataFrameEncoder encoder = new DataFrameEncoder();
        final ByteBuffer data = blocks(2);
        encoder.addBlock(5, 0, 1, data, 0, BLOCK);
        assertThat(encoder.tryAddTree(6, 0, writeBytes, 0, writeBytes.remaining())).isTrue();
        assertThat(encoder.tryAddTree(7, 1, renameBytes, 0, renameBytes.remaining())).isTrue();
        final ByteBuffer finished = encoder.finish(MessageType.DATA, 1);
        final ByteBuffer bytes = ByteBuffer.allocate(finished.remaining()).order(ByteOrder.LITTLE_ENDIAN);
        bytes.put(finished).flip();
        assertThat(bytes.limit()).as("the repetitive write compresses").isLessThan(BLOCK + writeBytes.remaining() / 2);

        final DecodedBatch batch = new DataFrameDecoder(BLOCK_SIZES, BLOCK_COUNTS).decode(frameOf(bytes), 4);
        assertThat(batch.size()).isEqualTo(3);
        assertThat(batch.isTree(0)).isFalse();
        assertThat(batch.isTree(1)).isTrue();
        assertThat(TreeRecordDescriptor.decode(batch.block(1))).isEqualTo(write);
        assertThat(batch.volumeIndex(2)).isEqualTo(1);
        assertThat(TreeRecordDescriptor.decode(batch.block(2))).isEqualTo(rename);

        final ByteBuffer damaged = ByteBuffer.allocate(bytes.limit()).order(ByteOrder.LITTLE_ENDIAN).put(bytes.duplicate()).flip();
        final int lastPayload = damaged.limit() - 3;
        damaged.put(lastPayload, (byte)(damaged.get(lastPayload) ^ 1));
        damaged.putInt(FrameDescriptor.CRC_OFFSET, Frames.crcOf(damaged, damaged.limit())); // a valid CRC over the damage
        assertThatThrownBy(() -> new DataFrameDecoder(BLOCK_SIZES, BLOCK_COUNTS).decode(frameOf(damaged), 4))
            .isInstanceOf(CorruptFrameException.class);
        assertThatThrownBy(() -> TreeRecordDescriptor.decode(TreeRecordDescriptor.encode(TreeOp.rename("a", "../etc"))))
            .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("..");
    }

    @Test
    void shouldSendIncompressibleBlocksRawAndZeroBlocksEmpty()
    {
        final ByteBuffer data = blocks(2);
        final ByteBuffer out = ByteBuffer.allocate(BlockCodec.maxEncodedLength(BLOCK));
        assertThat(BlockCodec.encode(data, 0, BLOCK, out)).isEqualTo(BlockCodec.RAW);
        assertThat(out.position()).isEqualTo(BLOCK);
        out.clear();
        assertThat(BlockCodec.encode(data, BLOCK, BLOCK, out)).isEqualTo(BlockCodec.LZ4);
        assertThat(out.position()).isLessThan(BLOCK / 4);
        out.clear();
        assertThat(BlockCodec.encode(data, 2 * BLOCK, BLOCK, out)).isEqualTo(BlockCodec.ZERO);
        assertThat(out.position()).isZero();
    }

    @Test
    void shouldRejectEveryFrameWithOneFlippedBit()
    {
        final ByteBuffer clean = encode(blocks(3));
        final Random random = new Random(42);
        for (int trial = 0; trial < 2000; trial++)
        {
            final ByteBuffer bytes = ByteBuffer.allocate(clean.limit()).order(ByteOrder.LITTLE_ENDIAN);
            bytes.put(clean.duplicate()).flip();
            final int bit = random.nextInt(bytes.limit() * 8);
            bytes.put(bit / 8, (byte)(bytes.get(bit / 8) ^ (1 << (bit % 8))));
            assertThatThrownBy(() -> new DataFrameDecoder(BLOCK_SIZES, BLOCK_COUNTS).decode(frameOf(bytes), 6))
                .as("flipped bit %d", bit)
                .isInstanceOf(CorruptFrameException.class);
        }
    }

    @Test
    void shouldRejectABlockWhoseBytesDoNotMatchItsHashEvenWithAValidCrc() throws Exception
    {
        final ByteBuffer bytes = encode(blocks(4));
        // Damage the raw block's payload, then re-seal the frame: only the end-to-end xxHash64 can tell.
        final int payload = FrameDescriptor.HEADER_LENGTH + BlockRecordDescriptor.HEADER_LENGTH + 100;
        bytes.put(payload, (byte)(bytes.get(payload) ^ 0x10));
        bytes.putInt(FrameDescriptor.CRC_OFFSET, Frames.crcOf(bytes, bytes.limit()));
        final Frame frame = frameOf(bytes);
        assertThatThrownBy(() -> new DataFrameDecoder(BLOCK_SIZES, BLOCK_COUNTS).decode(frame, 6))
            .isInstanceOf(CorruptFrameException.class)
            .hasMessageContaining("xxHash64");
    }

    @Test
    void shouldRejectRecordsOutsideTheVolumeOrOutOfOrder() throws Exception
    {
        final ByteBuffer bytes = encode(blocks(5));
        final Frame frame = frameOf(bytes);
        assertThatThrownBy(() -> new DataFrameDecoder(BLOCK_SIZES, new long[] {11, 1024}).decode(frame, 6))
            .isInstanceOf(CorruptFrameException.class).hasMessageContaining("outside the volume");
        assertThatThrownBy(() -> new DataFrameDecoder(BLOCK_SIZES, BLOCK_COUNTS).decode(frame, 7))
            .isInstanceOf(CorruptFrameException.class).hasMessageContaining("out of order");
    }

    @Test
    void shouldReuseTheEncoderForFullFramesAfterASmallOne() throws Exception
    {
        final ByteBuffer random = ByteBuffer.allocate(BLOCK);
        new Random(9).nextBytes(random.array());
        final DataFrameEncoder encoder = new DataFrameEncoder();
        encoder.addBlock(1, 0, 0, random, 0, BLOCK);
        encoder.finish(MessageType.DATA, 1);
        encoder.begin();
        int added = 0;
        while (encoder.hasRoomFor(1, BLOCK))
        {
            encoder.addBlock(2 + added, 0, added % 1024, random, 0, BLOCK);
            added++;
        }
        assertThat(added).isGreaterThan(1000);
        final ByteBuffer finished = encoder.finish(MessageType.DATA, 1);
        final ByteBuffer copy = ByteBuffer.allocate(finished.remaining()).order(ByteOrder.LITTLE_ENDIAN);
        copy.put(finished).flip();
        assertThat(new DataFrameDecoder(BLOCK_SIZES, BLOCK_COUNTS).decode(frameOf(copy), 1).size()).isEqualTo(added);
    }
}
