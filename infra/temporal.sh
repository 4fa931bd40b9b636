#!/usr/bin/env bash
# Ensures a Temporal dev server (the `temporal` CLI's start-dev, SQLite-backed
# under $SIMLAB_DATA) answers on $TEMPORAL_ADDRESS, with simlab's search
# attributes registered. Prints the address on stdout.
#   --print-binary  only make sure the CLI exists and print its path (for
#                   @temporalio/testing's existing-path executable); no server.
# The CLI comes from $TEMPORAL_CLI, PATH or GOPATH/bin, else is built with
# `go install` from the Go module proxy (~5 min on 2 cores). v1.5.1 is pinned:
# later tags carry a `replace` directive that `go install` refuses.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TEMPORAL_ADDRESS="${TEMPORAL_ADDRESS:-127.0.0.1:7233}"
TEMPORAL_UI_PORT="${TEMPORAL_UI_PORT:-8233}"
TEMPORAL_NAMESPACE="${TEMPORAL_NAMESPACE:-default}"
TEMPORAL_CLI_VERSION=v1.5.1
SEARCH_ATTRIBUTES=(SimlabOrganization SimlabProduct SimlabTask SimlabEnvironment SimlabIteration SimlabRunStatus)
PID_FILE="$SIMLAB_DATA/run/temporal.pid"
LOG_FILE="$SIMLAB_DATA/logs/temporal.log"

print_binary=0
case "${1:-}" in
  "") ;;
  --print-binary) print_binary=1 ;;
  *) die "usage: $0 [--print-binary]" ;;
esac

gobin() {
  if command -v go >/dev/null; then
    local b; b="$(go env GOBIN)"; echo "${b:-$(go env GOPATH)/bin}"
  else
    echo "$HOME/go/bin"
  fi
}

find_cli() {
  local c
  for c in "${TEMPORAL_CLI:-}" "$(command -v temporal || true)" "$(gobin)/temporal"; do
    [ -n "$c" ] && [ -x "$c" ] && { echo "$c"; return 0; }
  done
  return 1
}

ensure_cli() {
  find_cli && return 0
  # A build may already be under way (another script, or a person): wait for
  # it rather than compiling the same thing twice on two cores.
  # "instal[l]": the pattern must not match the waiting shell's own cmdline.
  if pgrep -f "go instal[l].*temporalio/cli" >/dev/null; then
    log "a go install of the temporal CLI is already running; waiting for it"
    wait_for 1200 "the running temporal CLI build" bash -c '! pgrep -f "go instal[l].*temporalio/cli"' || true
    find_cli && return 0
  fi
  command -v go >/dev/null || die "no temporal CLI and no Go toolchain to build it (set TEMPORAL_CLI)"
  log "building temporal CLI $TEMPORAL_CLI_VERSION with go install (~5 min; log: $SIMLAB_DATA/logs/temporal-build.log)"
  local t0=$SECONDS
  # flock serialises concurrent runs of this script.
  flock "$SIMLAB_DATA/run/temporal-build.lock" bash -c \
    '[ -x "$1" ] || go install "github.com/temporalio/cli/cmd/temporal@$2"' \
    _ "$(gobin)/temporal" "$TEMPORAL_CLI_VERSION" >>"$SIMLAB_DATA/logs/temporal-build.log" 2>&1 \
    || { tail -n 20 "$SIMLAB_DATA/logs/temporal-build.log" >&2; die "go install failed"; }
  log "built temporal CLI in $((SECONDS - t0))s"
  find_cli
}

CLI="$(ensure_cli)"
if [ "$print_binary" = 1 ]; then
  echo "$CLI"
  exit 0
fi

healthy() {
  "$CLI" operator cluster health --address "$TEMPORAL_ADDRESS" --command-timeout 3s 2>/dev/null | grep -q SERVING
}

if healthy; then
  log "temporal already serving on $TEMPORAL_ADDRESS"
else
  if pid_alive "$PID_FILE"; then
    log "temporal (pid $(cat "$PID_FILE")) is starting; waiting for it"
  else
    host="${TEMPORAL_ADDRESS%:*}" port="${TEMPORAL_ADDRESS##*:}"
    sa_flags=()
    for a in "${SEARCH_ATTRIBUTES[@]}"; do sa_flags+=(--search-attribute "$a=Keyword"); done
    log "starting temporal dev server on $TEMPORAL_ADDRESS, UI :$TEMPORAL_UI_PORT (log: $LOG_FILE)"
    # setsid+nohup: the server outlives this script; down.sh stops it by pid.
    setsid nohup "$CLI" server start-dev --db-filename "$SIMLAB_DATA/temporal.db" \
      --ip "$host" --port "$port" --ui-port "$TEMPORAL_UI_PORT" \
      --namespace "$TEMPORAL_NAMESPACE" --log-level warn "${sa_flags[@]}" \
      >>"$LOG_FILE" 2>&1 </dev/null &
    echo $! >"$PID_FILE"
  fi
  t0=$SECONDS
  # Stop waiting early if the server died (e.g. a port already taken).
  healthy_or_gone() { healthy || ! pid_alive "$PID_FILE"; }
  wait_for 90 "temporal on $TEMPORAL_ADDRESS" healthy_or_gone || true
  healthy || { tail -n 20 "$LOG_FILE" >&2; die "temporal did not come up"; }
  log "temporal serving after $((SECONDS - t0))s"
fi

# A server started elsewhere (or from an older db) may lack some attributes.
existing="$("$CLI" operator search-attribute list --address "$TEMPORAL_ADDRESS" --namespace "$TEMPORAL_NAMESPACE" -o json --command-timeout 5s)"
# One create per name: CLI v1.5.1 registers only the first of several --name.
for a in "${SEARCH_ATTRIBUTES[@]}"; do
  grep -q "\"$a\"" <<<"$existing" && continue
  log "registering search attribute $a (Keyword)"
  "$CLI" operator search-attribute create --address "$TEMPORAL_ADDRESS" --namespace "$TEMPORAL_NAMESPACE" \
    --name "$a" --type Keyword --command-timeout 10s >/dev/null
done
echo "$TEMPORAL_ADDRESS"
