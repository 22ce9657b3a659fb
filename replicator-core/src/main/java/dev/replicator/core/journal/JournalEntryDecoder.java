package dev.replicator.core.journal;

import net.openhft.chronicle.bytes.Bytes;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32C;

import static dev.replicator.core.journal.JournalEntryDescriptor.*;

/**
 * Copies one entry out of a Chronicle document and checks it ({@link JournalEntryDescriptor}): the
 * header fits, the payload length and format match the document's length exactly, the type is known
 * and the CRC32C matches. Nothing of an entry may be used before {@link #decode} says it is intact:
 * Chronicle hands back a damaged document as a valid one. The payload buffer grows to the largest
 * entry seen and is reused. Not thread-safe: one per reader, or one used under a lock.
 */
final class JournalEntryDecoder
{
    private final CRC32C crc = new CRC32C();
    private final ByteBuffer header = ByteBuffer.allocate(HEADER_LENGTH).order(ByteOrder.LITTLE_ENDIAN);
    private byte[] payloadBytes;
    private ByteBuffer payload;
    private int payloadLength;

    JournalEntryDecoder(final int payloadCapacity)
    {
        allocatePayload(payloadCapacity);
    }

    /**
     * Copies and checks the entry between the read position and the read limit of {@code bytes}
     * (neither moves).
     *
     * @return null if the entry is intact; otherwise what is wrong with it, for a message.
     */
    String decode(final Bytes<?> bytes)
    {
        final long offset = bytes.readPosition();
        final long length = bytes.readRemaining();
        payloadLength = 0;
        if (length < HEADER_LENGTH)
        {
            return "is " + length + " bytes, shorter than a journal entry header";
        }
        bytes.read(offset, header.array(), 0, HEADER_LENGTH);
        final int claimedPayloadLength = header.getInt(PAYLOAD_LENGTH_OFFSET);
        final byte format = header.get(FORMAT_OFFSET);
        final int trailerLength;
        if (format == FORMAT_CRC32C)
        {
            trailerLength = CRC_LENGTH;
        }
        else if (format == FORMAT_UNCHECKED)
        {
            trailerLength = 0;
        }
        else
        {
            return "has unknown format " + format;
        }
        if (claimedPayloadLength < 0 || HEADER_LENGTH + (long)claimedPayloadLength + trailerLength != length)
        {
            return "claims a payload of " + claimedPayloadLength + " bytes in an entry of " + length + " bytes";
        }
        if (claimedPayloadLength > payloadBytes.length)
        {
            // Bounded by the document's real length, checked above.
            allocatePayload(claimedPayloadLength);
        }
        bytes.read(offset + HEADER_LENGTH, payloadBytes, 0, claimedPayloadLength);
        if (format == FORMAT_CRC32C)
        {
            crc.reset();
            crc.update(header.array(), 0, HEADER_LENGTH);
            crc.update(payloadBytes, 0, claimedPayloadLength);
            final int computed = (int)crc.getValue();
            final int stored = bytes.readInt(offset + HEADER_LENGTH + claimedPayloadLength);
            if (stored != computed)
            {
                return String.format("fails its CRC32C (stored %08x, computed %08x)", stored, computed);
            }
        }
        final byte type = type();
        if (type != TYPE_WRITE && type != TYPE_CHECKPOINT && type != TYPE_TREE)
        {
            return "has unknown entry type " + type;
        }
        payloadLength = claimedPayloadLength;
        return null;
    }

    long seq()
    {
        return header.getLong(SEQ_OFFSET);
    }

    long timestampMs()
    {
        return header.getLong(TIMESTAMP_MS_OFFSET);
    }

    long firstBlock()
    {
        return header.getLong(FIRST_BLOCK_OFFSET);
    }

    int volumeIndex()
    {
        return header.getShort(VOLUME_INDEX_OFFSET) & 0xFFFF;
    }

    byte type()
    {
        return header.get(TYPE_OFFSET);
    }

    int payloadLength()
    {
        return payloadLength;
    }

    byte[] payloadBytes()
    {
        return payloadBytes;
    }

    /** The payload of the entry last decoded: position 0, limit its length; valid until the next decode. */
    ByteBuffer payload()
    {
        return payload.clear().limit(payloadLength);
    }

    private void allocatePayload(final int capacity)
    {
        payloadBytes = new byte[capacity];
        payload = ByteBuffer.wrap(payloadBytes).order(ByteOrder.LITTLE_ENDIAN);
    }
}
