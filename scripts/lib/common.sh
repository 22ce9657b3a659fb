# shellcheck shell=bash
# Helpers shared by scripts/demo.sh and the benchmark scripts (sourced, not run).
# The sourcing script sets LAB_NAME (its name in messages) and may set LAB_SAY_FD=2 to keep stdout
# for its results.

say() { printf '\n== %s\n' "$*" >&"${LAB_SAY_FD:-1}"; }
fail() { echo "${LAB_NAME:-replicator}: CHECK FAILED: $*" >&2; exit 1; }

# Wait until a command succeeds, at most $1 seconds.
wait_for() {
  local seconds=$1; shift
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || fail "timed out after ${seconds}s waiting for: $*"
    sleep 0.2
  done
}

# A TCP port on 127.0.0.1 that nothing listens on (checked by trying to connect).
free_port() {
  local port
  for _ in $(seq 1 50); do
    port=$((20000 + RANDOM % 20000))
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return; }
  done
  fail "no free port found"
}

sha() { sha256sum "$1" | cut -d' ' -f1; }
# The first number of a JSON field, read from stdin: json_field durableSeq < status.json
json_field() { sed -n "s/.*\"$1\" *: *\([0-9-]*\).*/\1/p" | head -1; }
now() { date +%s.%N; }

# An rsync daemon on 127.0.0.1 serving module "bench" = $WORK/rsyncd (the benchmarks' baseline).
# Sets RPORT and RSYNCD_PID (the caller's cleanup kills it).
start_rsyncd() {
  RPORT=$(free_port)
  mkdir -p "$WORK/rsyncd"
  cat > "$WORK/rsyncd.conf" <<CONF
port = $RPORT
address = 127.0.0.1
use chroot = no
pid file = $WORK/rsyncd.pid
log file = $WORK/rsyncd.log
[bench]
  path = $WORK/rsyncd
  read only = no
  uid = root
  gid = root
CONF
  rsync --daemon --no-detach --config="$WORK/rsyncd.conf" & RSYNCD_PID=$!
  wait_for 30 rsync "rsync://127.0.0.1:$RPORT/"
}

# key=value lines: field KEY "LINE" prints KEY's value.
field() { tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p"; }
# Resident memory of process PID in MiB.
rss_mib() { awk '/^VmRSS:/ { print int($2 / 1024) }' "/proc/$1/status"; }

# start_bench_target: a target for a benchmark in the current directory (target.conf, target-data,
# target.log) on a free port, started with the launcher $R; sets PORT and TARGET_PID and returns once
# it answers.
start_bench_target() {
  PORT=$(free_port)
  cat > target.conf <<CONF
listen = 127.0.0.1:$PORT
data.dir = target-data
retain.checkpoints = 16
CONF
  "$R" target run --config target.conf >> target.log 2>&1 & TARGET_PID=$!
  until "$R" status --target "127.0.0.1:$PORT" >/dev/null 2>&1; do
    kill -0 "$TARGET_PID" || { echo "${LAB_NAME:-bench}: the target exited" >&2; exit 1; }
    sleep 0.2
  done
}
