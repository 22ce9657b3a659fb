#!/usr/bin/env bash
# Failback against rsync: real processes on 127.0.0.1.
#
#   A --size-gib volume of random data is replicated (initial sync); the target goes away and the
#   primary writes --unshipped-blocks blocks it cannot ship; the agent is killed -9; the target fails
#   over to its latest image; --change-percent of the recovery volume's blocks are overwritten. Then,
#   on identical copies of the primary's volume:
#     replicator failback --execute      (the whole command: JVM start, plan, ship, verify, role switch)
#     rsync --inplace --no-whole-file    recovery volume -> the primary's copy on an rsync daemon
#     rsync --inplace --no-whole-file -B 4096
#   Prints wall time, bytes on the wire (replicator's own count; rsync's --stats "Total bytes sent"
#   plus "received") and the ratio; checks all sides identical by sha256 afterwards.
#
#   --recovery file    (default) failover copies the image to a plain file; the change is written to
#                      that file directly (not captured: failback scans the recovery volume).
#   --recovery export  instant recovery: `failover --latest --export nbd:PORT`; the change is written
#                      through the NBD export (nbdcopy of a sparse file holding random data at exactly
#                      the changed blocks), so the overlay records exactly the written set. The export
#                      is copied out with nbdcopy before failback: the rsync source and the reference.
#
# Usage: scripts/bench-failback.sh [--size-gib N] [--change-percent P] [--unshipped-blocks N]
#                                  [--recovery file|export] [--keep]
# Last line: failback_s=... rsync_s=... rsync_b4096_s=... speedup=... wire_bytes=... changed_bytes=...
#            ... recovery=file|export
set -euo pipefail
# A lab benchmark on 127.0.0.1: plaintext (see docs/SECURITY.md; scripts/bench-tls.sh prices TLS).
export REPLICATOR_INSECURE="${REPLICATOR_INSECURE:-1}"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LAB_NAME=bench-failback
LAB_SAY_FD=2
# shellcheck source=lib/common.sh
source "$ROOT/scripts/lib/common.sh"
R="$ROOT/scripts/replicator"
GEN="$ROOT/scripts/bench/gen.py"
SIZE_GIB=4
CHANGE_PERCENT=1
UNSHIPPED=512
RECOVERY=file
KEEP=0
while [ $# -gt 0 ]; do
  case "$1" in
    --size-gib) SIZE_GIB="${2:?}"; shift 2 ;;
    --change-percent) CHANGE_PERCENT="${2:?}"; shift 2 ;;
    --unshipped-blocks) UNSHIPPED="${2:?}"; shift 2 ;;
    --recovery) RECOVERY="${2:?}"; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
    *) echo "bench-failback: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
done
for n in "$SIZE_GIB" "$CHANGE_PERCENT" "$UNSHIPPED"; do
  [[ "$n" =~ ^[0-9]+$ ]] && [ "$n" -gt 0 ] || { echo "bench-failback: '$n' is not a positive whole number" >&2; exit 2; }
done
case "$RECOVERY" in
  file) ;;
  export) for t in nbdcopy nbdinfo; do
            command -v "$t" >/dev/null || { echo "bench-failback: $t is not installed (scripts/install-test-tools.sh)" >&2; exit 1; }
          done ;;
  *) echo "bench-failback: --recovery must be 'file' or 'export', not '$RECOVERY'" >&2; exit 2 ;;
esac
command -v rsync >/dev/null || { echo "bench-failback: rsync is not installed (scripts/install-test-tools.sh)" >&2; exit 1; }

BLOCK=4096
BLOCKS=$((SIZE_GIB * 262144))
WORK="$(mktemp -d "${BENCH_DIR:-/var/tmp}/replicator-bench-failback.XXXXXX")"
TARGET_PID=""
AGENT_PID=""
RSYNCD_PID=""
cleanup() {
  local code=$?
  for pid in "$AGENT_PID" "$TARGET_PID" "$RSYNCD_PID"; do [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ $code -ne 0 ]; then
    echo "bench-failback: FAILED (exit $code); files in $WORK" >&2
    tail -n 20 "$WORK"/*.log >&2 2>/dev/null || true
  elif [ "$KEEP" = 0 ]; then
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT


# overwrite FILE COUNT SEED: COUNT distinct random blocks get random content (seeded).
overwrite() {
  python3 - "$1" "$2" "$3" "$BLOCKS" <<'PY'
import random, sys
path, count, seed, blocks = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rng = random.Random(seed)
with open(path, "r+b") as f:
    for b in sorted(rng.sample(range(blocks), count)):
        f.seek(b * 4096)
        f.write(rng.randbytes(4096))
PY
}

cd "$WORK"
"$R" --version >/dev/null
PORT=$(free_port)
export REPLICATOR_TARGET="127.0.0.1:$PORT"
cat > target.conf <<CONF
listen = 127.0.0.1:$PORT
data.dir = target-data
retain.checkpoints = 16
recovery.scan.interval.ms = 3600000
CONF
cat > agent.conf <<CONF
group = fb
agent.name = primary-host
target = 127.0.0.1:$PORT
state.dir = agent-state
volume.disk0.path = primary.img
volume.disk0.block.size = $BLOCK
capture = scan
# No periodic scans: a scan of a big volume holds the capture lock for its whole length (see
# docs/PERFORMANCE.md). The startup scan does the initial sync and, after the kill, finds the
# unshipped writes.
scan.interval.ms = 3600000
CONF
start_target() { "$R" target run --config target.conf >> target.log 2>&1 & TARGET_PID=$!; wait_for 60 "$R" status; }
start_agent() { "$R" agent run --config agent.conf >> agent.log 2>&1 & AGENT_PID=$!; }

echo "machine: $(nproc) cores, $(awk '/MemTotal/ { print int($2/1024) " MiB" }' /proc/meminfo); load: $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%FT%TZ)"
say "a ${SIZE_GIB} GiB primary volume of random data, replicated"
python3 "$GEN" random primary.img $((SIZE_GIB * 1024)) 11
start_target
start_agent
wait_for 900 "$R" checkpoint --group fb --label initial-sync

say "the target goes away; the primary writes $UNSHIPPED blocks it cannot ship; the agent is killed -9"
kill "$TARGET_PID"; wait "$TARGET_PID" 2>/dev/null || true; TARGET_PID=""
overwrite primary.img "$UNSHIPPED" 21
# The returning agent's startup scan journals them: its unshipped tail at failback.
kill -9 "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null || true; AGENT_PID=""

say "failover to the latest image; ${CHANGE_PERCENT}% of the recovery volume's blocks are overwritten"
start_target
if [ "$RECOVERY" = file ]; then
  "$R" failover --group fb --latest --to "$WORK/recovery.img" >/dev/null
  overwrite recovery.img $((BLOCKS * CHANGE_PERCENT / 100)) 31
else
  NBD_PORT=$(free_port)
  RECOVERY_URI="nbd://127.0.0.1:$NBD_PORT/disk0"
  "$R" failover --group fb --latest --export "nbd:$NBD_PORT" >/dev/null
  wait_for 60 nbdinfo --size "$RECOVERY_URI"
  # The same blocks and bytes as file mode, in a sparse file: nbdcopy copies only its data extents
  # (4 KiB-aligned on ext4) to the export, so exactly the changed blocks are written over NBD.
  truncate -s $((BLOCKS * BLOCK)) changes.img
  overwrite changes.img $((BLOCKS * CHANGE_PERCENT / 100)) 31
  start=$(now)
  nbdcopy --destination-is-zero changes.img "$RECOVERY_URI"
  echo "change written through the export in $(echo "$(now) - $start" | bc) s"
  start=$(now)
  nbdcopy "$RECOVERY_URI" recovery.img
  echo "export copied out in $(echo "$(now) - $start" | bc) s"
fi
CHANGED_BLOCKS=$(python3 - <<'PY'
n = 0
with open("primary.img", "rb") as a, open("recovery.img", "rb") as b:
    while True:
        x, y = a.read(1 << 20), b.read(1 << 20)
        if not x:
            break
        for i in range(0, len(x), 4096):
            if x[i:i + 4096] != y[i:i + 4096]:
                n += 1
print(n)
PY
)
CHANGED_BYTES=$((CHANGED_BLOCKS * BLOCK))
echo "blocks differing between the primary and the recovery volume: $CHANGED_BLOCKS ($CHANGED_BYTES bytes)"

say "identical copies of the primary's volume on an rsync daemon on 127.0.0.1"
start_rsyncd
cp primary.img rsyncd/default.img
cp primary.img rsyncd/b4096.img

say "replicator failback --execute"
start_agent
demoted() { "$R" status --json | grep -q '"failbackReportReceived" : true'; }
wait_for 120 demoted
# Every file was just written or read: page cache warm for all three tools.
start=$(now)
"$R" failback --group fb --execute --json > failback.json
FAILBACK_S=$(echo "$(now) - $start" | bc)
WIRE_BYTES=$(json_field wireBytes < failback.json)
SHIPPED=$(json_field blocksShipped < failback.json)
echo "failback: $FAILBACK_S s, $SHIPPED blocks, $WIRE_BYTES bytes on the wire"
if [ "$RECOVERY" = export ]; then
  WRITTEN=$(json_field writtenOnRecovery < failback.json)
  [ "$WRITTEN" = $((BLOCKS * CHANGE_PERCENT / 100)) ] ||
    fail "failback counted $WRITTEN blocks written on the export, nbdcopy wrote $((BLOCKS * CHANGE_PERCENT / 100))"
fi

say "rsync --inplace --no-whole-file (default block size), then with -B 4096"
start=$(now)
rsync --inplace --no-whole-file --stats recovery.img "rsync://127.0.0.1:$RPORT/bench/default.img" > rsync-default.stats
RSYNC_S=$(echo "$(now) - $start" | bc)
start=$(now)
rsync --inplace --no-whole-file -B 4096 --stats recovery.img "rsync://127.0.0.1:$RPORT/bench/b4096.img" > rsync-b4096.stats
RSYNC_B_S=$(echo "$(now) - $start" | bc)
rsync_wire() { awk -F': ' '/^Total bytes (sent|received)/ { gsub(/[^0-9]/, "", $2); s += $2 } END { print s }' "$1"; }
RSYNC_WIRE=$(rsync_wire rsync-default.stats)
RSYNC_B_WIRE=$(rsync_wire rsync-b4096.stats)
echo "rsync:         $RSYNC_S s, $RSYNC_WIRE bytes on the wire"
echo "rsync -B 4096: $RSYNC_B_S s, $RSYNC_B_WIRE bytes on the wire"

say "verifying: primary, recovery volume and both rsync copies identical"
kill "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null || true; AGENT_PID=""
# In export mode recovery.img is the export as it was before failback (nbdcopy above).
RECOVERY_SHA=$(sha recovery.img)
[ "$(sha primary.img)" = "$RECOVERY_SHA" ] || fail "primary and recovery volume differ after failback"
[ "$(sha rsyncd/default.img)" = "$RECOVERY_SHA" ] || fail "rsync's copy differs from the recovery volume"
[ "$(sha rsyncd/b4096.img)" = "$RECOVERY_SHA" ] || fail "rsync -B 4096's copy differs from the recovery volume"
echo "all identical: $RECOVERY_SHA"

SPEEDUP=$(echo "scale=2; $RSYNC_S / $FAILBACK_S" | bc)
SPEEDUP_B=$(echo "scale=2; $RSYNC_B_S / $FAILBACK_S" | bc)
WIRE_OVER=$(echo "scale=4; $WIRE_BYTES / $CHANGED_BYTES" | bc)
printf 'failback %.2f s vs rsync %.2f s (%sx), rsync -B 4096 %.2f s (%sx); wire bytes %s = %s x changed (rsync %s, -B 4096 %s)\n' \
  "$FAILBACK_S" "$RSYNC_S" "$SPEEDUP" "$RSYNC_B_S" "$SPEEDUP_B" "$WIRE_BYTES" "$WIRE_OVER" "$RSYNC_WIRE" "$RSYNC_B_WIRE"
echo "failback_s=$(printf %.2f "$FAILBACK_S") rsync_s=$(printf %.2f "$RSYNC_S") rsync_b4096_s=$(printf %.2f "$RSYNC_B_S") speedup=$SPEEDUP speedup_b4096=$SPEEDUP_B wire_bytes=$WIRE_BYTES changed_bytes=$CHANGED_BYTES wire_over_changed=$WIRE_OVER rsync_wire_bytes=$RSYNC_WIRE rsync_b4096_wire_bytes=$RSYNC_B_WIRE size_gib=$SIZE_GIB recovery=$RECOVERY"
