# shellcheck shell=bash
# The operations scenario (sourced by scripts/demo.sh): install the distribution into a temporary
# prefix, run target and agent from the installed tree with metrics on, watch status and the
# Prometheus endpoints while the target goes away (RPO lag grows) and comes back (lag returns to 0).

RANDOM=917
cd "$WORK"

say "building the distribution archive (mvn package) if needed"
ARCHIVE=$(compgen -G "$ROOT/replicator-cli/target/replicator-*.tar.gz" | head -1 || true)
if [ -z "$ARCHIVE" ]; then
  (cd "$ROOT" && mvn -B -q -DskipTests package -pl replicator-cli -am) >&2
  ARCHIVE=$(compgen -G "$ROOT/replicator-cli/target/replicator-*.tar.gz" | head -1)
fi

say "installing $(basename "$ARCHIVE") under $WORK/opt (no user, units into $WORK/units, nothing enabled)"
"$ROOT/scripts/install.sh" --archive "$ARCHIVE" --prefix "$WORK/opt" --etc "$WORK/etc" --data "$WORK/data" \
  --no-user --systemd-dir "$WORK/units" --bin-link none
systemd-analyze verify "$WORK"/units/*.service || fail "systemd-analyze verify found problems in the units"
echo "units verified: $(cd "$WORK/units" && ls | paste -sd' ')"
R="$WORK/opt/bin/replicator"
"$R" --version

PORT=$(free_port); TARGET_METRICS=$(free_port); AGENT_METRICS=$(free_port)
export REPLICATOR_TARGET="127.0.0.1:$PORT"
sed -i -e "s|^listen = .*|listen = 127.0.0.1:$PORT|" -e "s|^# metrics.listen = .*|metrics.listen = 127.0.0.1:$TARGET_METRICS|" \
  "$WORK/etc/target.conf"
sed -i "s/^heartbeat.interval.ms = .*/heartbeat.interval.ms = 250/" "$WORK/etc/target.conf"
truncate -s ${VOLUME_MIB}M primary.img
cat > "$WORK/etc/agent.conf" <<CONF
group = ops
agent.name = primary-host
target = 127.0.0.1:$PORT
state.dir = $WORK/data/ops
volume.disk0.path = $WORK/primary.img
scan.interval.ms = 300
heartbeat.interval.ms = 250
metrics.listen = 127.0.0.1:$AGENT_METRICS
CONF

metric() { curl -fsS "http://127.0.0.1:$1/metrics" | awk -v name="$2" '$1 ~ "^"name"({|$)" { print $2; exit }'; }
start_target() { "$R" target run --config "$WORK/etc/target.conf" >> target.log 2>&1 & TARGET_PID=$!; wait_for 60 "$R" status; }
start_agent() { "$R" agent run --config "$WORK/etc/agent.conf" >> agent.log 2>&1 & AGENT_PID=$!; }

say "target and agent from the installed launcher; the primary is written and checkpointed"
start_target
write_set primary.img 300 set-a.blocks
start_agent
wait_for 60 "$R" checkpoint --group ops --label initial-sync
CP=$("$R" checkpoint --group ops --label ops-1)
lag_zero() { [ "$("$R" status --json | json_field rpoLagMs)" = 0 ]; }
wait_for 30 lag_zero
"$R" status
DURABLE=$("$R" status --json | json_field durableSeq)
SCRAPED=$(metric "$TARGET_METRICS" replicator_group_durable_seq)
[ "${SCRAPED%.0}" = "$DURABLE" ] || fail "metrics say durable seq $SCRAPED, status says $DURABLE"
echo "checkpoint $CP; durable seq $DURABLE in status and in the target's metrics"
curl -fsS "http://127.0.0.1:$TARGET_METRICS/metrics" | grep -E '^replicator_group_(rpo_lag|durable_seq|primary_connected|backlog_bytes|apply_seconds_count)'

say "the target goes away; the agent journals what it cannot ship and its RPO lag grows"
kill "$TARGET_PID"; wait "$TARGET_PID" 2>/dev/null || true; TARGET_PID=""
write_set primary.img 40 set-b.blocks
agent_lagging() { awk -v l="$(metric "$AGENT_METRICS" replicator_agent_rpo_lag_seconds)" 'BEGIN { exit !(l > 1) }'; }
wait_for 60 agent_lagging
LAG_OUTAGE=$(metric "$AGENT_METRICS" replicator_agent_rpo_lag_seconds)
UNSHIPPED=$(metric "$AGENT_METRICS" replicator_agent_unshipped_bytes)
echo "agent (target down): rpo lag ${LAG_OUTAGE}s, unshipped ${UNSHIPPED} bytes, connected $(metric "$AGENT_METRICS" replicator_agent_connected)"
grep -m1 'unreachable' agent.log || fail "the agent did not log the unreachable target"

say "the target comes back: the agent resumes from the durable seq and the lag returns to 0"
start_target
wait_for 60 lag_zero
"$R" status --watch --count 2 --interval 1
ACKED=$(metric "$AGENT_METRICS" replicator_agent_acked_seq)
DURABLE=$("$R" status --json | json_field durableSeq)
[ "${ACKED%.0}" = "$DURABLE" ] || fail "agent acked $ACKED, target durable $DURABLE"
if grep -q $'^\tat ' agent.log target.log; then fail "a stack trace in the logs of expected trouble"; fi

say "report"
echo "installed=$WORK/opt units_verified=true durable_seq=$DURABLE lag_during_outage_s=$LAG_OUTAGE unshipped_during_outage_bytes=${UNSHIPPED%.0} lag_after_s=0"
echo "demo: OK"
