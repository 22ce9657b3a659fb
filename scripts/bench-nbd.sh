#!/usr/bin/env bash
# NBD front end benchmark: fio (nbd engine) writes through the agent's NBD export, with every write
# applied to the volume and journaled and a target receiving the shipped journal, then through
# `nbdkit file` serving the same volume file, in the same run and with the same fio jobs:
#
#   seq:  1 MiB sequential writes over the whole volume, iodepth 16, flush at the end
#   rand: 4 KiB random writes for BENCH_RAND_SECONDS, iodepth 32, flush at the end
#
# Each side gets one unmeasured warm-up pass (JIT, page cache) before its measured passes.
#
# Usage: scripts/bench-nbd.sh [--keep]
#   BENCH_SIZE_MIB (default 1024)  volume size          BENCH_RAND_SECONDS (default 10)
#   BENCH_TARGET=0                 no target: the agent journals but ships nowhere
#   BENCH_JFR=FILE                 record the agent with Java Flight Recorder (profile settings) into FILE
# Last line: seq_mb_s=.. nbdkit_seq_mb_s=.. seq_ratio=.. rand_iops=.. nbdkit_rand_iops=.. rand_ratio=..
#            seq_cpu_s_per_gib=.. nbdkit_seq_cpu_s_per_gib=..  (CPU of the serving process per GiB written)
set -euo pipefail
# A lab benchmark on 127.0.0.1: plaintext (see docs/SECURITY.md; scripts/bench-tls.sh prices TLS).
export REPLICATOR_INSECURE="${REPLICATOR_INSECURE:-1}"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
R="$ROOT/scripts/replicator"
SIZE_MIB="${BENCH_SIZE_MIB:-1024}"
RAND_SECONDS="${BENCH_RAND_SECONDS:-10}"
WITH_TARGET="${BENCH_TARGET:-1}"
KEEP=0
[ "${1:-}" = --keep ] && KEEP=1
for tool in fio nbdkit nbdinfo jq; do
  command -v "$tool" >/dev/null || { echo "bench-nbd: $tool is not installed (scripts/install-test-tools.sh)" >&2; exit 2; }
done
fio --enghelp 2>/dev/null | grep -qw nbd || { echo "bench-nbd: this fio has no nbd engine" >&2; exit 2; }

WORK="$(mktemp -d "${TMPDIR:-/tmp}/replicator-bench-nbd.XXXXXX")"
AGENT_PID=""
TARGET_PID=""
NBDKIT_PID=""
cleanup() {
  local code=$?
  for pid in $AGENT_PID $TARGET_PID $NBDKIT_PID; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ $code -ne 0 ]; then
    echo "bench-nbd: FAILED (exit $code); logs in $WORK" >&2
    tail -n 20 "$WORK"/*.log >&2 2>/dev/null || true
  elif [ "$KEEP" = 0 ]; then
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT

free_port() {
  local port
  for _ in $(seq 1 50); do
    port=$((20000 + RANDOM % 20000))
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return; }
  done
  echo "bench-nbd: no free port" >&2; exit 1
}
wait_for() {
  local seconds=$1; shift
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || { echo "bench-nbd: timed out waiting for: $*" >&2; exit 1; }
    sleep 0.2
  done
}

# fio_run NAME URI RW BS IODEPTH [extra fio args]: prints "MB/s IOPS" of the job's writes.
fio_run() {
  local name=$1 uri=$2 rw=$3 bs=$4 depth=$5; shift 5
  fio --name="$name" --ioengine=nbd --uri="$uri" --rw="$rw" --bs="$bs" --iodepth="$depth" \
      --size="${SIZE_MIB}m" --end_fsync="${BENCH_END_FSYNC:-1}" --output-format=json --output="$WORK/$name.json" "$@" > /dev/null
  jq -r '.jobs[0].write | "\(.bw_bytes / 1000000) \(.iops)"' "$WORK/$name.json"
}

# CPU seconds (user + system) a process has used so far.
cpu_seconds() {
  awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) / hz }' "/proc/$1/stat"
}

# bench SIDE URI PID: warm-up, then the seq and rand jobs; sets SEQ_MB_S, SEQ_CPU_S_GIB and RAND_IOPS.
# CPU per GiB of the server process does not depend on how busy the machine is, unlike MB/s.
bench() {
  local side=$1 uri=$2 pid=$3 cpu0 cpu1
  fio_run "$side-warmup" "$uri" write 1m 16 >/dev/null
  cpu0=$(cpu_seconds "$pid")
  read -r SEQ_MB_S _ < <(fio_run "$side-seq" "$uri" write 1m 16)
  cpu1=$(cpu_seconds "$pid")
  SEQ_CPU_S_GIB=$(awk -v a="$cpu0" -v b="$cpu1" -v m="$SIZE_MIB" 'BEGIN { printf "%.2f", (b - a) * 1024 / m }')
  read -r _ RAND_IOPS < <(fio_run "$side-rand" "$uri" randwrite 4k 32 --time_based --runtime="$RAND_SECONDS" \
      --randrepeat=0)
  printf '%-7s seq %8.1f MB/s (%s CPU s/GiB)   rand %9.0f IOPS\n' "$side" "$SEQ_MB_S" "$SEQ_CPU_S_GIB" "$RAND_IOPS"
}

VOLUME="$WORK/disk0.img"
truncate -s "${SIZE_MIB}M" "$VOLUME"
TARGET_PORT=$(free_port)
NBD_PORT=$(free_port)
cat > "$WORK/target.conf" <<CONF
listen = 127.0.0.1:$TARGET_PORT
data.dir = target-data
CONF
cat > "$WORK/agent.conf" <<CONF
group = bench
agent.name = bench-host
target = 127.0.0.1:$TARGET_PORT
state.dir = agent-state
volume.disk0.path = $VOLUME
volume.disk0.front = nbd
volume.disk0.nbd.listen = 127.0.0.1:$NBD_PORT
journal.max.unshipped.bytes = 64g
CONF

echo "bench-nbd: ${SIZE_MIB} MiB volume in $WORK, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
if [ "$WITH_TARGET" = 1 ]; then
  "$R" target run --config "$WORK/target.conf" > "$WORK/target.log" 2>&1 &
  TARGET_PID=$!
  wait_for 60 "$R" status --target "127.0.0.1:$TARGET_PORT"
fi
JFR_OPTS=""
[ -n "${BENCH_JFR:-}" ] && JFR_OPTS="-XX:StartFlightRecording=settings=profile,dumponexit=true,filename=$BENCH_JFR"
REPLICATOR_JAVA_OPTS="${REPLICATOR_JAVA_OPTS:-} $JFR_OPTS" "$R" agent run --config "$WORK/agent.conf" > "$WORK/agent.log" 2>&1 &
AGENT_PID=$!
AGENT_URI="nbd://127.0.0.1:$NBD_PORT/disk0"
wait_for 60 nbdinfo --size "$AGENT_URI"
bench agent "$AGENT_URI" "$AGENT_PID"
AGENT_SEQ=$SEQ_MB_S
AGENT_CPU=$SEQ_CPU_S_GIB
AGENT_RAND=$RAND_IOPS
kill "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null || true; AGENT_PID=""
if [ -n "$TARGET_PID" ]; then kill "$TARGET_PID"; wait "$TARGET_PID" 2>/dev/null || true; TARGET_PID=""; fi

# The same file, now served by nbdkit's file plugin (no journal, nothing shipped).
KIT_PORT=$(free_port)
nbdkit --foreground --port="$KIT_PORT" --ipaddr=127.0.0.1 --exportname=disk0 file "$VOLUME" > "$WORK/nbdkit.log" 2>&1 &
NBDKIT_PID=$!
KIT_URI="nbd://127.0.0.1:$KIT_PORT/disk0"
wait_for 30 nbdinfo --size "$KIT_URI"
bench nbdkit "$KIT_URI" "$NBDKIT_PID"

echo "bench-nbd: load after the run $(cut -d' ' -f1-3 /proc/loadavg)"
awk -v as="$AGENT_SEQ" -v ks="$SEQ_MB_S" -v ar="$AGENT_RAND" -v kr="$RAND_IOPS" -v ac="$AGENT_CPU" \
    -v kc="$SEQ_CPU_S_GIB" 'BEGIN {
  printf "seq_mb_s=%.1f nbdkit_seq_mb_s=%.1f seq_ratio=%.2f rand_iops=%.0f nbdkit_rand_iops=%.0f rand_ratio=%.2f " \
    "seq_cpu_s_per_gib=%.2f nbdkit_seq_cpu_s_per_gib=%.2f\n", as, ks, as / ks, ar, kr, ar / kr, ac, kc }'
