package dev.replicator.core.wire;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.regex.Matcher;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Seeded fuzzing of the bodies of control frames: JSON ({@link Frame#bodyAs} for every
 * {@link Messages} record) and packed fingerprints ({@link FingerprintsCodec}). JSON inputs start from
 * valid messages and are truncated, cut, spliced with JSON tokens, given invalid UTF-8, wrong types,
 * huge numbers, deep nesting, or replaced by other documents ({@code null}, {@code []}, a bare number).
 *
 * <p>Property: {@code bodyAs} returns a message or throws a {@link ProtocolException} that says which
 * message was malformed; {@code FingerprintsCodec.validate} accepts a body only if every fingerprint it
 * counts can be read, and otherwise throws a {@link CorruptFrameException}. No other exception.
 * Missing fields decode to null or 0: the receiver validates what a message says.
 *
 * <p>Replay a run with {@code -Dfuzz.seed=N}; run longer with {@code -Dfuzz.iterations=N}.
 */
class ControlBodyFuzzTest
{
    private static final long SEED = Long.getLong("fuzz.seed", System.nanoTime());
    private static final int ITERATIONS = Integer.getInteger("fuzz.iterations", 40_000);

    private static final String[] TOKENS = {
        "{", "}", "[", "]", "\"", ":", ",", "-", ".", "e", "E", "0", "9", " ", "\\", "\\u", "\\uD800", "null", "true",
        "false", "NaN", "Infinity", "1e999999", "-1e-999999", "123456789012345678901234567890", "9223372036854775808",
        "-9223372036854775809", "2147483648", "1.5", "\"x\"", "[]", "{}", "\u00e9", "\uD83D\uDE00", "\u0000", "/*", "//"};
    private static final String[] DOCUMENTS = {
        "", " ", "null", "[]", "{}", "\"text\"", "1", "-1", "true", "{\"a\":", "[1,2", "{\"group\":null}",
        "{\"volumes\":[null]}", "{\"volumes\":{}}", "{\"args\":[1]}", "{\"args\":{\"k\":null}}", "{\"tailBitmaps\":[\"!!\"]}",
        "{\"tailBitmaps\":[1]}", "{\"data\":{\"a\":[1,{}]}}", "\uFEFF{}", "{\"epoch\":1e999}", "{\"epoch\":\"1\"}",
        "{\"epoch\":1.5}", "{\"epoch\":[]}", "{\"count\":-2147483649}", "{} trailing", "{\"group\":\"a\",\"group\":\"b\"}"};

    private static final List<Class<?>> TYPES = List.of(
        Messages.Hello.class, Messages.Welcome.class, Messages.Refused.class, Messages.CheckpointRequest.class,
        Messages.CheckpointTaken.class, Messages.FailbackReport.class, Messages.FingerprintRequest.class,
        Messages.RoleSwitch.class, Messages.RoleSwitchAck.class, Messages.AdminRequest.class,
        Messages.AdminProgress.class, Messages.AdminResponse.class, Messages.VolumeInfo.class);

    private final Random random = new Random(SEED);
    private final Map<String, Integer> outcomes = new TreeMap<>();

    @Test
    void malformedJsonBodiesFailOnlyWithProtocolException()
    {
        System.out.printf("ControlBodyFuzzTest seed=%d iterations=%d (replay: -Dfuzz.seed=%d)%n", SEED, ITERATIONS, SEED);
        for (int iteration = 0; iteration < ITERATIONS; iteration++)
        {
            final Class<?> type = TYPES.get(random.nextInt(TYPES.size()));
            final StringBuilder plan = new StringBuilder();
            final byte[] body = mutatedBody(type, plan);
            final String context = "seed " + SEED + " iteration " + iteration + " " + type.getSimpleName() + " (" + plan +
                "): " + abbreviate(new String(body, StandardCharsets.UTF_8));
            final Frame frame = frameWithBody(body);
            try
            {
                final Object message = frame.bodyAs(type);
                assertThat(message).as(context + ": decoded to null").isNotNull();
                assertThat(message).as(context).isInstanceOf(type);
                outcomes.merge("decoded", 1, Integer::sum);
            }
            catch (final ProtocolException ex)
            {
                assertThat(ex.getMessage()).as(context).contains(type.getSimpleName());
                outcomes.merge("refused", 1, Integer::sum);
            }
            catch (final RuntimeException | StackOverflowError | OutOfMemoryError ex)
            {
                throw new AssertionError(context + ": " + ex, ex);
            }
        }
        System.out.printf("ControlBodyFuzzTest fuzzed %d JSON bodies: %s%n", ITERATIONS, outcomes);
        assertThat(outcomes.get("decoded")).isPositive();
        assertThat(outcomes.get("refused")).isPositive();
    }

    @Test
    void everyDocumentThatIsNotAMessageIsRefused()
    {
        int inputs = 0;
        for (final Class<?> type : TYPES)
        {
            for (final String document : new String[] {"", "null", "[]", "1", "\"text\"", "{\"a\":", "[".repeat(100_000),
                "{\"a\":".repeat(50_000), "{\"x\":\"" + "y".repeat(FrameDescriptor.MAX_FRAME_LENGTH - 100) + "\"}"})
            {
                final String context = type.getSimpleName() + " from " + abbreviate(document);
                try
                {
                    frameWithBody(document.getBytes(StandardCharsets.UTF_8)).bodyAs(type);
                    if (document.length() < 1000)
                    {
                        throw new AssertionError(context + " was accepted");
                    }
                }
                catch (final ProtocolException ex)
                {
                    assertThat(ex.getMessage()).as(context).contains(type.getSimpleName());
                }
                catch (final RuntimeException | StackOverflowError ex)
                {
                    throw new AssertionError(context + ": " + ex, ex);
                }
                inputs++;
            }
        }
        System.out.printf("ControlBodyFuzzTest tried %d non-message documents%n", inputs);
    }

    @Test
    void fingerprintBodiesAreReadableWhenValidAndRefusedOtherwise()
    {
        int accepted = 0;
        for (int iteration = 0; iteration < ITERATIONS; iteration++)
        {
            final int count = random.nextInt(3) == 0 ? random.nextInt() : random.nextInt(64);
            final int length = random.nextInt(4) == 0 ?
                FingerprintsCodec.HEADER_LENGTH + Math.max(0, Math.min(count, 64)) * Long.BYTES : random.nextInt(600);
            final ByteBuffer body = ByteBuffer.allocate(length).order(ByteOrder.LITTLE_ENDIAN);
            random.nextBytes(body.array());
            if (length >= FingerprintsCodec.HEADER_LENGTH)
            {
                body.putInt(4, count);
            }
            final String context = "seed " + SEED + " iteration " + iteration + " (body of " + length + " bytes, count " +
                count + ")";
            try
            {
                FingerprintsCodec.validate(body);
                final int n = FingerprintsCodec.count(body);
                for (int i = 0; i < n; i++)
                {
                    FingerprintsCodec.fingerprint(body, i);
                }
                accepted++;
            }
            catch (final CorruptFrameException ex)
            {
                assertThat(ex.getMessage()).as(context).isNotBlank();
            }
            catch (final RuntimeException ex)
            {
                throw new AssertionError(context + ": " + ex, ex);
            }
        }
        System.out.printf("ControlBodyFuzzTest fuzzed %d fingerprint bodies, %d valid%n", ITERATIONS, accepted);
        assertThat(accepted).isPositive();
    }

    private byte[] mutatedBody(final Class<?> type, final StringBuilder plan)
    {
        if (random.nextInt(12) == 0)
        {
            final String document = DOCUMENTS[random.nextInt(DOCUMENTS.length)];
            plan.append("document");
            return document.getBytes(StandardCharsets.UTF_8);
        }
        byte[] body = Json.encode(sample(type));
        final int mutations = random.nextInt(4);
        plan.append(mutations).append(" mutations");
        for (int m = 0; m < mutations; m++)
        {
            body = mutate(body, plan);
        }
        return body;
    }

    private byte[] mutate(final byte[] body, final StringBuilder plan)
    {
        final int at = body.length == 0 ? 0 : random.nextInt(body.length + 1);
        switch (random.nextInt(6))
        {
            case 0 ->
            {
                plan.append(", cut at ").append(at);
                return java.util.Arrays.copyOf(body, at);
            }
            case 1 ->
            {
                final String token = TOKENS[random.nextInt(TOKENS.length)];
                plan.append(", '").append(token).append("' inserted at ").append(at);
                return splice(body, at, 0, token.getBytes(StandardCharsets.UTF_8));
            }
            case 2 ->
            {
                final String token = TOKENS[random.nextInt(TOKENS.length)];
                final int n = Math.min(body.length - at, 1 + random.nextInt(8));
                plan.append(", ").append(n).append(" bytes at ").append(at).append(" replaced by '").append(token).append('\'');
                return splice(body, at, n, token.getBytes(StandardCharsets.UTF_8));
            }
            case 3 ->
            {
                final byte[] bytes = {(byte)(0x80 + random.nextInt(128)), (byte)random.nextInt(256)};
                plan.append(", raw bytes inserted at ").append(at);
                return splice(body, at, 0, bytes);
            }
            case 4 ->
            {
                final String text = new String(body, StandardCharsets.UTF_8);
                final String replaced = text.replaceFirst("-?\\d+", Matcher.quoteReplacement(TOKENS[random.nextInt(TOKENS.length)]));
                plan.append(", a number replaced");
                return replaced.getBytes(StandardCharsets.UTF_8);
            }
            default ->
            {
                final String text = new String(body, StandardCharsets.UTF_8);
                final String[] values = {"null", "[]", "{}", "\"s\"", "0", "true", "[null]", "{\"a\":null}"};
                final String replaced = text.replaceFirst(":(\"[^\"]*\"|-?\\d+|true|false|null)",
                    Matcher.quoteReplacement(":" + values[random.nextInt(values.length)]));
                plan.append(", a value replaced");
                return replaced.getBytes(StandardCharsets.UTF_8);
            }
        }
    }

    private static byte[] splice(final byte[] body, final int at, final int removed, final byte[] inserted)
    {
        final byte[] out = new byte[body.length - removed + inserted.length];
        System.arraycopy(body, 0, out, 0, at);
        System.arraycopy(inserted, 0, out, at, inserted.length);
        System.arraycopy(body, at + removed, out, at + inserted.length, body.length - at - removed);
        return out;
    }

    private Object sample(final Class<?> type)
    {
        final List<Messages.VolumeInfo> volumes = new ArrayList<>();
        for (int i = random.nextInt(3); i >= 0; i--)
        {
            volumes.add(new Messages.VolumeInfo("vol" + i, random.nextLong() & Long.MAX_VALUE, 4096));
        }
        final long n = random.nextBoolean() ? random.nextInt(100) : random.nextLong();
        if (type == Messages.Hello.class)
        {
            return new Messages.Hello(1, "db", "host", "2f1c4b7e-0000-4000-8000-000000000000", n, n + 1, volumes);
        }
        if (type == Messages.Welcome.class)
        {
            return new Messages.Welcome("db", n, n);
        }
        if (type == Messages.Refused.class)
        {
            return new Messages.Refused(Messages.RefusalCode.DEMOTED, "demoted \u00e9", n, n);
        }
        if (type == Messages.CheckpointRequest.class)
        {
            return new Messages.CheckpointRequest("r-" + n, "label");
        }
        if (type == Messages.CheckpointTaken.class)
        {
            return new Messages.CheckpointTaken("r-" + n, n);
        }
        if (type == Messages.FailbackReport.class)
        {
            return new Messages.FailbackReport(true, n, n, n, List.of(new byte[] {1, 2, 3}, new byte[0]), volumes);
        }
        if (type == Messages.FingerprintRequest.class)
        {
            return new Messages.FingerprintRequest(random.nextInt(3), n, random.nextInt(1000));
        }
        if (type == Messages.RoleSwitch.class)
        {
            return new Messages.RoleSwitch(n, n);
        }
        if (type == Messages.RoleSwitchAck.class)
        {
            return new Messages.RoleSwitchAck(n, n, "id");
        }
        if (type == Messages.AdminRequest.class)
        {
            return new Messages.AdminRequest("images", Map.of("group", "db", "json", "true"));
        }
        if (type == Messages.AdminProgress.class)
        {
            return new Messages.AdminProgress("copy", n, n, "bytes");
        }
        if (type == Messages.AdminResponse.class)
        {
            return new Messages.AdminResponse(0, "ok", JsonNodeFactory.instance.objectNode().put("seq", n));
        }
        return volumes.get(0);
    }

    private static Frame frameWithBody(final byte[] body)
    {
        final ByteBuffer buffer = ByteBuffer.allocate(FrameDescriptor.HEADER_LENGTH + body.length).order(ByteOrder.LITTLE_ENDIAN);
        buffer.put(FrameDescriptor.HEADER_LENGTH, body);
        Frames.finish(buffer, buffer.capacity(), MessageType.HELLO, 1, 0, 0);
        final Frame frame = new Frame();
        frame.wrap(buffer, buffer.capacity());
        return frame;
    }

    private static String abbreviate(final String text)
    {
        return text.length() <= 200 ? text : text.substring(0, 200) + "...(" + text.length() + " chars)";
    }
}
