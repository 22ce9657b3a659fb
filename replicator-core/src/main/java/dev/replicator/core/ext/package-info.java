/**
 * Fault injection for tests and lab runs, shipped as production code the way Aeron ships its loss
 * generators: {@link dev.replicator.core.ext.FaultProxy} sits on a TCP path (an agent and its
 * target) and drops, delays, resets, stalls, truncates and corrupts the byte stream from a seeded
 * {@link dev.replicator.core.ext.FaultPlan}. Nothing in the data path depends on this package; never
 * put it between a production agent and target.
 */
package dev.replicator.core.ext;
