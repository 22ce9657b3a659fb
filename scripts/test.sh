#!/usr/bin/env bash
# The test suite: unit, property and end-to-end tests (child JVMs on 127.0.0.1). About 5 minutes
# on 2 cores. Long soak/fuzz/benchmark runs are not here: see README ("Longer runs").
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -B verify "$@"
