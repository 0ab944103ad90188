#!/usr/bin/env bash
# `make demo`: starts `opsrun serve` on 127.0.0.1:8080 with the embedded SQLite store
# (./opsrun-data) and the shipped runbooks, with a fresh admin token for this session.
set -euo pipefail
bin=./build/opsrun
listen=${OPSRUN_LISTEN:-127.0.0.1:8080}
token=${OPSRUN_BOOTSTRAP_TOKEN:-$("$bin" token new --role admin | sed -n 's/^token: //p')}
export OPSRUN_BOOTSTRAP_TOKEN=$token
cat <<TXT
opsrun demo
  URL:   http://$listen
  token: $token   (admin; exported as OPSRUN_BOOTSTRAP_TOKEN for this server only)

Try, in another terminal:
  export OPSRUN_SERVER=http://$listen OPSRUN_TOKEN=$token
  build/opsrun exec high-memory-usage --wait
  build/opsrun exec ai-service-recovery --dry-run --async && build/opsrun list
  curl -s -H "Authorization: Bearer \$OPSRUN_TOKEN" http://$listen/api/stats

Stop with Ctrl-C (running executions resume on the next start).
TXT
exec "$bin" serve --listen "$listen"
