#!/usr/bin/env bash
# `make demo`: runs the shipped runbooks with the embedded SQLite store in ./opsrun-data.
# (Replaced by `opsrun serve` once the HTTP API lands.)
set -euo pipefail
bin=./build/opsrun
echo "== validating the shipped runbooks"
"$bin" validate runbooks/
for rb in ai-service-recovery database-performance high-memory-usage; do
  echo
  echo "== $rb (dry run: checks and decisions run, actions only say what they would do)"
  "$bin" run "$rb" --dry-run || true
done
echo
echo "== stored executions (./opsrun-data/opsrun.db)"
"$bin" executions list --limit 5
cat <<'TXT'

Try next:
  build/opsrun run runbooks/high-memory-usage.yaml --ctx memoryThreshold=0.01 --dry-run
  build/opsrun run ai-service-recovery --simulate-failure health-check --dry-run
  build/opsrun executions show <execution id from the list above>
TXT
