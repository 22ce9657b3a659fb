# shellcheck shell=bash
# The default scenario (sourced by scripts/demo.sh, which defines the helpers it uses).

RANDOM=4242
PORT=$(free_port)
export REPLICATOR_TARGET="127.0.0.1:$PORT"
cd "$WORK"

say "building (if needed) and preparing $WORK"
"$R" --version >/dev/null
truncate -s ${VOLUME_MIB}M primary.img

say "a throwaway CA: target, agent and admin certificates for mutual TLS (a real deployment: docs/SECURITY.md)"
"$R" certs init --dir ca
"$R" certs issue --dir ca --target recovery-site --out tls-target
"$R" certs issue --dir ca --agent primary-host --groups demo --out tls-agent
"$R" certs issue --dir ca --admin demo-admin --out tls-admin
export REPLICATOR_TLS_DIR="$WORK/tls-admin"
cat > target.conf <<CONF
listen = 127.0.0.1:$PORT
data.dir = target-data
retain.checkpoints = 64
recovery.scan.interval.ms = 500
tls.dir = tls-target
CONF
cat > agent.conf <<CONF
group = demo
agent.name = primary-host
target = 127.0.0.1:$PORT
state.dir = agent-state
volume.disk0.path = primary.img
volume.disk0.block.size = $BLOCK
capture = scan
scan.interval.ms = 300
tls.dir = tls-agent
CONF

start_target() { "$R" target run --config target.conf >> target.log 2>&1 & TARGET_PID=$!; wait_for 60 "$R" status; }
start_agent() { "$R" agent run --config agent.conf >> agent.log 2>&1 & AGENT_PID=$!; }

say "starting the target on 127.0.0.1:$PORT"
start_target

say "writing the primary volume (${VOLUME_MIB} MiB) and starting the agent: the first scan is the initial sync"
write_set primary.img 400 set-a.blocks
start_agent
wait_for 60 "$R" checkpoint --group demo --label initial-sync
CP1=$("$R" checkpoint --group demo --label before-batch-b)
cp --sparse=always primary.img primary-at-cp1.img
echo "checkpoint $CP1 taken; primary copied aside for later comparison"

say "more writes on the primary, two more checkpoints"
write_set primary.img 120 set-b.blocks
CP2=$("$R" checkpoint --group demo --label batch-b)
write_set primary.img 80 set-c.blocks
CP3=$("$R" checkpoint --group demo --label batch-c)
"$R" images list --group demo

say "the target goes away; the agent journals writes it cannot ship"
kill "$TARGET_PID"; wait "$TARGET_PID" 2>/dev/null || true; TARGET_PID=""
ACKED=$("$R" agent status --config agent.conf --json | json_field ackedSeq)
write_set primary.img 60 set-d.blocks
SCANS=$("$R" agent status --config agent.conf --json | json_field scans)
# Two more scans: at least one whole scan started after the writes, so all of them are journaled.
unshipped() {
  local status; status=$("$R" agent status --config agent.conf --json)
  [ "$(json_field scans <<<"$status")" -ge $((SCANS + 2)) ] && [ "$(json_field lastJournaledSeq <<<"$status")" -gt "$ACKED" ]
}
wait_for 60 unshipped
"$R" agent status --config agent.conf

say "DISASTER: the primary's agent is killed with SIGKILL"
kill -9 "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null || true; AGENT_PID=""

say "the target returns; the admin fails over to the OLDER checkpoint $CP1"
start_target
"$R" failover --group demo --image "$CP1" --to "$WORK/recovery.img"
[ "$(sha recovery.img)" = "$(sha primary-at-cp1.img)" ] || fail "recovery volume differs from the primary as of $CP1"
echo "recovery volume is byte-identical to the primary as of $CP1"

say "production runs on the recovery volume: it is written"
write_set recovery.img 50 set-e.blocks

say "the repaired primary returns: its agent is refused (demoted) and reports its unshipped tail"
start_agent
demoted() { "$R" status --json | grep -q '"failbackReportReceived" : true'; }
wait_for 60 demoted
grep -q "demoted" agent.log || fail "the agent did not log its demotion"

say "failback plan, then execute"
"$R" failback --group demo --plan
"$R" failback --group demo --execute --json > failback.json
cat failback.json | sed -n '1,12p'
SHIPPED_BACK=$(json_field blocksShipped < failback.json)
EXPECTED_BACK=$(blocks_in set-b.blocks set-c.blocks set-d.blocks set-e.blocks)

say "verifying both sides"
PRIMARY_SHA=$(sha primary.img)
RECOVERY_SHA=$(sha recovery.img)
[ "$PRIMARY_SHA" = "$RECOVERY_SHA" ] || fail "primary and recovery volume differ after failback"
[ "$SHIPPED_BACK" = "$EXPECTED_BACK" ] || fail "shipped back $SHIPPED_BACK blocks, expected $EXPECTED_BACK"
[ "$SHIPPED_BACK" -lt $((VOLUME_BLOCKS / 10)) ] || fail "failback shipped too much: $SHIPPED_BACK blocks"

say "forward replication resumes from the common state (no full resync)"
wait_for 60 "$R" checkpoint --group demo --label after-failback
write_set primary.img 20 set-f.blocks
CP_AFTER=$("$R" checkpoint --group demo --label resumed)
cp --sparse=always primary.img primary-now.img
"$R" verify --image "$CP_AFTER" --file "$WORK/primary-now.img"
# Blocks the primary shipped: the change of every image except the one failback itself wrote.
SHIPPED_FORWARD=$("$R" images list --group demo --json |
  awk -F: '/"label"/ { failback = ($2 ~ /"failback"/) } /"blocksChanged"/ { if (!failback) s += $2 } END { print s + 0 }')
"$R" images list --group demo

say "report"
echo "volume blocks:            $VOLUME_BLOCKS"
echo "blocks shipped forward:   $SHIPPED_FORWARD (sum of blocks changed over the images the primary shipped)"
echo "blocks shipped back:      $SHIPPED_BACK (expected $EXPECTED_BACK: $(blocks_in set-b.blocks set-c.blocks) received after $CP1, $(blocks_in set-d.blocks) unshipped, $(blocks_in set-e.blocks) written on recovery)"
echo "primary sha256:           $PRIMARY_SHA"
echo "recovery sha256:          $RECOVERY_SHA"
echo "volume_blocks=$VOLUME_BLOCKS shipped_forward=$SHIPPED_FORWARD shipped_back=$SHIPPED_BACK expected_back=$EXPECTED_BACK primary_sha256=$PRIMARY_SHA recovery_sha256=$RECOVERY_SHA identical=true"
echo "demo: OK"
