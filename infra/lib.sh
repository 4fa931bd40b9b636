# Shared helpers for the infra/*.sh scripts. Source it, don't run it:
#   . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# Scripts run on fresh machines (CI, new VMs) and on ones where things already
# run, so every helper checks before it acts.

# Repo root = parent of infra/, wherever the caller's cwd is.
SIMLAB_ROOT="${SIMLAB_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
# Runtime state (logs, pid files, sqlite dbs) lives here; .data/ is gitignored.
SIMLAB_DATA="${SIMLAB_DATA:-$SIMLAB_ROOT/.data}"
export SIMLAB_ROOT SIMLAB_DATA
mkdir -p "$SIMLAB_DATA/logs" "$SIMLAB_DATA/run"

# Progress goes to stderr so stdout stays clean for values callers capture.
log() { printf '[infra] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# need_apt PKG... installs the Debian packages that are missing. The package
# index is refreshed once, when something must install and the lists are not
# already fresh (< 6 h; the flag is exported so child scripts skip it too).
need_apt() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  [ "$(id -u)" -eq 0 ] || die "need root to install: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if [ -z "${SIMLAB_APT_UPDATED:-}" ] &&
     [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -mmin -360 2>/dev/null | head -n 1)" ]; then
    log "apt-get update"
    apt-get update -qq >>"$SIMLAB_DATA/logs/apt.log" 2>&1 || { tail -n 20 "$SIMLAB_DATA/logs/apt.log" >&2; die "apt-get update failed"; }
  fi
  export SIMLAB_APT_UPDATED=1
  log "apt-get install ${missing[*]} (log: $SIMLAB_DATA/logs/apt.log)"
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >>"$SIMLAB_DATA/logs/apt.log" 2>&1 \
    || { tail -n 20 "$SIMLAB_DATA/logs/apt.log" >&2; die "apt-get install ${missing[*]} failed"; }
}

# wait_for TIMEOUT_SECONDS DESCRIPTION CMD... polls CMD (quietly) every
# half second until it succeeds; fails after the timeout.
wait_for() {
  local timeout="$1" what="$2"; shift 2
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || { log "timed out after ${timeout}s waiting for $what"; return 1; }
    sleep 0.5
  done
}

# pid_alive FILE: true when FILE holds the pid of a running process.
pid_alive() {
  local pid
  [ -s "$1" ] && pid="$(cat "$1")" && [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}
