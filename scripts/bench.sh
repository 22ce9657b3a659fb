#!/usr/bin/env bash
# Whole-pipeline benchmark: real processes on 127.0.0.1 (scripts/replicator target run, and an agent
# with API capture driven by the hidden `replicator bench-workload` command).
#
#   1. throughput, as fast as it goes: 4 KiB random writes and 64 KiB sequential writes of mixed
#      compressibility (a quarter random, half text, a quarter zero blocks), --mib MiB each;
#      journal append latency p50/p99/p99.9 (the same JVM, a scratch journal, before the workload);
#      and in the same run the in-process LZ4 + xxHash64 ceiling on the same data, and the ratio;
#   2. replication lag p50/p99 at a fixed write rate (--rate MB/s, default 200) of 4 KiB random writes;
#   3. initial sync of a --sync-mib volume (random, text, half zeros) against rsync copying the same
#      file to an rsync daemon on 127.0.0.1 (whole command wall times, JVM start included); sizes as
#      a comma list (default 1024: a DR initial sync is of a real volume; the ~1 s JVM start that
#      rsync does not pay weighs on small sizes);
#   4. agent RSS protecting a 4 GiB volume and a 64 GiB sparse volume, and the target's RSS after each
#      (skip with --no-rss).
#
# Usage: scripts/bench.sh [--mib N] [--rate MB_S] [--sync-mib N[,N...]] [--no-pipeline] [--no-sync] [--no-rss] [--keep]
# BENCH_WINDOW_FRAMES=N sets the agents' ship.window.frames (default 8).
# The last line is key=value pairs (pipeline_mb_s, ceiling_mb_s, ratio, append_p99_us, lag_p99_ms, ...).
set -euo pipefail
# A lab benchmark on 127.0.0.1: plaintext (see docs/SECURITY.md; scripts/bench-tls.sh prices TLS).
export REPLICATOR_INSECURE="${REPLICATOR_INSECURE:-1}"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LAB_NAME=bench
LAB_SAY_FD=2
# shellcheck source=lib/common.sh
source "$ROOT/scripts/lib/common.sh"
R="$ROOT/scripts/replicator"
GEN="$ROOT/scripts/bench/gen.py"
MIB=512
RATE=200
SYNC_MIB=1024
PIPELINE=1
SYNC=1
RSS=1
KEEP=0
while [ $# -gt 0 ]; do
  case "$1" in
    --mib) MIB="${2:?}"; shift 2 ;;
    --rate) RATE="${2:?}"; shift 2 ;;
    --sync-mib) SYNC_MIB="${2:?}"; shift 2 ;;
    --no-rss) RSS=0; shift ;;
    --no-pipeline) PIPELINE=0; shift ;;
    --no-sync) SYNC=0; shift ;;
    --keep) KEEP=1; shift ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "bench: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
done
for n in "$MIB" "$RATE" ${SYNC_MIB//,/ }; do
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "bench: '$n' is not a positive number" >&2; exit 2; }
done
command -v rsync >/dev/null || { echo "bench: rsync is not installed (scripts/install-test-tools.sh)" >&2; exit 1; }

WORK="$(mktemp -d "${BENCH_DIR:-/var/tmp}/replicator-bench.XXXXXX")"
TARGET_PID=""
RSYNCD_PID=""
cleanup() {
  local code=$?
  [ -n "$TARGET_PID" ] && kill "$TARGET_PID" 2>/dev/null || true
  [ -n "$RSYNCD_PID" ] && kill "$RSYNCD_PID" 2>/dev/null || true
  wait 2>/dev/null || true
  if [ $code -ne 0 ]; then
    echo "bench: FAILED (exit $code); files in $WORK" >&2
    tail -n 20 "$WORK"/*.log >&2 2>/dev/null || true
  elif [ "$KEEP" = 0 ]; then
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT


cd "$WORK"
"$R" --version >/dev/null
start_bench_target

# agent_conf GROUP VOLUME CAPTURE
agent_conf() {
  cat > "$1.conf" <<CONF
group = $1
agent.name = bench-host
target = 127.0.0.1:$PORT
state.dir = $1-state
volume.disk0.path = $2
volume.disk0.block.size = 4096
capture = $3
scan.interval.ms = 3600000
ship.window.frames = ${BENCH_WINDOW_FRAMES:-8}
CONF
}

# workload GROUP ARGS...: one agent process, fresh group and volume; prints its key=value line.
workload() {
  local group=$1; shift
  truncate -s 1G "$group.img"
  agent_conf "$group" "$group.img" api
  "$R" bench-workload --config "$group.conf" "$@" 2>> "$group.log" | tail -1
}

echo "machine: $(nproc) cores, $(awk '/MemTotal/ { print int($2/1024) " MiB" }' /proc/meminfo), $(uname -r); load: $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%FT%TZ)"

RANDOM4K=""; SEQ64K=""; LAG=""
if [ "$PIPELINE" = 1 ]; then
  say "throughput: 4 KiB random writes, mixed data, ${MIB} MiB, as fast as possible"
  RANDOM4K=$(workload rand4k --pattern RANDOM4K --data MIXED --mib "$MIB")
  echo "random4k: $RANDOM4K"
  say "throughput: 64 KiB sequential writes, mixed data, ${MIB} MiB, as fast as possible"
  SEQ64K=$(workload seq64k --pattern SEQ64K --data MIXED --mib "$MIB")
  echo "seq64k:   $SEQ64K"
  say "lag: 4 KiB random writes at $RATE MB/s, ${MIB} MiB"
  LAG=$(workload lag --pattern RANDOM4K --data MIXED --mib "$MIB" --rate-mb-s "$RATE")
  echo "lag:      $LAG"
fi

SYNC_KV=""
if [ "$SYNC" = 1 ]; then
start_rsyncd
for mib in ${SYNC_MIB//,/ }; do
say "initial sync against rsync to an rsync daemon on 127.0.0.1 (${mib} MiB volumes)"
for kind in random text halfzero; do
  python3 "$GEN" "$kind" "sync-$kind.img" "$mib" 7
  agent_conf "sync-$kind-$mib" "sync-$kind.img" scan
  # The files were just written: both tools read them from the page cache (warm).
  start=$(now)
  out=$("$R" bench-workload --initial-sync --config "sync-$kind-$mib.conf" 2>> "sync-$kind-$mib.log" | tail -1)
  repl_s=$(echo "$(now) - $start" | bc)
  start=$(now)
  rsync "sync-$kind.img" "rsync://127.0.0.1:$RPORT/bench/sync-$kind.img"
  rsync_s=$(echo "$(now) - $start" | bc)
  # rsync leaves the copy in the page cache; the target fsyncs before it acknowledges. The same copy
  # made durable (--fsync, rsync >= 3.2.4) is the like-for-like figure.
  rm -f "rsyncd/sync-$kind.img"
  start=$(now)
  rsync --fsync "sync-$kind.img" "rsync://127.0.0.1:$RPORT/bench/sync-$kind.img"
  rsync_fsync_s=$(echo "$(now) - $start" | bc)
  speedup=$(echo "scale=2; $rsync_s / $repl_s" | bc)
  speedup_fsync=$(echo "scale=2; $rsync_fsync_s / $repl_s" | bc)
  printf 'initial sync %4s MiB %-8s replicator %6.2f s  rsync %6.2f s (--fsync %6.2f s)  speedup %sx (%sx)  (%s) load %s\n' "$mib" "$kind" "$repl_s" "$rsync_s" "$rsync_fsync_s" "$speedup" "$speedup_fsync" "$out" "$(cut -d' ' -f1 /proc/loadavg)"
  SYNC_KV="$SYNC_KV sync_${mib}_${kind}_s=$(printf %.2f "$repl_s") rsync_${mib}_${kind}_s=$(printf %.2f "$rsync_s") rsync_fsync_${mib}_${kind}_s=$(printf %.2f "$rsync_fsync_s") sync_${mib}_${kind}_speedup=$speedup sync_${mib}_${kind}_speedup_fsync=$speedup_fsync"
  rm -f "rsyncd/sync-$kind.img" "sync-$kind.img"
  rm -rf "sync-$kind-$mib-state"
done
done
fi

RSS_KV=""
if [ "$RSS" = 1 ]; then
  say "RSS: agent protecting a 4 GiB volume (64 MiB of data) and a 64 GiB sparse volume (the same data)"
  for size in 4 64; do
    truncate -s "${size}G" "rss$size.img"
    python3 "$GEN" mixed rss-data.tmp 64 3
    dd if=rss-data.tmp of="rss$size.img" bs=1M conv=notrunc,sparse status=none
    agent_conf "rss$size" "rss$size.img" scan
    out=$("$R" bench-workload --initial-sync --config "rss$size.conf" 2>> "rss$size.log" | tail -1)
    echo "${size} GiB volume: $out target_rss_mib=$(rss_mib "$TARGET_PID")"
    RSS_KV="$RSS_KV agent_rss_${size}g_mib=$(field agent_rss_mib "$out") target_rss_after_${size}g_mib=$(rss_mib "$TARGET_PID")"
  done
fi

echo "pipeline_mb_s=$(field pipeline_mb_s "$RANDOM4K") ceiling_mb_s=$(field ceiling_mb_s "$RANDOM4K") ratio=$(field ratio "$RANDOM4K") seq64k_mb_s=$(field pipeline_mb_s "$SEQ64K") seq64k_ratio=$(field ratio "$SEQ64K") append_p50_us=$(field append_p50_us "$RANDOM4K") append_p99_us=$(field append_p99_us "$RANDOM4K") append_p999_us=$(field append_p999_us "$RANDOM4K") write_p99_us=$(field write_p99_us "$LAG") rate_mb_s=$RATE lag_p50_ms=$(field lag_p50_ms "$LAG") lag_p99_ms=$(field lag_p99_ms "$LAG")$SYNC_KV$RSS_KV"
