#!/bin/sh
# The drain hooks of the azure-drain-* runbooks (docs/azure-events.md). One hook per call:
#   azure-drain.sh stop-services PIDFILE GRACE_SECONDS  SIGTERM, then SIGKILL after the grace
#   azure-drain.sh flush-cache DIR                      empties DIR (nothing when DIR is "")
#   azure-drain.sh db-sync COMMAND                      sync(1), then COMMAND through sh when set
#   azure-drain.sh save-state DIR EVENT_ID TYPE VM      writes DIR/EVENT_ID.json
# An empty setting means "not configured here": the hook says so and succeeds.
set -u

stop_services() {
  pidfile=$1 grace=$2
  if [ -z "$pidfile" ]; then echo "no services configured (services_pidfile is empty)"; return 0; fi
  if [ ! -r "$pidfile" ]; then echo "pid file $pidfile cannot be read" >&2; return 1; fi
  pids=$(cat "$pidfile")
  for p in $pids; do kill -TERM "$p" 2>/dev/null && echo "SIGTERM sent to $p"; done
  ticks=$((grace * 10))
  while [ "$ticks" -gt 0 ]; do
    alive=""
    for p in $pids; do kill -0 "$p" 2>/dev/null && alive="$alive $p"; done
    if [ -z "$alive" ]; then echo "Applications gracefully stopped"; return 0; fi
    sleep 0.1
    ticks=$((ticks - 1))
  done
  for p in $alive; do kill -KILL "$p" 2>/dev/null && echo "SIGKILL sent to $p after ${grace}s"; done
  echo "Applications stopped (forced after ${grace}s)"
}

flush_cache() {
  dir=$1
  if [ -z "$dir" ]; then echo "no cache configured (cache_dir is empty)"; return 0; fi
  if [ ! -d "$dir" ]; then echo "cache directory $dir does not exist" >&2; return 1; fi
  find "$dir" -mindepth 1 -delete && echo "Caches flushed"
}

db_sync() {
  sync
  if [ -z "$1" ]; then echo "file systems synced (no db_sync_command configured)"; return 0; fi
  sh -c "$1" && echo "Database synchronized"
}

save_state() {
  dir=$1 id=$2 type=$3 vm=$4
  if [ -z "$dir" ]; then echo "no state directory configured (state_dir is empty)"; return 0; fi
  mkdir -p "$dir" || return 1
  printf '{"event_id":"%s","event_type":"%s","vm":"%s","saved_at":"%s"}\n' "$id" "$type" "$vm" \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$dir/$id.json" && echo "State saved to $dir/$id.json"
}

hook=${1:-}
[ $# -gt 0 ] && shift
case "$hook" in
  stop-services) stop_services "${1:-}" "${2:-30}" ;;
  flush-cache) flush_cache "${1:-}" ;;
  db-sync) db_sync "${1:-}" ;;
  save-state) save_state "${1:-}" "${2:-}" "${3:-}" "${4:-}" ;;
  *) echo "usage: azure-drain.sh stop-services|flush-cache|db-sync|save-state ARGS" >&2; exit 2 ;;
esac
