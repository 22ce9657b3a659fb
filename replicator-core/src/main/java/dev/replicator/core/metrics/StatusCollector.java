package dev.replicator.core.metrics;

import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricMetadata;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Exports rows of a status model (one per group, say) as gauges and counters: each scrape takes one
 * snapshot of the rows, so every metric of a scrape agrees with the others and with what
 * {@code replicator status} shows. Thread-safe if the row supplier is.
 */
public final class StatusCollector<T> implements MultiCollector
{
    private final Supplier<List<T>> rows;
    private final Function<T, Labels> labels;
    private final List<StatusMetric<T>> metrics;

    public StatusCollector(
        final Supplier<List<T>> rows, final Function<T, Labels> labels, final List<StatusMetric<T>> metrics)
    {
        this.rows = rows;
        this.labels = labels;
        this.metrics = List.copyOf(metrics);
    }

    @Override
    public MetricSnapshots collect()
    {
        final List<T> snapshot = rows.get();
        final List<Labels> rowLabels = new ArrayList<>(snapshot.size());
        for (final T row : snapshot)
        {
            rowLabels.add(labels.apply(row));
        }
        final List<MetricSnapshot> out = new ArrayList<>(metrics.size());
        for (final StatusMetric<T> metric : metrics)
        {
            final MetricMetadata metadata = new MetricMetadata(metric.name(), metric.help());
            if (metric.counter())
            {
                final List<CounterSnapshot.CounterDataPointSnapshot> points = new ArrayList<>();
                for (int i = 0; i < snapshot.size(); i++)
                {
                    final double value = metric.value().applyAsDouble(snapshot.get(i));
                    if (!Double.isNaN(value))
                    {
                        points.add(new CounterSnapshot.CounterDataPointSnapshot(value, rowLabels.get(i), null, 0L));
                    }
                }
                out.add(new CounterSnapshot(metadata, points));
            }
            else
            {
                final List<GaugeSnapshot.GaugeDataPointSnapshot> points = new ArrayList<>();
                for (int i = 0; i < snapshot.size(); i++)
                {
                    final double value = metric.value().applyAsDouble(snapshot.get(i));
                    if (!Double.isNaN(value))
                    {
                        points.add(new GaugeSnapshot.GaugeDataPointSnapshot(value, rowLabels.get(i), null));
                    }
                }
                out.add(new GaugeSnapshot(metadata, points));
            }
        }
        return new MetricSnapshots(out);
    }
}
