package dev.replicator.core.wire;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import java.io.IOException;
import java.io.UncheckedIOException;

/** The one JSON mapper for control messages and {@code --json} output. Thread-safe. */
public final class Json
{
    private static final ObjectMapper MAPPER = new ObjectMapper()
        // A newer peer may add fields; an older one ignores them.
        .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false)
        .configure(SerializationFeature.FAIL_ON_EMPTY_BEANS, false);

    private Json()
    {
    }

    public static ObjectMapper mapper()
    {
        return MAPPER;
    }

    public static byte[] encode(final Object value)
    {
        try
        {
            return MAPPER.writeValueAsBytes(value);
        }
        catch (final JsonProcessingException ex)
        {
            throw new UncheckedIOException(ex);
        }
    }

    public static String encodeToString(final Object value)
    {
        try
        {
            return MAPPER.writeValueAsString(value);
        }
        catch (final JsonProcessingException ex)
        {
            throw new UncheckedIOException(ex);
        }
    }

    public static String pretty(final Object value)
    {
        try
        {
            return MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(value);
        }
        catch (final JsonProcessingException ex)
        {
            throw new UncheckedIOException(ex);
        }
    }

    /**
     * Decodes one message; never returns null.
     *
     * @throws ProtocolException if the bytes are not JSON of that message (also for a body of JSON
     *                           {@code null}, which would otherwise decode to a null message).
     */
    public static <T> T decode(final byte[] bytes, final int offset, final int length, final Class<T> type)
        throws ProtocolException
    {
        final T value;
        try
        {
            value = MAPPER.readValue(bytes, offset, length, type);
        }
        catch (final IOException ex)
        {
            throw new ProtocolException("malformed " + type.getSimpleName() + " message: " + ex.getMessage(), ex);
        }
        if (value == null)
        {
            throw new ProtocolException("malformed " + type.getSimpleName() + " message: the body is JSON null");
        }
        return value;
    }
}
