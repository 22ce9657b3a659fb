# shellcheck shell=bash
# The tree scenario (sourced by scripts/demo.sh): a directory replicated as a tree volume.

RANDOM=4343
PORT=$(free_port)
export REPLICATOR_TARGET="127.0.0.1:$PORT"
cd "$WORK"

# listing DIR: one line per entry (type, mode, owner, mtime, size; a symlink's target), sorted.
listing() {
  (cd "$1" && find . -mindepth 1 \( -type l -printf '%P l -> %l\n' \) -o \( ! -type l -printf '%P %y %m %U:%G %T@ %s\n' \) | sort)
}
# same_tree A B: same entries, attributes and contents.
same_tree() {
  [ "$(listing "$1")" = "$(listing "$2")" ] && diff -r --no-dereference "$1" "$2" >/dev/null
}
# shipped_bytes: tree data bytes the agent journaled since the log line numbered $1.
shipped_bytes() {
  tail -n +"$1" agent.log | sed -n 's/.*scan journaled [0-9]* op(s), \([0-9]*\) data bytes.*/\1/p' | awk '{ s += $1 } END { print s + 0 }'
}
mark() { wc -l < agent.log; }
change_some_files() {  # change_some_files EVERY: overwrite 100 bytes in every EVERY-th small file
  local i=0 f
  for f in share/d*/f*; do
    i=$((i + 1))
    [ $((i % $1)) = 0 ] && printf '%0100d' "$RANDOM" | dd of="$f" bs=1 seek=10 conv=notrunc status=none
  done
  return 0
}

say "building (if needed) and preparing a tree in $WORK/share"
"$R" --version >/dev/null
mkdir -p share
for d in $(seq 1 20); do
  mkdir -p "share/d$d"
  for f in $(seq 1 100); do head -c $((200 + RANDOM % 4000)) /dev/urandom > "share/d$d/f$f"; done
done
truncate -s 1G share/big.img
head -c $((32 * 1024 * 1024)) /dev/urandom | dd of=share/big.img bs=1M seek=100 conv=notrunc status=none
ln -s d1/f1 share/link-to-f1
chmod 0640 share/d2/f2

cat > target.conf <<CONF
listen = 127.0.0.1:$PORT
data.dir = target-data
retain.checkpoints = 64
CONF
cat > agent.conf <<CONF
group = demo
agent.name = primary-host
target = 127.0.0.1:$PORT
state.dir = agent-state
volume.share.kind = tree
volume.share.path = $WORK/share
capture = scan
scan.interval.ms = 1000
CONF

start_target() { "$R" target run --config target.conf >> target.log 2>&1 & TARGET_PID=$!; wait_for 60 "$R" status; }
start_agent() { "$R" agent run --config agent.conf >> agent.log 2>&1 & AGENT_PID=$!; }

say "starting the target and the agent: the first scan is the initial sync"
start_target
start_agent
wait_for 120 "$R" checkpoint --group demo --label initial-sync
INITIAL_BYTES=$(shipped_bytes 1)
CP1=$("$R" checkpoint --group demo --label cp1)
cp -a --sparse=always share share-at-cp1
echo "checkpoint $CP1; initial sync journaled $INITIAL_BYTES data bytes (2000 small files + 32 MiB of a 1 GiB sparse file)"

say "1% of the files change, a directory is renamed, files are deleted, 1 MiB changes in the 1 GiB file"
M=$(mark)
change_some_files 100
mv share/d3 share/d3-renamed
rm share/d4/f1 share/d4/f2
mkdir share/new && echo "hello" > share/new/hello.txt
head -c $((1024 * 1024)) /dev/urandom | dd of=share/big.img bs=1M seek=500 conv=notrunc status=none
chmod 0600 share/d5/f5
CP2=$("$R" checkpoint --group demo --label cp2)
CHANGE_BYTES=$(shipped_bytes "$M")
cp -a --sparse=always share share-at-cp2
echo "checkpoint $CP2; the change journaled $CHANGE_BYTES data bytes"

say "the agent is killed with SIGKILL; the tree changes while it is down"
kill -9 "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null || true; AGENT_PID=""
M=$(mark)
mv share/d6/f6 share/d7/f6-moved
rm -r share/d8
truncate -s 100 share/d9/f9
start_agent
wait_for 120 "$R" checkpoint --group demo --label after-restart
CP3=$("$R" checkpoint --group demo --label cp3)
DOWN_BYTES=$(shipped_bytes "$M")
cp -a --sparse=always share share-at-cp3
echo "checkpoint $CP3; the restart scan journaled $DOWN_BYTES data bytes"
"$R" images list --group demo

say "every image exports as the tree was at its checkpoint"
for pair in "$CP1:share-at-cp1" "$CP2:share-at-cp2" "$CP3:share-at-cp3"; do
  image=${pair%%:*}; copy=${pair#*:}
  "$R" images export --image "$image" --to "$WORK/export-${copy}"
  same_tree "export-${copy}" "$copy" || fail "image $image differs from the tree at that checkpoint"
  echo "image $image == $copy"
done

say "a DR drill: failover --test materialises the older image $CP1 as a writable tree"
"$R" failover --group demo --image "$CP1" --test --to "$WORK/recovery"
same_tree recovery share-at-cp1 || fail "the recovery tree differs from the tree as of $CP1"
SPARSE_KIB=$(du -k recovery/big.img | cut -f1)
[ "$SPARSE_KIB" -lt $((64 * 1024)) ] || fail "the 1 GiB sparse file was materialised with ${SPARSE_KIB} KiB on disk"

say "report"
FILES=$(find share -type f | wc -l)
echo "files:                         $FILES"
echo "initial sync data bytes:       $INITIAL_BYTES"
echo "change (1% + 1 MiB) bytes:     $CHANGE_BYTES (20 small files sent whole, plus 1 MiB of the 1 GiB file)"
echo "changes while down, bytes:     $DOWN_BYTES (a move and a delete send no data)"
echo "recovery big.img on disk:      ${SPARSE_KIB} KiB of 1 GiB (holes kept)"
[ "$CHANGE_BYTES" -lt $((3 * 1024 * 1024)) ] || fail "the change sent $CHANGE_BYTES bytes"
echo "files=$FILES initial_bytes=$INITIAL_BYTES change_bytes=$CHANGE_BYTES down_bytes=$DOWN_BYTES images_identical=true"
echo "demo: OK"
