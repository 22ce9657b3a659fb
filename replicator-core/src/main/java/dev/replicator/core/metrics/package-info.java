/**
 * Prometheus metrics plumbing shared by agent and target: the HTTP endpoint, gauges and counters
 * read from rows of a status model (one line per metric), and histograms labelled per group.
 */
package dev.replicator.core.metrics;
