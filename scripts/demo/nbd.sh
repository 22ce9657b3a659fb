# shellcheck shell=bash
# The nbd scenario (sourced by scripts/demo.sh, which defines the helpers it uses): the foundation
# cycle with instant recovery. Failover serves the older image at once as a writable NBD export
# (nothing copied); production writes it with qemu-io; failback ships exactly those blocks (plus the
# other failback sets) and both sides end identical. rto_ms = failover command start to the first
# successful qemu-io read of the recovery export.
# The primary's writes are made by qemu-io over the agent's NBD front end (capture = api: every
# write journaled in order), so the expected failback sets are exact block lists.

RANDOM=4343
PORT=$(free_port)
NBD_PORT=$(free_port)
AGENT_NBD_PORT=$(free_port)
PRIMARY_URI="nbd://127.0.0.1:$AGENT_NBD_PORT/disk0"
export REPLICATOR_TARGET="127.0.0.1:$PORT"
RECOVERY_URI="nbd://127.0.0.1:$NBD_PORT/disk0"
cd "$WORK"
for tool in qemu-io qemu-img nbdinfo nbdcopy; do
  command -v "$tool" >/dev/null || fail "$tool is not installed (scripts/install-test-tools.sh)"
done

say "building (if needed) and preparing $WORK"
"$R" --version >/dev/null
truncate -s ${VOLUME_MIB}M primary.img
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
volume.disk0.path = primary.img
volume.disk0.block.size = $BLOCK
volume.disk0.front = nbd
volume.disk0.nbd.listen = 127.0.0.1:$AGENT_NBD_PORT
capture = api
CONF

start_target() { "$R" target run --config target.conf >> target.log 2>&1 & TARGET_PID=$!; wait_for 60 "$R" status; }
start_agent() { "$R" agent run --config agent.conf >> agent.log 2>&1 & AGENT_PID=$!; }
agent_export_up() { nbdinfo --size "$PRIMARY_URI"; }

# nbd_write_set URI RUNS LOG: RUNS runs of 1-16 whole blocks at random places written by one qemu-io
# (each run a different byte pattern); logs the block indices.
nbd_write_set() {
  local uri=$1 runs=$2 log=$3 i first count args=()
  : >> "$log"
  for i in $(seq 1 "$runs"); do
    count=$((1 + RANDOM % 16))
    first=$(( (RANDOM * 32768 + RANDOM) % (VOLUME_BLOCKS - count) ))
    args+=(-c "write -q -P $((1 + RANDOM % 255)) $((first * BLOCK)) $((count * BLOCK))")
    seq "$first" $((first + count - 1)) >> "$log"
  done
  qemu-io -f raw "${args[@]}" "$uri" || fail "qemu-io could not write $uri"
}

say "starting the target on 127.0.0.1:$PORT"
start_target

say "starting the agent: it serves the primary volume (${VOLUME_MIB} MiB) at $PRIMARY_URI; qemu-io writes it"
start_agent
wait_for 60 agent_export_up
nbd_write_set "$PRIMARY_URI" 400 set-a.blocks
wait_for 60 "$R" checkpoint --group demo --label initial-sync
CP1=$("$R" checkpoint --group demo --label before-batch-b)
cp --sparse=always primary.img primary-at-cp1.img
echo "checkpoint $CP1 taken; primary copied aside for later comparison"

say "more writes on the primary (qemu-io over NBD), two more checkpoints"
nbd_write_set "$PRIMARY_URI" 120 set-b.blocks
CP2=$("$R" checkpoint --group demo --label batch-b)
nbd_write_set "$PRIMARY_URI" 80 set-c.blocks
CP3=$("$R" checkpoint --group demo --label batch-c)
"$R" images list --group demo

say "the target goes away; the agent journals writes it cannot ship"
kill "$TARGET_PID"; wait "$TARGET_PID" 2>/dev/null || true; TARGET_PID=""
ACKED=$("$R" agent status --config agent.conf --json | json_field ackedSeq)
# qemu-io returns once its writes are acknowledged, and the front end acknowledges a write once it is
# journaled: these are in the journal, never shipped.
nbd_write_set "$PRIMARY_URI" 60 set-d.blocks
unshipped() {
  local status; status=$("$R" agent status --config agent.conf --json)
  [ "$(json_field lastJournaledSeq <<<"$status")" -gt "$ACKED" ]
}
wait_for 60 unshipped

say "DISASTER: the primary's agent is killed with SIGKILL"
kill -9 "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null || true; AGENT_PID=""

say "the target returns; the admin fails over to the OLDER checkpoint $CP1, served at once over NBD"
start_target
START_NS=$(date +%s%N)
"$R" failover --group demo --image "$CP1" --export "nbd:$NBD_PORT"
until qemu-io -r -f raw -c "read -q 0 $BLOCK" "$RECOVERY_URI" >/dev/null 2>&1; do
  [ $(( ($(date +%s%N) - START_NS) / 1000000000 )) -lt 60 ] || fail "the recovery export never became readable"
done
RTO_MS=$(( ($(date +%s%N) - START_NS) / 1000000 ))
echo "recovery export readable ${RTO_MS} ms after the failover command started"
nbdinfo --list "nbd://127.0.0.1:$NBD_PORT" | grep -E 'export=|export-size' || true
qemu-img compare -f raw -F raw "$RECOVERY_URI" primary-at-cp1.img ||
  fail "the recovery export differs from the primary as of $CP1"
echo "recovery export is byte-identical to the primary as of $CP1 (qemu-img compare)"

say "production runs on the recovery export: qemu-io writes it over NBD"
nbd_write_set "$RECOVERY_URI" 50 set-e.blocks
"$R" status

say "the repaired primary returns: its agent is refused (demoted) and reports its unshipped tail"
start_agent
demoted() { "$R" status --json | grep -q '"failbackReportReceived" : true'; }
wait_for 60 demoted
grep -q "demoted" agent.log || fail "the agent did not log its demotion"

say "the recovery side as it is before failback (nbdcopy from the export)"
nbdcopy "$RECOVERY_URI" recovery-copy.img
RECOVERY_SHA=$(sha recovery-copy.img)

say "failback plan, then execute"
"$R" failback --group demo --plan
"$R" failback --group demo --execute --json > failback.json
sed -n '1,12p' failback.json
SHIPPED_BACK=$(json_field blocksShipped < failback.json)
EXPECTED_BACK=$(blocks_in set-b.blocks set-c.blocks set-d.blocks set-e.blocks)
WRITTEN_ON_RECOVERY=$(json_field writtenOnRecovery < failback.json)

say "verifying both sides"
PRIMARY_SHA=$(sha primary.img)
[ "$PRIMARY_SHA" = "$RECOVERY_SHA" ] || fail "primary and recovery export differ after failback"
[ "$WRITTEN_ON_RECOVERY" = "$(blocks_in set-e.blocks)" ] ||
  fail "failback counted $WRITTEN_ON_RECOVERY blocks written on recovery, qemu-io wrote $(blocks_in set-e.blocks)"
[ "$SHIPPED_BACK" = "$EXPECTED_BACK" ] || fail "shipped back $SHIPPED_BACK blocks, expected $EXPECTED_BACK"
[ "$SHIPPED_BACK" -lt $((VOLUME_BLOCKS / 10)) ] || fail "failback shipped too much: $SHIPPED_BACK blocks"

say "forward replication resumes from the common state (no full resync)"
wait_for 60 "$R" checkpoint --group demo --label after-failback
wait_for 60 agent_export_up
nbd_write_set "$PRIMARY_URI" 20 set-f.blocks
CP_AFTER=$("$R" checkpoint --group demo --label resumed)
cp --sparse=always primary.img primary-now.img
"$R" verify --image "$CP_AFTER" --file "$WORK/primary-now.img"
SHIPPED_FORWARD=$("$R" images list --group demo --json |
  awk -F: '/"label"/ { failback = ($2 ~ /"failback"/) } /"blocksChanged"/ { if (!failback) s += $2 } END { print s + 0 }')

say "report"
echo "volume blocks:            $VOLUME_BLOCKS"
echo "time to readable export:  $RTO_MS ms (failover command start to the first qemu-io read of $RECOVERY_URI)"
echo "blocks shipped forward:   $SHIPPED_FORWARD"
echo "blocks shipped back:      $SHIPPED_BACK (expected $EXPECTED_BACK: $(blocks_in set-b.blocks set-c.blocks) received after $CP1, $(blocks_in set-d.blocks) unshipped, $(blocks_in set-e.blocks) written by qemu-io on the recovery export)"
echo "primary sha256:           $PRIMARY_SHA"
echo "recovery sha256:          $RECOVERY_SHA"
echo "volume_blocks=$VOLUME_BLOCKS shipped_forward=$SHIPPED_FORWARD shipped_back=$SHIPPED_BACK expected_back=$EXPECTED_BACK primary_sha256=$PRIMARY_SHA recovery_sha256=$RECOVERY_SHA identical=true rto_ms=$RTO_MS"
echo "demo: OK"
