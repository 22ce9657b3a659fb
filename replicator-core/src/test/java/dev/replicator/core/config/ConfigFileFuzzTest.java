package dev.replicator.core.config;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Seeded fuzzing of config files: random files written to disk (settings with random values, unicode,
 * huge and negative numbers with size suffixes, duplicate keys, lines without '=', bad keys, comments,
 * CR line ends, invalid UTF-8) are loaded with {@link ConfigFile#load} and read with every typed getter
 * the agent and target configs use, including {@link HostPort#parse}.
 *
 * <p>Property: a file either yields values inside the asked ranges, or fails with a
 * {@link ConfigException} whose message names the file, and the line when the problem is on one. Never
 * a {@code NumberFormatException}, {@code ArithmeticException}, {@code InvalidPathException} or any
 * other exception.
 *
 * <p>Replay a run with {@code -Dfuzz.seed=N}; run longer with {@code -Dfuzz.iterations=N}.
 */
class ConfigFileFuzzTest
{
    private static final long SEED = Long.getLong("fuzz.seed", System.nanoTime());
    private static final int ITERATIONS = Integer.getInteger("fuzz.iterations", 10_000);

    private static final String[] KEYS = {
        "group", "target", "listen", "state.dir", "data.dir", "scan.interval.ms", "ship.window.frames",
        "ship.frame.bytes", "retain.checkpoints", "journal.sync", "capture", "volume.data.path",
        "volume.data.size", "volume.data.block.size", "flag"};
    private static final String[] NUMBERS = {
        "0", "1", "-1", "4096", "256m", "1k", "8M", "2g", "1t", "99999999999t", "9223372036854775807",
        "9223372036854775808", "-9223372036854775808", "-9223372036854775809", "9223372036854775807k",
        "8388607t", "8388608t", "-8388609t", "1.5", "1e3", "0x10", "1_000", "+5", "- 5", "5 k", "k", "t", "",
        "\u0663\u0664", "\uFF15", "12\u00a0", "NaN", "2147483648", "-2147483649", "00000000000000000000001"};
    private static final String[] VALUES = {
        "db", "127.0.0.1:7400", "[::1]:7400", ":7400", "host:", "host:99999", "host:-1", "host:+80", "host: 80",
        "host:80:90", "/var/lib/replicator", "relative/dir", "a\u0000b", "\u00e9t\u00e9", "\uD83D\uDE00", "true",
        "yes", "off", "TRUE", "scan", "api", "checkpoint", "none", "x".repeat(300), "\uD800", "# not a comment"};
    private static final String[] JUNK = {
        "no equals sign", "=value", " = ", "Group = x", "group.\u00e9 = 1", "k\u0000 = 1", "\uFEFFgroup = db",
        "a b = c", "volume..path = x", "#", "   # indented comment", "\t", "key = value = more", "\r", "[section]",
        "group = db # comment"};

    @TempDir
    Path dir;

    private final Random random = new Random(SEED);
    private final Map<String, Integer> outcomes = new TreeMap<>();

    @Test
    void randomConfigFilesFailOnlyWithConfigExceptionsNamingFileAndLine() throws IOException
    {
        System.out.printf("ConfigFileFuzzTest seed=%d iterations=%d (replay: -Dfuzz.seed=%d)%n", SEED, ITERATIONS, SEED);
        for (int iteration = 0; iteration < ITERATIONS; iteration++)
        {
            final Path file = dir.resolve("fuzz-" + (iteration % 16) + ".conf");
            final List<String> lines = randomLines();
            final byte[] bytes = encode(lines);
            Files.write(file, bytes);
            final String context = "seed " + SEED + " iteration " + iteration + ", file:\n" +
                new String(bytes, StandardCharsets.UTF_8).replace("\u0000", "\\0");
            try
            {
                readLikeTheConfigsDo(ConfigFile.load(file));
                outcomes.merge("loaded", 1, Integer::sum);
            }
            catch (final ConfigException ex)
            {
                assertThat(ex.getMessage()).as(context).contains(file.toString());
                final String line = lineOf(ex.getMessage(), file);
                if (line != null)
                {
                    final int number = Integer.parseInt(line);
                    // Control characters in random text may break a line in two: count lines as the reader does.
                    final int fileLines = new String(bytes, StandardCharsets.UTF_8).split("\r\n|\r|\n", -1).length;
                    assertThat(number).as(context + "\n" + ex.getMessage()).isBetween(1, fileLines);
                }
                outcomes.merge(kind(ex.getMessage(), file, line != null), 1, Integer::sum);
            }
            catch (final RuntimeException ex)
            {
                throw new AssertionError(context + "\n" + ex, ex);
            }
        }
        System.out.printf("ConfigFileFuzzTest fuzzed %d files: %s%n", ITERATIONS, outcomes);
        assertThat(outcomes.get("loaded")).as("some files are valid").isPositive();
    }

    @Test
    void sizesParseToTheirValueOrFailAsNumbersInRange()
    {
        int inputs = 0;
        for (final String number : NUMBERS)
        {
            for (final String prefix : new String[] {"", " ", "-", "+"})
            {
                final String value = prefix + number;
                final ConfigFile config = ConfigFile.parse("t.conf", List.of("n = " + value));
                final String context = "'" + value + "'";
                try
                {
                    final long parsed = config.longValue("n", -42, Long.MIN_VALUE, Long.MAX_VALUE);
                    if (value.isBlank())
                    {
                        assertThat(parsed).as(context + " is unset: the default").isEqualTo(-42);
                    }
                    else
                    {
                        assertThat(value.strip()).as(context).matches("[+-]?[0-9]+ ?[kKmMgGtT]?");
                    }
                }
                catch (final ConfigException ex)
                {
                    assertThat(ex.getMessage()).as(context).startsWith("t.conf line 1: 'n': ");
                }
                catch (final RuntimeException ex)
                {
                    throw new AssertionError(context + ": " + ex, ex);
                }
                inputs++;
            }
        }
        System.out.printf("ConfigFileFuzzTest parsed %d sizes%n", inputs);
    }

    /** What AgentConfig.load and TargetConfig.load ask of a file, with the same ranges. */
    private void readLikeTheConfigsDo(final ConfigFile config)
    {
        for (final String key : config.keysStartingWith(""))
        {
            switch (random.nextInt(7))
            {
                case 0 -> config.string(key, "default");
                case 1 -> assertThat(config.longValue(key, 5000, 100, 86_400_000L)).isBetween(100L, 86_400_000L);
                case 2 -> assertThat(config.intValue(key, 8, 1, 1024)).isBetween(1, 1024);
                case 3 -> assertThat(config.intValue(key, 1 << 20, 64 * 1024, 8 << 20)).isBetween(64 * 1024, 8 << 20);
                case 4 -> config.booleanValue(key, false);
                case 5 -> config.path(key, Path.of("state"));
                default -> HostPort.parse(config.requireString(key), config.source() + ": '" + key + "'");
            }
        }
        if (random.nextBoolean())
        {
            config.requirePath(KEYS[random.nextInt(KEYS.length)]);
        }
        config.rejectUnknownKeys();
    }

    private List<String> randomLines()
    {
        final List<String> lines = new ArrayList<>();
        final int count = random.nextInt(12);
        for (int i = 0; i < count; i++)
        {
            final int kind = random.nextInt(20);
            if (kind < 10)
            {
                lines.add(KEYS[random.nextInt(KEYS.length)] + pick(" = ", "=", "  =\t") + randomValue());
            }
            else if (kind < 12 && !lines.isEmpty())
            {
                lines.add(lines.get(random.nextInt(lines.size())));
            }
            else if (kind < 15)
            {
                lines.add(JUNK[random.nextInt(JUNK.length)]);
            }
            else if (kind < 17)
            {
                lines.add(random.nextBoolean() ? "" : "# comment " + randomValue());
            }
            else
            {
                lines.add(randomText());
            }
        }
        return lines;
    }

    private String randomValue()
    {
        return random.nextBoolean() ? NUMBERS[random.nextInt(NUMBERS.length)] : VALUES[random.nextInt(VALUES.length)];
    }

    private String randomText()
    {
        final StringBuilder text = new StringBuilder();
        final int length = random.nextInt(30);
        for (int i = 0; i < length; i++)
        {
            final int kind = random.nextInt(5);
            text.appendCodePoint(kind == 0 ? random.nextInt(0x20) : kind == 1 ? 0x80 + random.nextInt(0x2000) :
                kind == 2 ? "=#.-_ :".charAt(random.nextInt(7)) : kind == 3 ? 0x1F600 + random.nextInt(64) :
                'a' + random.nextInt(26));
        }
        return text.toString();
    }

    private byte[] encode(final List<String> lines)
    {
        final String separator = random.nextInt(5) == 0 ? "\r\n" : "\n";
        final byte[] text = String.join(separator, lines).getBytes(StandardCharsets.UTF_8);
        if (random.nextInt(25) != 0 || text.length == 0)
        {
            return text;
        }
        // Not UTF-8: one byte that cannot start or continue a character.
        text[random.nextInt(text.length)] = (byte)0xFF;
        return text;
    }

    private String pick(final String... choices)
    {
        return choices[random.nextInt(choices.length)];
    }

    /** The line number a message gives for the file, or null. */
    private static String lineOf(final String message, final Path file)
    {
        final String prefix = file + " line ";
        if (!message.startsWith(prefix))
        {
            return null;
        }
        final int end = message.indexOf(':', prefix.length());
        return message.substring(prefix.length(), end);
    }

    private static String kind(final String message, final Path file, final boolean hasLine)
    {
        final String rest = message.substring(file.toString().length());
        if (rest.contains("is not a number"))
        {
            return "not a number";
        }
        if (rest.contains(" is outside ["))
        {
            return "out of range";
        }
        if (rest.contains("too large"))
        {
            return "too large";
        }
        if (rest.contains("not a valid path"))
        {
            return "bad path";
        }
        if (rest.contains("host:port") || rest.contains("port"))
        {
            return "bad host:port";
        }
        return hasLine ? "other, with line" : "other, file only";
    }
}
