package dev.replicator.cli;

import java.time.DateTimeException;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.time.ZoneId;

/**
 * {@code --at} values: an ISO instant ({@code 2026-11-23T10:42:00Z}), a local date and time
 * ({@code 2026-11-23 10:42} or with a {@code T}), a time of today ({@code 10:42}, {@code 10:42:30}),
 * or epoch milliseconds. Local times are in the CLI's time zone.
 */
final class TimeArgument
{
    private TimeArgument()
    {
    }

    static long parseEpochMs(final String text, final ZoneId zone) throws CliException
    {
        final String value = text.trim();
        try
        {
            if (value.matches("\\d{10,}"))
            {
                return Long.parseLong(value);
            }
            if (value.endsWith("Z") || value.matches(".*[+-]\\d\\d:\\d\\d$"))
            {
                return Instant.parse(value).toEpochMilli();
            }
            if (value.matches("\\d{1,2}:\\d{2}(:\\d{2})?"))
            {
                return LocalDate.now(zone).atTime(LocalTime.parse(value.length() == 4 ? "0" + value : value))
                    .atZone(zone).toInstant().toEpochMilli();
            }
            return LocalDateTime.parse(value.replace(' ', 'T')).atZone(zone).toInstant().toEpochMilli();
        }
        catch (final DateTimeException | NumberFormatException ex)
        {
            throw new CliException(2, "--at '" + text + "' is not a time (use 2026-11-23T10:42:00Z, " +
                "'2026-11-23 10:42', 10:42 or epoch milliseconds)");
        }
    }
}
