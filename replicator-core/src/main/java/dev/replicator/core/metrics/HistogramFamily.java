package dev.replicator.core.metrics;

import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricMetadata;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Exports histograms owned by the objects that record into them (one per group, made and dropped
 * with the group) as one metric with a label per owner. The owners need no registry and no label
 * lookup on their hot path: they observe into their own unlabelled {@link Histogram}.
 */
public final class HistogramFamily implements MultiCollector
{
    private final String name;
    private final String help;
    private final Supplier<Map<Labels, Histogram>> histograms;

    public HistogramFamily(final String name, final String help, final Supplier<Map<Labels, Histogram>> histograms)
    {
        this.name = name;
        this.help = help;
        this.histograms = histograms;
    }

    @Override
    public MetricSnapshots collect()
    {
        final List<HistogramSnapshot.HistogramDataPointSnapshot> points = new ArrayList<>();
        for (final Map.Entry<Labels, Histogram> entry : histograms.get().entrySet())
        {
            for (final HistogramSnapshot.HistogramDataPointSnapshot point : entry.getValue().collect().getDataPoints())
            {
                points.add(new HistogramSnapshot.HistogramDataPointSnapshot(point.getClassicBuckets(), point.getSum(),
                    point.getLabels().merge(entry.getKey()), point.getExemplars(), point.getCreatedTimestampMillis()));
            }
        }
        return new MetricSnapshots(new HistogramSnapshot(new MetricMetadata(name, help), points));
    }
}
