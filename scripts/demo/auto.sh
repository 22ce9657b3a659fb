# shellcheck shell=bash
# The "auto" scenario (sourced by scripts/demo.sh, which defines the helpers it uses):
#   an application-consistent checkpoint (pre-checkpoint hook), more writes (crash-consistent scan
#   checkpoints); the agent is killed; the target fails over ON ITS OWN after the silence window, to
#   the newest application-consistent image, and runs the failover hook; status shows why; the old
#   primary returns and is refused (demoted); the admin fails back by hand; both sides are verified.

RANDOM=4343
SILENCE_S=5
PORT=$(free_port)
export REPLICATOR_TARGET="127.0.0.1:$PORT"
cd "$WORK"

say "building (if needed) and preparing $WORK"
"$R" --version >/dev/null
truncate -s ${VOLUME_MIB}M primary.img
cat > flush-app.sh <<'SH'
#!/bin/sh
# A pre-checkpoint hook: a real one would flush and pause the application (e.g. a database).
echo "quiescing the application for checkpoint '$LABEL' of group $GROUP"
exit 0
SH
cat > start-app.sh <<SH
#!/bin/sh
# The failover hook: a real one would start the application on the recovery volume.
env | grep -E '^(TRANSITION|GROUP|IMAGE|EPOCH|RECOVERY_PATH|REASON)=' | sort > "$WORK/hook.env"
exit 0
SH
chmod +x flush-app.sh start-app.sh
cat > target.conf <<CONF
listen = 127.0.0.1:$PORT
data.dir = target-data
recovery.scan.interval.ms = 500
group.demo.auto.failover = on
group.demo.auto.failover.silence.s = $SILENCE_S
group.demo.auto.failover.to = $WORK/recovery.img
group.demo.auto.failover.hook = $WORK/start-app.sh
CONF
cat > agent.conf <<CONF
group = demo
agent.name = primary-host
target = 127.0.0.1:$PORT
state.dir = agent-state
volume.disk0.path = primary.img
capture = scan
scan.interval.ms = 300
checkpoint.pre.hook = flush-app.sh
checkpoint.hook.timeout.ms = 10000
CONF

start_target() { "$R" target run --config target.conf >> target.log 2>&1 & TARGET_PID=$!; wait_for 60 "$R" status; }
start_agent() { "$R" agent run --config agent.conf >> agent.log 2>&1 & AGENT_PID=$!; }
group_field() { "$R" status --json | sed -n "s/.*\"$1\" : \"\{0,1\}\([^\",]*\).*/\1/p" | head -1; }

say "starting the target: automatic failover after ${SILENCE_S} s of silence"
start_target
"$R" status

say "writing the primary and starting the agent; an application-consistent checkpoint (pre hook)"
write_set primary.img 300 set-a.blocks
start_agent
wait_for 60 "$R" checkpoint --group demo --label initial-sync
CP_APP=$("$R" checkpoint --group demo --label app-consistent)
cp --sparse=always primary.img primary-at-cp.img
echo "checkpoint $CP_APP taken with the application quiesced"

say "more writes: the agent's scans ship them with crash-consistent checkpoints"
write_set primary.img 100 set-b.blocks
newer_image() { [ "$(group_field latestImage)" != "$CP_APP" ]; }
wait_for 60 newer_image
"$R" images list --group demo

say "DISASTER: the primary's agent is killed with SIGKILL; nobody touches the target"
DURABLE=$(group_field durableSeq)
kill -9 "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null || true; AGENT_PID=""
KILLED_MS=$(date +%s%3N)
failed_over() { [ "$(group_field role)" = FAILED_OVER ]; }
wait_for 120 failed_over
AUTO_FAILOVER_MS=$(( $(date +%s%3N) - KILLED_MS ))
echo "the target failed over on its own ${AUTO_FAILOVER_MS} ms after the kill"
[ "$AUTO_FAILOVER_MS" -ge $(( SILENCE_S * 1000 - 1000 )) ] || fail "failed over before the silence window"

say "status shows why"
hook_done() { "$R" status --json | grep -q '"hookExitCode"'; }
wait_for 60 hook_done
"$R" status | tee status.txt
grep -q "last automatic transition: FAILOVER" status.txt || fail "status does not show the automatic failover"
grep -q "primary silent for" status.txt || fail "status does not say why"
grep -q "AUTOMATIC FAILOVER" target.log || fail "the target did not log the transition"
grep -q "^IMAGE=$CP_APP\$" hook.env || fail "the hook did not get IMAGE=$CP_APP: $(cat hook.env)"
echo "hook ran with: $(paste -sd' ' hook.env)"
[ "$(sha recovery.img)" = "$(sha primary-at-cp.img)" ] || fail "recovery volume differs from the primary as of $CP_APP"
echo "recovery volume is byte-identical to the primary as of $CP_APP (the newest application-consistent image)"

say "production runs on the recovery volume: it is written"
write_set recovery.img 40 set-e.blocks

say "the old primary returns: refused (demoted), it ships nothing"
start_agent
demoted() { "$R" status --json | grep -q '"failbackReportReceived" : true'; }
wait_for 60 demoted
grep -q "demoted" agent.log || fail "the agent did not log its demotion"
[ "$(group_field durableSeq)" -le "$((DURABLE + 1))" ] || fail "the fenced primary shipped data"
echo "the old primary is connected as demoted; the target's durable seq did not move"

say "manual failback: plan, then execute"
"$R" failback --group demo --plan
"$R" failback --group demo --execute --json > failback.json
SHIPPED_BACK=$(json_field blocksShipped < failback.json)
EXPECTED_BACK=$(blocks_in set-b.blocks set-e.blocks)

say "verifying both sides; forward replication resumes"
PRIMARY_SHA=$(sha primary.img)
RECOVERY_SHA=$(sha recovery.img)
[ "$PRIMARY_SHA" = "$RECOVERY_SHA" ] || fail "primary and recovery volume differ after failback"
[ "$SHIPPED_BACK" = "$EXPECTED_BACK" ] || fail "shipped back $SHIPPED_BACK blocks, expected $EXPECTED_BACK"
wait_for 60 "$R" checkpoint --group demo --label after-failback
"$R" images list --group demo
"$R" status

say "report"
echo "silence window:           ${SILENCE_S} s"
echo "automatic failover after: ${AUTO_FAILOVER_MS} ms (from the kill, seen by polling status every 0.2 s)"
echo "image failed over to:     $CP_APP (application-consistent)"
echo "blocks shipped back:      $SHIPPED_BACK (expected $EXPECTED_BACK)"
echo "volume_blocks=$VOLUME_BLOCKS silence_s=$SILENCE_S auto_failover_ms=$AUTO_FAILOVER_MS image=$CP_APP consistency=application shipped_back=$SHIPPED_BACK expected_back=$EXPECTED_BACK primary_sha256=$PRIMARY_SHA recovery_sha256=$RECOVERY_SHA identical=true"
echo "demo: OK"
