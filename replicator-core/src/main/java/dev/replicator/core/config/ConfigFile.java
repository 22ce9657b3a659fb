package dev.replicator.core.config;

import java.io.IOException;
import java.nio.charset.MalformedInputException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * A strict {@code key = value} config file: one setting a line, {@code #} comments, no
 * duplicates, no unknown keys. Typed getters fail with a {@link ConfigException} naming the file,
 * line and key, so a typo never silently becomes a default.
 *
 * <pre>
 * # agent.conf
 * group = db
 * target = 127.0.0.1:7400
 * volume.data.path = /dev/sdb
 * </pre>
 */
public final class ConfigFile
{
    private static final Pattern KEY = Pattern.compile("[a-z][a-z0-9_.-]*");
    private static final Pattern NUMBER = Pattern.compile("[+-]?[0-9]+");

    private final String source;
    private final Map<String, String> values;
    private final Map<String, Integer> lines;
    private final Set<String> read = new TreeSet<>();

    private ConfigFile(final String source, final Map<String, String> values, final Map<String, Integer> lines)
    {
        this.source = source;
        this.values = values;
        this.lines = lines;
    }

    public static ConfigFile load(final Path path)
    {
        final List<String> text;
        try
        {
            text = Files.readAllLines(path, StandardCharsets.UTF_8);
        }
        catch (final NoSuchFileException ex)
        {
            throw new ConfigException("config file " + path + " does not exist");
        }
        catch (final MalformedInputException ex)
        {
            throw new ConfigException("config file " + path + " is not UTF-8 text");
        }
        catch (final IOException ex)
        {
            throw new ConfigException("cannot read config file " + path + ": " + ex.getMessage());
        }
        return parse(path.toString(), text);
    }

    public static ConfigFile parse(final String source, final List<String> text)
    {
        final Map<String, String> values = new LinkedHashMap<>();
        final Map<String, Integer> lines = new LinkedHashMap<>();
        for (int i = 0; i < text.size(); i++)
        {
            final String line = text.get(i).strip();
            if (line.isEmpty() || line.startsWith("#"))
            {
                continue;
            }
            final int eq = line.indexOf('=');
            if (eq <= 0)
            {
                throw new ConfigException(source + " line " + (i + 1) + ": expected 'key = value', found '" +
                    abbreviate(line) + "'");
            }
            final String key = line.substring(0, eq).strip();
            final String value = line.substring(eq + 1).strip();
            if (!KEY.matcher(key).matches())
            {
                throw new ConfigException(source + " line " + (i + 1) + ": '" + abbreviate(key) +
                    "' is not a valid key (lower-case letters, digits, '.', '_', '-')");
            }
            if (values.containsKey(key))
            {
                throw new ConfigException(source + " line " + (i + 1) + ": '" + key + "' is already set on line " +
                    lines.get(key));
            }
            values.put(key, value);
            lines.put(key, i + 1);
        }
        return new ConfigFile(source, values, lines);
    }

    public String source()
    {
        return source;
    }

    public boolean has(final String key)
    {
        return values.containsKey(key);
    }

    /** Keys starting with {@code prefix}, in file order. */
    public List<String> keysStartingWith(final String prefix)
    {
        final List<String> keys = new ArrayList<>();
        for (final String key : values.keySet())
        {
            if (key.startsWith(prefix))
            {
                keys.add(key);
            }
        }
        return Collections.unmodifiableList(keys);
    }

    public String requireString(final String key)
    {
        final String value = values.get(key);
        if (value == null || value.isEmpty())
        {
            throw new ConfigException(source + ": required setting '" + key + "' is missing");
        }
        read.add(key);
        return value;
    }

    public String string(final String key, final String defaultValue)
    {
        read.add(key);
        final String value = values.get(key);
        return value == null || value.isEmpty() ? defaultValue : value;
    }

    public long longValue(final String key, final long defaultValue, final long min, final long max)
    {
        final String value = string(key, null);
        if (value == null)
        {
            return defaultValue;
        }
        final long parsed;
        try
        {
            parsed = parseSize(value);
        }
        catch (final NumberFormatException ex)
        {
            throw error(key, "'" + abbreviate(value) + "' is not a number");
        }
        catch (final ArithmeticException ex)
        {
            throw error(key, "'" + abbreviate(value) + "' is too large (at most " + Long.MAX_VALUE + " bytes)");
        }
        if (parsed < min || parsed > max)
        {
            throw error(key, parsed + " is outside [" + min + ", " + max + "]");
        }
        return parsed;
    }

    public int intValue(final String key, final int defaultValue, final int min, final int max)
    {
        return (int)longValue(key, defaultValue, min, max);
    }

    public boolean booleanValue(final String key, final boolean defaultValue)
    {
        final String value = string(key, null);
        if (value == null)
        {
            return defaultValue;
        }
        return switch (value)
        {
            case "true", "yes", "on" -> true;
            case "false", "no", "off" -> false;
            default -> throw error(key, "'" + abbreviate(value) + "' is not true or false");
        };
    }

    public Path path(final String key, final Path defaultValue)
    {
        final String value = string(key, null);
        return value == null ? defaultValue : toPath(key, value);
    }

    public Path requirePath(final String key)
    {
        return toPath(key, requireString(key));
    }

    private Path toPath(final String key, final String value)
    {
        try
        {
            return Path.of(value);
        }
        catch (final InvalidPathException ex)
        {
            throw error(key, "'" + abbreviate(value) + "' is not a valid path (" + ex.getReason() + ")");
        }
    }

    /** Fails on any key no getter asked for: call after reading every setting. */
    public void rejectUnknownKeys()
    {
        for (final Map.Entry<String, Integer> entry : lines.entrySet())
        {
            if (!read.contains(entry.getKey()))
            {
                throw new ConfigException(source + " line " + entry.getValue() + ": unknown setting '" +
                    entry.getKey() + "'");
            }
        }
    }

    public ConfigException error(final String key, final String problem)
    {
        final Integer line = lines.get(key);
        return new ConfigException(source + (line != null ? " line " + line : "") + ": '" + key + "': " + problem);
    }

    /**
     * Accepts plain numbers (ASCII digits, optional sign) and the suffixes k, m, g, t (powers of 1024),
     * e.g. {@code 256m}.
     *
     * @throws NumberFormatException if the text is not such a number.
     * @throws ArithmeticException   if its value does not fit a long.
     */
    static long parseSize(final String text)
    {
        final String value = text.trim().toLowerCase(Locale.ROOT);
        if (value.isEmpty())
        {
            throw new NumberFormatException("empty");
        }
        final char last = value.charAt(value.length() - 1);
        final long multiplier = switch (last)
        {
            case 'k' -> 1L << 10;
            case 'm' -> 1L << 20;
            case 'g' -> 1L << 30;
            case 't' -> 1L << 40;
            default -> 1L;
        };
        final String digits = (multiplier == 1 ? value : value.substring(0, value.length() - 1)).trim();
        // Long.parseLong alone would also take other scripts' digits ("\u0663" is 3).
        if (!NUMBER.matcher(digits).matches())
        {
            throw new NumberFormatException("not a number: " + digits);
        }
        final long number;
        try
        {
            number = Long.parseLong(digits);
        }
        catch (final NumberFormatException ex)
        {
            throw new ArithmeticException("more than 19 digits of value: " + digits);
        }
        return Math.multiplyExact(number, multiplier);
    }

    private static String abbreviate(final String text)
    {
        return text.length() <= 40 ? text : text.substring(0, 37) + "...";
    }
}
