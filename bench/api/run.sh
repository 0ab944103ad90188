#!/usr/bin/env bash
# bench/api: wrk against `opsrun serve` (release build, SQLite) on loopback, and nginx serving
# a 2-byte response with the same wrk command as the ceiling.
#   make build && bench/api/run.sh [seconds]
# Needs wrk and nginx (apt-get install wrk nginx-light). Servers listen on 127.0.0.1 only
# and are stopped at the end.
set -euo pipefail
secs=${1:-10}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=$(mktemp -d /tmp/opsrun-bench-api.XXXXXX)
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
api_port=$(port)
nginx_port=$(port)
export OPSRUN_TOKEN=opsr_bench_token_$(date +%s)
mkdir -p "$work/runbooks"
cp "$here/three-noops.yaml" "$work/runbooks/"
OPSRUN_BOOTSTRAP_TOKEN=$OPSRUN_TOKEN "$root/build/opsrun" serve --listen 127.0.0.1:$api_port \
  --data-dir "$work/data" --runbooks "$work/runbooks" > "$work/serve.out" 2> "$work/serve.err" &
api_pid=$!
cat > "$work/nginx.conf" <<CONF
worker_processes 2;
pid $work/nginx.pid;
error_log $work/nginx.err;
events { worker_connections 1024; }
http {
  access_log off;
  server { listen 127.0.0.1:$nginx_port; location / { return 200 "ok"; } }
}
CONF
nginx -c "$work/nginx.conf" -p "$work"
cleanup() { kill "$api_pid" 2>/dev/null || true; nginx -c "$work/nginx.conf" -p "$work" -s stop 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$api_port/health" > /dev/null && break; sleep 0.1; done
id=$(curl -s -X POST -H "Authorization: Bearer $OPSRUN_TOKEN" -H 'Content-Type: application/json' \
  -d '{"runbookId":"three-noops","async":false}' "http://127.0.0.1:$api_port/api/runbooks/execute" |
  python3 -c 'import sys,json; print(json.load(sys.stdin)["executionId"])')
run() { echo "== $1"; shift; wrk -t2 -c32 -d"${secs}s" --latency "$@" | grep -E "Requests/sec|Latency|99%|Non-2xx|requests in"; }
run "GET /api/executions/{id}" -s "$here/get_execution.lua" "http://127.0.0.1:$api_port/api/executions/$id"
run "POST /api/runbooks/execute (async)" -s "$here/post_execute.lua" "http://127.0.0.1:$api_port/api/runbooks/execute"
run "nginx, static 2-byte response (ceiling)" "http://127.0.0.1:$nginx_port/"
echo "== executions completed after the POST run:"
sleep 2
curl -s -H "Authorization: Bearer $OPSRUN_TOKEN" "http://127.0.0.1:$api_port/api/stats" |
  python3 -c 'import sys,json; r=json.load(sys.stdin)["runbooks"]["three-noops"]; print(r["executions"], "executions,", r["successful"], "completed")'
echo "== opsrun RSS: $(grep VmRSS /proc/$api_pid/status)"
