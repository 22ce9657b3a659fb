#!/usr/bin/env bash
# Runs the JMH benchmarks (benchmarks/target/benchmarks.jar), building the jar if it is missing.
#
#   scripts/jmh.sh                         all benchmarks, short settings for a shared 2-core machine
#   scripts/jmh.sh BlockCodec -p data=TEXT any JMH arguments instead (scripts/jmh.sh -h lists them)
#   JMH_REBUILD=1 scripts/jmh.sh ...       rebuild the jar first (it is not rebuilt when code changes)
#
# Every forked benchmark JVM gets the root pom's replicator.jvm.flags (Chronicle Queue and Agrona
# need them on JDK 17). The build filters that property into the jar as META-INF/replicator/jvm.flags;
# this script reads it back and hands each flag to JMH as its own -jvmArgsPrepend, so -jvmArgs and
# -jvmArgsAppend stay free for you. (JMH splits a -jvmArgsPrepend on spaces only when it is given
# once; if you add your own -jvmArgsPrepend, give one flag per option.) The harness JVM itself gets
# the flags only with -f 0, when the benchmarks run inside it: forks inherit the harness's JVM flags,
# so giving them to both would pass every flag twice.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
jar="$root/benchmarks/target/benchmarks.jar"
flags_entry="META-INF/replicator/jvm.flags"
java="${JAVA_HOME:+$JAVA_HOME/bin/}java"

if [[ ! -f "$jar" || "${JMH_REBUILD:-0}" == 1 ]]; then
  (cd "$root" && mvn -B -q -pl benchmarks -am package -DskipTests)
fi

read_jar_entry() {
  if command -v unzip >/dev/null; then
    unzip -p "$jar" "$flags_entry"
  else
    local tmp
    tmp="$(mktemp -d)"
    (cd "$tmp" && jar xf "$jar" "$flags_entry" && cat "$flags_entry")
    rm -rf "$tmp"
  fi
}

flags_text="$(read_jar_entry)" || { echo "jmh.sh: cannot read $flags_entry from $jar; rebuild with JMH_REBUILD=1" >&2; exit 1; }
if [[ -z "${flags_text//[[:space:]]/}" || "$flags_text" == *'${'* ]]; then
  echo "jmh.sh: $flags_entry in $jar is empty or unfiltered; rebuild with JMH_REBUILD=1" >&2
  exit 1
fi
# One line of space-separated flags; none contains a space.
read -r -a flags <<< "$flags_text"

fork_args=()
for flag in "${flags[@]}"; do
  fork_args+=(-jvmArgsPrepend "$flag")
done

if [[ $# -eq 0 ]]; then
  # ~6 s per benchmark: enough to see the shape and compare cases, not for publishing numbers.
  set -- -f 1 -wi 2 -i 3 -w 1s -r 1s
fi

# -f 0 runs the benchmarks inside this JVM: the flags go to it instead of to forks.
host_flags=()
previous=""
for arg in "$@"; do
  if [[ "$previous" == "-f" && "$arg" == "0" ]]; then
    host_flags=("${flags[@]}")
    fork_args=()
  fi
  previous="$arg"
done

exec "$java" ${host_flags[@]+"${host_flags[@]}"} -jar "$jar" ${fork_args[@]+"${fork_args[@]}"} "$@"
