#!/usr/bin/env bash
# Time to a readable recovery export (instant recovery): for a 4 GiB and a 64 GiB sparse volume,
# replicated by a real target and agent on 127.0.0.1 (the agent serves the volume over NBD, and
# qemu-io writes 16 MiB spread over it), the time from the start of
#   replicator failover --group G --image ID --export nbd:PORT
# to the first successful `qemu-io -r -c 'read 0 4k'` of the export. Nothing is copied at failover,
# so the time should not grow with the volume size. Also times `images export --nbd` (read-only)
# three times per size.
#
# Usage: scripts/bench-rto.sh [--sizes "4 64"] [--keep]      (sizes in GiB)
# Last line: key=value pairs (rto_ms_4g=..., rto_ms_64g=..., ...).
set -euo pipefail
# A lab benchmark on 127.0.0.1: plaintext (see docs/SECURITY.md; scripts/bench-tls.sh prices TLS).
export REPLICATOR_INSECURE="${REPLICATOR_INSECURE:-1}"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
R="$ROOT/scripts/replicator"
SIZES="4 64"
KEEP=0
while [ $# -gt 0 ]; do
  case "$1" in
    --sizes) SIZES="${2:?--sizes needs a list}"; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "bench-rto: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
done
for tool in qemu-io nbdinfo; do
  command -v "$tool" >/dev/null || { echo "bench-rto: $tool is not installed (scripts/install-test-tools.sh)" >&2; exit 1; }
done

WORK="$(mktemp -d "${TMPDIR:-/tmp}/replicator-rto.XXXXXX")"
TARGET_PID=""
AGENT_PID=""
cleanup() {
  local code=$?
  [ -n "$AGENT_PID" ] && kill "$AGENT_PID" 2>/dev/null || true
  [ -n "$TARGET_PID" ] && kill "$TARGET_PID" 2>/dev/null || true
  wait 2>/dev/null || true
  if [ $code -ne 0 ]; then
    echo "bench-rto: FAILED (exit $code); logs in $WORK" >&2
    tail -n 20 "$WORK"/*/*.log >&2 2>/dev/null || true
  elif [ "$KEEP" = 0 ]; then
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
fail() { echo "bench-rto: $*" >&2; exit 1; }
free_port() {
  local port
  for _ in $(seq 1 50); do
    port=$((20000 + RANDOM % 20000))
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return; }
  done
  fail "no free port found"
}
wait_for() {
  local seconds=$1; shift
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || fail "timed out after ${seconds}s waiting for: $*"
    sleep 0.2
  done
}
now_ns() { date +%s%N; }
# readable_after START_NS URI: waits for the first successful qemu-io read; prints ms since START_NS.
readable_after() {
  local start=$1 uri=$2
  until qemu-io -r -f raw -c "read -q 0 4k" "$uri" >/dev/null 2>&1; do
    [ $(( ($(now_ns) - start) / 1000000000 )) -lt 120 ] || fail "$uri never became readable"
  done
  echo $(( ($(now_ns) - start) / 1000000 ))
}

"$R" --version >/dev/null
# The launcher's own start (a JVM) is part of every figure: measured alone for reference.
START=$(now_ns); "$R" --version >/dev/null; CLI_MS=$(( ($(now_ns) - START) / 1000000 ))
echo "cli start (replicator --version): ${CLI_MS} ms"

RESULT="cli_ms=$CLI_MS"
for GIB in $SIZES; do
  D="$WORK/${GIB}g"; mkdir -p "$D"; cd "$D"
  PORT=$(free_port); NBD_PORT=$(free_port); IMAGE_PORT=$(free_port); AGENT_NBD_PORT=$(free_port)
  export REPLICATOR_TARGET="127.0.0.1:$PORT"
  truncate -s "${GIB}G" primary.img
  cat > target.conf <<CONF
listen = 127.0.0.1:$PORT
data.dir = target-data
CONF
  cat > agent.conf <<CONF
group = rto
target = 127.0.0.1:$PORT
state.dir = agent-state
volume.disk0.path = primary.img
volume.disk0.front = nbd
volume.disk0.nbd.listen = 127.0.0.1:$AGENT_NBD_PORT
capture = api
CONF
  "$R" target run --config target.conf >> target.log 2>&1 & TARGET_PID=$!
  wait_for 60 "$R" status
  START=$(now_ns)
  "$R" agent run --config agent.conf >> agent.log 2>&1 & AGENT_PID=$!
  # The agent sets up its per-block state for the whole volume first: minutes for 64 GiB on a busy machine.
  wait_for 900 nbdinfo --size "nbd://127.0.0.1:$AGENT_NBD_PORT/disk0"
  # 16 MiB of data spread over the volume: the image is mostly holes, as a fresh big volume is.
  WRITES=()
  for i in $(seq 0 15); do WRITES+=(-c "write -q -P $((i + 1)) $((i * GIB * 1024 / 16))M 1M"); done
  qemu-io -f raw "${WRITES[@]}" "nbd://127.0.0.1:$AGENT_NBD_PORT/disk0" || fail "qemu-io could not write the primary"
  wait_for 600 "$R" checkpoint --group rto --label synced
  SYNC_MS=$(( ($(now_ns) - START) / 1000000 ))
  IMAGE=$("$R" checkpoint --group rto --label rto)
  echo "${GIB} GiB: agent start, 16 MiB written, checkpoint: ${SYNC_MS} ms; image $IMAGE"

  EXPORT_MS=""
  for run in 1 2 3; do
    START=$(now_ns)
    "$R" images export --image "$IMAGE" --nbd="$IMAGE_PORT" >/dev/null
    MS=$(readable_after "$START" "nbd://127.0.0.1:$IMAGE_PORT/disk0")
    "$R" images unexport --image "$IMAGE" >/dev/null
    EXPORT_MS="$EXPORT_MS${EXPORT_MS:+,}$MS"
  done
  echo "${GIB} GiB: images export --nbd to first read: $EXPORT_MS ms (3 runs)"

  kill "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null || true; AGENT_PID=""
  START=$(now_ns)
  "$R" failover --group rto --image "$IMAGE" --export "nbd:$NBD_PORT" > failover.out
  CLI_DONE=$(now_ns)
  RTO_MS=$(readable_after "$START" "nbd://127.0.0.1:$NBD_PORT/disk0")
  READ_MS=$(( ($(now_ns) - CLI_DONE) / 1000000 ))
  SERVER_MS=$(sed -n 's/.*(\([0-9]*\) ms)$/\1/p' failover.out)
  echo "${GIB} GiB: failover --export to first read: ${RTO_MS} ms (the target's own part: ${SERVER_MS} ms; from the command's exit to the first read: ${READ_MS} ms)"
  kill "$TARGET_PID"; wait "$TARGET_PID" 2>/dev/null || true; TARGET_PID=""
  RESULT="$RESULT rto_ms_${GIB}g=$RTO_MS failover_server_ms_${GIB}g=$SERVER_MS first_read_ms_${GIB}g=$READ_MS image_export_ms_${GIB}g=$EXPORT_MS sync_ms_${GIB}g=$SYNC_MS"
  cd "$WORK"
done
echo "$RESULT"
