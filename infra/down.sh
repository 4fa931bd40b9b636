#!/usr/bin/env bash
# Stops what simlab started in the background: every process recorded in
# $SIMLAB_DATA/run/*.pid (temporal dev server, api, worker, pglite server).
# Docker and PostgreSQL are shared system services and stay up.
# Idempotent: stale or missing pid files are just cleaned up.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

stop_pidfile() {
  local file="$1" name pid
  name="$(basename "$file" .pid)"
  if ! pid_alive "$file"; then
    rm -f "$file"
    return 0
  fi
  pid="$(cat "$file")"
  log "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  # Give it time to flush (temporal's sqlite db); then force.
  if ! wait_for 15 "$name to exit" bash -c "! kill -0 $pid"; then
    log "$name ignored SIGTERM; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$file"
}

shopt -s nullglob
files=("$SIMLAB_DATA"/run/*.pid)
[ "${#files[@]}" -gt 0 ] || { log "nothing to stop"; exit 0; }
for f in "${files[@]}"; do stop_pidfile "$f"; done
