#!/usr/bin/env bash
# Runs ctest in the given build directory, with a throwaway PostgreSQL cluster on a free
# loopback port for the store tests (OPSRUN_TEST_PG_URL), stopped on exit.
set -euo pipefail
build_dir=${1:-build-test}
here=$(cd "$(dirname "$0")" && pwd)
if [[ -x "$here/pg-test-cluster.sh" ]]; then
  eval "$("$here/pg-test-cluster.sh" start)"
  trap '"$here/pg-test-cluster.sh" stop "$OPSRUN_TEST_PG_DIR"' EXIT
fi
ctest --test-dir "$build_dir" --output-on-failure -j "$(nproc)" --timeout 300
