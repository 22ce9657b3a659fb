# shellcheck shell=bash
# The tree scenario (sourced by scripts/demo.sh): a directory replicated as a tree volume, its
# images, a real failover to a chosen image, changes on both sides, failback, verification.

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

say "after $CP3 the primary keeps writing, and the replica receives it (checkpoint cp4)"
echo "written after $CP3" > share/after-cp3.txt
head -c $((64 * 1024)) /dev/urandom | dd of=share/big.img bs=64K seek=$((300 * 16)) conv=notrunc status=none
CP4=$("$R" checkpoint --group demo --label cp4)
echo "checkpoint $CP4"

say "DISASTER: the admin fails over for real to the chosen image $CP3 (fences the primary by epoch)"
"$R" failover --group demo --image "$CP3" --to "$WORK/recovery-real"
same_tree recovery-real share-at-cp3 || fail "the recovery tree differs from the tree as of $CP3"
demoted() { "$R" status --json | grep -q '"demotedPrimaryConnected" : true'; }
wait_for 60 demoted
echo "the recovery tree is the image $CP3; the old primary is demoted"

say "the demoted primary is written after it stopped shipping (unshipped: one 64 KiB block of big.img)"
head -c $((64 * 1024)) /dev/urandom | dd of=share/big.img bs=64K seek=$((700 * 16)) conv=notrunc status=none

say "production runs on the recovery tree: 1 MiB of big.img, a new file, a directory renamed, a delete, a chmod, a symlink"
head -c $((1024 * 1024)) /dev/urandom | dd of=recovery-real/big.img bs=64K seek=$((200 * 16)) conv=notrunc status=none
head -c 10000 /dev/urandom > recovery-real/made-on-recovery.bin
mv recovery-real/d10 recovery-real/d10-renamed
rm recovery-real/d11/f1
chmod 0600 recovery-real/d12/f12
ln -s made-on-recovery.bin recovery-real/link-to-new
# What must travel back (data bytes): 1 MiB + the new file (recovery side), the 64 KiB block written
# after $CP3 (replica) and the unshipped 64 KiB block (primary), both put back as the image had them.
EXPECTED_BACK=$((1024 * 1024 + 10000 + 64 * 1024 + 64 * 1024))

say "failback plan, then execute"
"$R" failback --group demo --plan
"$R" failback --group demo --execute --json > failback.json
SHIPPED_BACK=$(json_field dataBytesShipped < failback.json)
WIRE_BACK=$(json_field wireBytes < failback.json)
FAILBACK_MS=$(json_field elapsedMs < failback.json)
"$R" status

say "verifying: the primary's tree equals the recovery tree (paths, types, modes, owners, mtimes, contents)"
same_tree share recovery-real || fail "the primary and the recovery tree differ after failback"
[ "$SHIPPED_BACK" = "$EXPECTED_BACK" ] || fail "shipped back $SHIPPED_BACK data bytes, expected $EXPECTED_BACK"

say "forward replication resumes from the common state (no full resync)"
echo "after failback" > share/after-failback.txt
CP_AFTER=$("$R" checkpoint --group demo --label resumed)
"$R" images export --image "$CP_AFTER" --to "$WORK/export-after-failback"
same_tree export-after-failback share || fail "image $CP_AFTER differs from the primary's tree"
echo "image $CP_AFTER == the primary's tree"

say "report"
FILES=$(find share -type f | wc -l)
echo "files:                         $FILES"
echo "initial sync data bytes:       $INITIAL_BYTES"
echo "change (1% + 1 MiB) bytes:     $CHANGE_BYTES (20 small files sent whole, plus 1 MiB of the 1 GiB file)"
echo "changes while down, bytes:     $DOWN_BYTES (a move and a delete send no data)"
echo "recovery big.img on disk:      ${SPARSE_KIB} KiB of 1 GiB (holes kept)"
echo "failback data bytes:           $SHIPPED_BACK (expected $EXPECTED_BACK; $WIRE_BACK bytes on the wire; $FAILBACK_MS ms)"
[ "$CHANGE_BYTES" -lt $((3 * 1024 * 1024)) ] || fail "the change sent $CHANGE_BYTES bytes"
echo "files=$FILES initial_bytes=$INITIAL_BYTES change_bytes=$CHANGE_BYTES down_bytes=$DOWN_BYTES shipped_back=$SHIPPED_BACK expected_back=$EXPECTED_BACK wire_back=$WIRE_BACK failback_ms=$FAILBACK_MS images_identical=true identical=true"
echo "demo: OK"
