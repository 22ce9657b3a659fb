#!/usr/bin/env bash
# Agent RSS against volume size, alone (scripts/bench.sh measures the same as its last part):
# an agent (scan capture, the hidden `replicator bench-workload --initial-sync`) protecting a 4 GiB
# volume and then one protecting a 64 GiB sparse volume, both holding the same --data-mib MiB of mixed
# data at their start (copied with dd conv=sparse, so zero blocks stay holes); each agent's RSS once
# its initial sync is acked, and the target's RSS after each. Real processes on 127.0.0.1.
#
# Usage: scripts/bench-rss.sh [--data-mib N] [--sizes-gib "4 64"] [--keep]
# Last line: agent_rss_4g_mib=... target_rss_after_4g_mib=... agent_rss_64g_mib=... ...
set -euo pipefail
# A lab benchmark on 127.0.0.1: plaintext (see docs/SECURITY.md).
export REPLICATOR_INSECURE="${REPLICATOR_INSECURE:-1}"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LAB_NAME=bench-rss
LAB_SAY_FD=2
# shellcheck source=lib/common.sh
source "$ROOT/scripts/lib/common.sh"
R="$ROOT/scripts/replicator"
GEN="$ROOT/scripts/bench/gen.py"
DATA_MIB=64
SIZES="4 64"
KEEP=0
while [ $# -gt 0 ]; do
  case "$1" in
    --data-mib) DATA_MIB="${2:?}"; shift 2 ;;
    --sizes-gib) SIZES="${2:?}"; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "bench-rss: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
done
for n in "$DATA_MIB" $SIZES; do
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "bench-rss: '$n' is not a positive number" >&2; exit 2; }
done

WORK="$(mktemp -d "${BENCH_DIR:-/var/tmp}/replicator-bench-rss.XXXXXX")"
TARGET_PID=""
cleanup() {
  local code=$?
  [ -n "$TARGET_PID" ] && kill "$TARGET_PID" 2>/dev/null || true
  wait 2>/dev/null || true
  if [ $code -ne 0 ]; then
    echo "bench-rss: FAILED (exit $code); files in $WORK" >&2
    tail -n 20 "$WORK"/*.log >&2 2>/dev/null || true
  elif [ "$KEEP" = 0 ]; then
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT


cd "$WORK"
"$R" --version >/dev/null
start_bench_target

echo "machine: $(nproc) cores, $(awk '/MemTotal/ { print int($2/1024) " MiB" }' /proc/meminfo), $(uname -r); load: $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%FT%TZ)"
python3 "$GEN" mixed rss-data.tmp "$DATA_MIB" 3
KV=""
for size in $SIZES; do
  say "agent protecting a ${size} GiB sparse volume holding the same ${DATA_MIB} MiB of data"
  truncate -s "${size}G" "rss$size.img"
  dd if=rss-data.tmp of="rss$size.img" bs=1M conv=notrunc,sparse status=none
  cat > "rss$size.conf" <<CONF
group = rss$size
agent.name = bench-host
target = 127.0.0.1:$PORT
state.dir = rss$size-state
volume.disk0.path = rss$size.img
volume.disk0.block.size = 4096
capture = scan
scan.interval.ms = 3600000
CONF
  out=$("$R" bench-workload --initial-sync --config "rss$size.conf" 2>> "rss$size.log" | tail -1)
  echo "${size} GiB volume: $out target_rss_mib=$(rss_mib "$TARGET_PID") fingerprint_table_allocated_kib=$(du -k "rss$size-state/fingerprints/disk0.fp" | cut -f1)"
  KV="$KV agent_rss_${size}g_mib=$(field agent_rss_mib "$out") target_rss_after_${size}g_mib=$(rss_mib "$TARGET_PID") initial_sync_${size}g_s=$(field initial_sync_in_process_s "$out")"
done
echo "${KV# } data_mib=$DATA_MIB"
