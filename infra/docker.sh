#!/usr/bin/env bash
# Ensures a working Docker engine on this machine.
#   - reuses a daemon that already answers `docker info`;
#   - otherwise installs Debian's docker.io (if dockerd is missing) and starts
#     dockerd directly: these VMs/CI hosts have no systemd to do it for us;
#   - finally proves a container can run, using a one-file busybox image built
#     locally (no image registry is reachable here).
# Client/server API: Debian's engine is 20.10 (API 1.41) while a newer client
# (e.g. /usr/local/bin/docker v28, API 1.50) may come first on PATH. Clients
# since 1.13 negotiate down, so nothing needs exporting; if a client refuses
# ("client version X is too new"), we print `export DOCKER_API_VERSION=...` on
# stdout for callers to eval. dockerode uses unversioned paths and is unaffected.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SMOKE_IMAGE=simlab/smoke:busybox

# docker_ready: `docker info` works. When the client is too new for the
# server, pin the API version to the server's maximum and try again.
docker_ready() {
  local err
  command -v docker >/dev/null || return 1
  err="$(docker info 2>&1 >/dev/null)" && return 0
  if [[ "$err" =~ Maximum\ supported\ API\ version\ is\ ([0-9.]+) ]]; then
    export DOCKER_API_VERSION="${BASH_REMATCH[1]}"
    API_PINNED=1
    docker info >/dev/null 2>&1 && return 0
  fi
  return 1
}

# The machine's own engine, by its default pidfile: another dockerd (the chaos bench's
# private one, on its own socket) must not pass for it.
DOCKERD_PIDFILE=/var/run/docker.pid
machine_dockerd() { [ -s "$DOCKERD_PIDFILE" ] && kill -0 "$(cat "$DOCKERD_PIDFILE")" 2>/dev/null; }

start_dockerd() {
  local dpid=""
  if ! command -v dockerd >/dev/null; then
    need_apt docker.io
  fi
  # docker.io brings a client too; make sure some `docker` exists.
  command -v docker >/dev/null || need_apt docker.io
  if machine_dockerd; then
    log "dockerd is running but not answering yet; waiting for it"
  else
    log "starting dockerd (log: $SIMLAB_DATA/logs/dockerd.log)"
    # setsid+nohup: the daemon must outlive this script and its session.
    setsid nohup dockerd >>"$SIMLAB_DATA/logs/dockerd.log" 2>&1 </dev/null &
    dpid=$!
  fi
  # Stop waiting early if dockerd died (see its log).
  # ($! rather than pgrep: the child may not have exec'd dockerd yet.)
  dockerd_alive() { if [ -n "${dpid:-}" ]; then kill -0 "$dpid"; else machine_dockerd; fi; }
  ready_or_gone() { docker_ready || ! dockerd_alive >/dev/null 2>&1; }
  wait_for 60 "docker daemon" ready_or_gone || true
  docker_ready || {
    tail -n 20 "$SIMLAB_DATA/logs/dockerd.log" >&2 || true
    die "dockerd did not come up"
  }
}

# A tiny local image to prove `docker run` works end to end (runc, cgroups,
# overlayfs). Built once from Debian's busybox-static, reused afterwards.
ensure_smoke_image() {
  docker image inspect "$SMOKE_IMAGE" >/dev/null 2>&1 && return 0
  need_apt busybox-static
  local dir; dir="$(mktemp -d)"
  mkdir -p "$dir/bin"
  cp /bin/busybox "$dir/bin/busybox"
  tar -C "$dir" -c . | docker import -c 'CMD ["/bin/busybox","true"]' \
    -c 'LABEL simlab.image=smoke' - "$SMOKE_IMAGE" >/dev/null
  rm -rf "$dir"
  log "built $SMOKE_IMAGE"
}

API_PINNED=0
if docker_ready; then
  log "docker engine already running"
else
  start_dockerd
fi

ensure_smoke_image
# What a worker on this Docker host uses beside the engine: git clones init files, and
# mkfs.ext4 + mount (loop devices) give sandboxes their disk quotas.
need_apt git e2fsprogs mount
docker run --rm --network none "$SMOKE_IMAGE" /bin/busybox true \
  || die "docker run --rm $SMOKE_IMAGE failed"

log "docker ok: client API $(docker version --format '{{.Client.APIVersion}}'), server $(docker version --format '{{.Server.Version}} (API {{.Server.APIVersion}})')"
if [ "$API_PINNED" = 1 ]; then
  log "this docker client needs DOCKER_API_VERSION=$DOCKER_API_VERSION; eval this script's stdout"
  echo "export DOCKER_API_VERSION=$DOCKER_API_VERSION"
fi
