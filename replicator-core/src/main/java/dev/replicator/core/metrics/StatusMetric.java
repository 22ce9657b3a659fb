package dev.replicator.core.metrics;

import java.util.function.ToDoubleFunction;

/**
 * One metric read from a row of a status model: adding a figure to the metrics is one line. A
 * value of {@code NaN} means "not known" and the data point is left out.
 *
 * @param name    Prometheus name; a counter's without the {@code _total} the exposition adds.
 * @param counter true for a monotonic counter, false for a gauge.
 */
public record StatusMetric<T>(String name, String help, boolean counter, ToDoubleFunction<T> value)
{
    public static <T> StatusMetric<T> gauge(final String name, final String help, final ToDoubleFunction<T> value)
    {
        return new StatusMetric<>(name, help, false, value);
    }

    public static <T> StatusMetric<T> counter(final String name, final String help, final ToDoubleFunction<T> value)
    {
        return new StatusMetric<>(name, help, true, value);
    }
}
