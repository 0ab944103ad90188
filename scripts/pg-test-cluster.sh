#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests, on a free loopback port.
#   eval "$(scripts/pg-test-cluster.sh start)"   # exports OPSRUN_TEST_PG_URL, OPSRUN_TEST_PG_DIR
#   scripts/pg-test-cluster.sh stop "$OPSRUN_TEST_PG_DIR"
# Progress goes to stderr; only the export lines go to stdout.
set -euo pipefail

pg_bin() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    [[ -x "$d/initdb" ]] && { echo "$d"; return; }
  done
  return 1
}

as_owner() {
  # initdb refuses to run as root: run the server as the `postgres` user when we are root.
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

start() {
  local bin dir port
  bin=$(pg_bin) || { echo "pg-test-cluster: PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 1; }
  dir=$(mktemp -d /tmp/opsrun-pg.XXXXXX)
  chmod 755 "$dir"
  [[ $(id -u) -eq 0 ]] && chown postgres:postgres "$dir"
  as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --no-instructions >&2
  port=$(free_port)
  cat >> "$dir/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
fsync = on
max_connections = 200
shared_buffers = 64MB
CONF
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >&2
  as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres opsrun_test >&2
  echo "export OPSRUN_TEST_PG_URL=postgres://postgres@127.0.0.1:$port/opsrun_test"
  echo "export OPSRUN_TEST_PG_DIR=$dir"
}

stop() {
  local dir=${1:?usage: pg-test-cluster.sh stop DIR} bin
  bin=$(pg_bin) || exit 0
  if [[ -d "$dir/data" ]]; then
    as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >&2 || true
  fi
  rm -rf "$dir"
}

case "${1:-}" in
  start) start ;;
  stop) stop "${2:-}" ;;
  *) echo "usage: $0 start | stop DIR" >&2; exit 2 ;;
esac
