#!/usr/bin/env bash
# TLS benchmark, one run (dev.replicator.core.security.TlsBenchmark in benchmarks/):
#   1. full mutual TLS 1.3 handshakes, JDK provider vs Bouncy Castle JSSE;
#   2. bulk throughput of one loopback connection in 1 MiB writes: plaintext, JDK, BC;
#   3. the pipeline (API writes -> journal -> shipper -> target, fsynced): plaintext, JDK, BC.
# Rounds alternate the cases; the first round is a warm-up; medians of the others. Last line: key=value pairs.
#
#   scripts/bench-tls.sh                              defaults: 200 handshakes, 512 MiB bulk, 256 MiB pipeline, 5 rounds
#   BENCH_OPTS="-Dbench.pipeline.mib=256 -Dbench.rounds=4" scripts/bench-tls.sh
#   BENCH_OPTS=-Dbench.dir=/dev/shm scripts/bench-tls.sh   journal, replica and volume on tmpfs: no fsync cost,
#                                                     so TLS's share of a CPU-bound pipeline shows
#   BENCH_REBUILD=1 scripts/bench-tls.sh              rebuild benchmarks/target/benchmarks.jar first
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
jar="$root/benchmarks/target/benchmarks.jar"
if [[ ! -f "$jar" || "${BENCH_REBUILD:-0}" == 1 ]]; then
  (cd "$root" && mvn -B -q -pl benchmarks -am package -DskipTests) >&2
fi
tmp="$(mktemp -d)"
(cd "$tmp" && jar xf "$jar" META-INF/replicator/jvm.flags)
read -r -a flags < "$tmp/META-INF/replicator/jvm.flags"
rm -rf "$tmp"
echo "bench-tls: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); java $(java -version 2>&1 | head -1)" >&2
# shellcheck disable=SC2086
exec java "${flags[@]}" -Xmx2g ${BENCH_OPTS:-} -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
  -cp "$jar" dev.replicator.core.security.TlsBenchmark
