#!/usr/bin/env bash
# replicator demo: the whole disaster-recovery cycle on this machine, as real processes on 127.0.0.1.
#
#   target + agent start; the primary volume (256 MiB) is written, checkpointed, written again;
#   the target goes away while the agent journals writes it cannot ship; the agent is killed -9
#   (the disaster); the target comes back and the admin fails over to an OLDER checkpoint; the
#   recovery volume is written; the primary returns, is refused (demoted), and failback ships only
#   the reverse delta; both sides are verified byte for byte; forward replication resumes.
#
# Usage: scripts/demo.sh [--scenario NAME] [--keep]   (scenarios: scripts/demo/NAME.sh; default: default)
# Last lines: one line of key=value pairs, then "demo: OK" only if every check passed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LAB_NAME=demo
# shellcheck source=lib/common.sh
source "$ROOT/scripts/lib/common.sh"
R="$ROOT/scripts/replicator"
SCENARIO=default
KEEP=0
while [ $# -gt 0 ]; do
  case "$1" in
    --scenario) SCENARIO="${2:?--scenario needs a name}"; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "demo: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
done
# Each scenario is scripts/demo/NAME.sh, sourced after the helpers below.
SCENARIO_FILE="$ROOT/scripts/demo/$SCENARIO.sh"
if [[ ! "$SCENARIO" =~ ^[a-z0-9-]+$ ]] || [ ! -f "$SCENARIO_FILE" ]; then
  echo "demo: unknown scenario '$SCENARIO' (known: $(cd "$ROOT/scripts/demo" && ls *.sh | sed 's/\.sh$//' | paste -sd' '))" >&2
  exit 2
fi

BLOCK=4096
VOLUME_MIB=256
VOLUME_BLOCKS=$((VOLUME_MIB * 1024 * 1024 / BLOCK))
WORK="$(mktemp -d "${TMPDIR:-/tmp}/replicator-demo.XXXXXX")"
TARGET_PID=""
AGENT_PID=""

cleanup() {
  local code=$?
  [ -n "$AGENT_PID" ] && kill "$AGENT_PID" 2>/dev/null || true
  [ -n "$TARGET_PID" ] && kill "$TARGET_PID" 2>/dev/null || true
  wait 2>/dev/null || true
  if [ $code -ne 0 ]; then
    echo "demo: FAILED (exit $code); logs in $WORK" >&2
    tail -n 20 "$WORK"/*.log >&2 2>/dev/null || true
  elif [ "$KEEP" = 0 ]; then
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT

# Scenarios may run their daemons and admin commands in plaintext (labs only; each start warns). A node
# with certificates configured still uses TLS (configured material wins over this variable): the
# default scenario makes a throwaway CA and runs everything over mutual TLS.
export REPLICATOR_INSECURE=1




# write_run FILE FIRST_BLOCK COUNT KIND LOG: overwrite COUNT blocks; KIND random|text; log block indices.
write_run() {
  local file=$1 first=$2 count=$3 kind=$4 log=$5
  if [ "$kind" = text ]; then
    { yes "replicator demo line $first $RANDOM the quick brown fox jumps over the lazy dog" || true; } |
      head -c $((count * BLOCK)) | dd of="$file" bs=$BLOCK seek="$first" conv=notrunc status=none
  else
    head -c $((count * BLOCK)) /dev/urandom | dd of="$file" bs=$BLOCK seek="$first" conv=notrunc status=none
  fi
  seq "$first" $((first + count - 1)) >> "$log"
}

# write_set FILE RUNS LOG: RUNS runs of 1-16 blocks at random places, half random, half text.
write_set() {
  local file=$1 runs=$2 log=$3 i first count
  : >> "$log"
  for i in $(seq 1 "$runs"); do
    count=$((1 + RANDOM % 16))
    first=$(( (RANDOM * 32768 + RANDOM) % (VOLUME_BLOCKS - count) ))
    if [ $((i % 2)) = 0 ]; then write_run "$file" "$first" "$count" text "$log"; else write_run "$file" "$first" "$count" random "$log"; fi
  done
}

blocks_in() { sort -un "$@" | wc -l; }

source "$SCENARIO_FILE"
