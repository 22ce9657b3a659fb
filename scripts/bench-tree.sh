#!/usr/bin/env bash
# Tree volumes against rsync (daemon on 127.0.0.1), same data, one run:
#   1. initial sync of FILES small files (1-8 KiB), 2. 1% of them changed (100 bytes each),
#   3. a 1 MiB change in a 4 GiB sparse file holding 256 MiB of data.
# Time: wall clock until the copy is at the receiver (replicator: from the change made until `checkpoint`
# returns, i.e. the target fsynced it; rsync: from its start until the client exits, no fsync). Bytes: both directions on the wire,
# counted by the same TCP relay in front of each receiver.
# Usage: scripts/bench-tree.sh [FILES]   (default 100000)
set -euo pipefail
# A lab benchmark on 127.0.0.1: plaintext (see docs/SECURITY.md; scripts/bench-tls.sh prices TLS).
export REPLICATOR_INSECURE="${REPLICATOR_INSECURE:-1}"
FILES=${1:-100000}
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
R="$ROOT/scripts/replicator"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/bench-tree.XXXXXX")"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
command -v rsync >/dev/null || { echo "bench-tree: rsync is not installed (scripts/install-test-tools.sh)" >&2; exit 1; }
cd "$WORK"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }
secs() { python3 -c "print(f'{$2 - $1:.2f}')"; }

# A TCP relay that counts the bytes it forwards (both directions) into a file.
cat > relay.py <<'PY'
import os, socket, sys, threading
listen, target, counter = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
total = [0]; lock = threading.Lock()
def pump(a, b):
    try:
        while True:
            data = a.recv(1 << 20)
            if not data: break
            b.sendall(data)
            with lock:
                total[0] += len(data)
                # Atomic replace: a reader must never see the file truncated (it would read 0 bytes so far).
                with open(counter + ".tmp", "w") as out: out.write(str(total[0]))
                os.replace(counter + ".tmp", counter)
    except OSError: pass
    finally:
        for s in (a, b):
            try: s.shutdown(socket.SHUT_RDWR)
            except OSError: pass
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); srv.bind(("127.0.0.1", listen)); srv.listen(64)
while True:
    c, _ = srv.accept(); u = socket.create_connection(("127.0.0.1", target))
    threading.Thread(target=pump, args=(c, u), daemon=True).start(); threading.Thread(target=pump, args=(u, c), daemon=True).start()
PY
relay() { echo 0 > "$3"; python3 relay.py "$1" "$2" "$3" & PIDS+=($!); }
count() { cat "$1"; }

echo "bench-tree: making $FILES small files and a 4 GiB sparse file in $WORK/src"
python3 - "$FILES" <<'PY'
import os, random, sys
n = int(sys.argv[1]); random.seed(42)
for i in range(n):
    d = f"src/d{i // 1000:03d}"
    if i % 1000 == 0: os.makedirs(d, exist_ok=True)
    with open(f"{d}/f{i}", "wb") as f: f.write(os.urandom(random.randint(1024, 8192)))
with open("src/big.img", "wb") as f:
    f.truncate(4 << 30)
    for k in range(16):
        f.seek(k * (256 << 20)); f.write(os.urandom(16 << 20))
PY
"$R" --version >/dev/null

# rsync daemon
RS_PORT=$(free_port); RS_RELAY=$(free_port)
mkdir -p rsync-dst
cat > rsyncd.conf <<CONF
use chroot = no
[dst]
path = $WORK/rsync-dst
read only = no
uid = root
gid = root
CONF
rsync --daemon --no-detach --port "$RS_PORT" --address 127.0.0.1 --config rsyncd.conf & PIDS+=($!)
relay "$RS_RELAY" "$RS_PORT" rsync.bytes
sleep 1
rsync_run() { rsync -a --sparse src/ "rsync://127.0.0.1:$RS_RELAY/dst/"; }

# replicator
T_PORT=$(free_port); T_RELAY=$(free_port)
cat > target.conf <<CONF
listen = 127.0.0.1:$T_PORT
data.dir = target-data
CONF
cat > agent.conf <<CONF
group = bench
agent.name = bench
target = 127.0.0.1:$T_RELAY
state.dir = agent-state
volume.src.kind = tree
volume.src.path = $WORK/src
capture = scan
scan.interval.ms = 3600000
CONF
relay "$T_RELAY" "$T_PORT" replicator.bytes
"$R" target run --config target.conf > target.log 2>&1 & PIDS+=($!)
export REPLICATOR_TARGET="127.0.0.1:$T_PORT"
until "$R" status >/dev/null 2>&1; do sleep 0.2; done
# Each admin command is a JVM start: poll the agent's log (cheap) for its connection, not the target.
checkpoint() {
  until grep -q "connected to target" agent.log 2>/dev/null; do sleep 0.05; done
  until "$R" checkpoint --group bench --label "$1" >/dev/null 2>&1; do sleep 0.2; done
}

declare -A T B
drop_caches() { sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true; }
# step NAME CHANGE: CHANGE the source; replicator is timed from the moment the change is made (its
# watcher may already be scanning) to the checkpoint being durable; then rsync from its start to its
# exit. Neither side's time includes making the change.
step() {
  local b0 t0 t1
  drop_caches
  b0=$(count replicator.bytes)
  "$2"
  t0=$(now)
  if [ "$1" = initial ]; then "$R" agent run --config agent.conf > agent.log 2>&1 & PIDS+=($!); fi
  checkpoint "$1"; t1=$(now)
  T[replicator-$1]=$(secs "$t0" "$t1"); B[replicator-$1]=$(( $(count replicator.bytes) - b0 ))
  drop_caches
  b0=$(count rsync.bytes); t0=$(now); rsync_run; t1=$(now)
  T[rsync-$1]=$(secs "$t0" "$t1"); B[rsync-$1]=$(( $(count rsync.bytes) - b0 ))
  printf '%-13s rsync %8ss %12s B   replicator %8ss %12s B\n' "$1" "${T[rsync-$1]}" "${B[rsync-$1]}" "${T[replicator-$1]}" "${B[replicator-$1]}"
}
nothing() { :; }
change_1pct() {
  python3 - "$FILES" <<'PY'
import os, random, sys
n = int(sys.argv[1]); random.seed(7)
for i in random.sample(range(n), n // 100):
    with open(f"src/d{i // 1000:03d}/f{i}", "r+b") as f: f.seek(10); f.write(os.urandom(100))
PY
}
change_big() {
  python3 -c '
import os
with open("src/big.img", "r+b") as f: f.seek(3 << 30); f.write(os.urandom(1 << 20))'
}

step initial nothing
step changed-1pct change_1pct
step big-1mib change_big
diff -r --no-dereference src rsync-dst >/dev/null && echo "rsync copy identical"
"$R" images export --image "$("$R" images list --group bench --json | sed -n 's/.*"id" *: *"\([^"]*\)".*/\1/p' | tail -1)" --to "$WORK/export" >/dev/null
diff -r --no-dereference src export >/dev/null && echo "replicator image identical"
echo "files=$FILES $(for k in initial changed-1pct big-1mib; do printf '%s_rsync_s=%s %s_rsync_bytes=%s %s_replicator_s=%s %s_replicator_bytes=%s ' $k "${T[rsync-$k]}" $k "${B[rsync-$k]}" $k "${T[replicator-$k]}" $k "${B[replicator-$k]}"; done)"
