#!/usr/bin/env bash
# Builds the local images simlab runs, without any image registry:
#   simlab/sandbox:bookworm  default agent sandbox: minimal Debian bookworm made
#                            with debootstrap from the Debian mirror (~70 s)
#   simlab/busybox:test      tiny image for tests, from Debian's busybox-static
# Both run as user `agent` (uid 1000) in /home/agent and idle on
# `sleep infinity`. An image whose tag exists with the current recipe revision
# is reused. infra/sandbox/Dockerfile is the same sandbox for hosts with a
# registry.
# Usage: infra/sandbox-image.sh [--only sandbox|test]
set -euo pipefail
here="$(dirname "${BASH_SOURCE[0]}")"
. "$here/lib.sh"

SANDBOX_IMAGE="${SIMLAB_SANDBOX_IMAGE:-simlab/sandbox:bookworm}"
TEST_IMAGE="${SIMLAB_TEST_IMAGE:-simlab/busybox:test}"
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
# Bump when a recipe below changes, so existing tags get rebuilt.
RECIPE_REV=1

only=""
while [ $# -gt 0 ]; do
  case "$1" in
    --only) only="${2:-}"; shift 2 ;;
    --only=*) only="${1#--only=}"; shift ;;
    *) die "usage: $0 [--only sandbox|test]" ;;
  esac
done
case "$only" in ""|sandbox|test) ;; *) die "--only takes sandbox or test" ;; esac

# The engine must be up; docker.sh prints an export line only when the client
# needs its API version pinned.
# (Assign first: a failing $(...) inside eval would not stop the script.)
docker_env="$(bash "$here/docker.sh")"
eval "$docker_env"

# Settings shared by both images (docker import --change).
common_changes=(
  -c 'USER agent'
  -c 'WORKDIR /home/agent'
  -c 'ENV HOME=/home/agent'
  -c 'CMD ["sleep","infinity"]'
  -c "LABEL simlab.recipe=$RECIPE_REV"
)

image_current() {
  [ "$(docker image inspect -f '{{index .Config.Labels "simlab.recipe"}}' "$1" 2>/dev/null)" = "$RECIPE_REV" ]
}

# Temp build dirs are removed on exit, after undoing any mount debootstrap left.
tmpdirs=()
cleanup() {
  local d
  for d in "${tmpdirs[@]+"${tmpdirs[@]}"}"; do
    awk -v d="$d/" 'index($2, d) == 1 {print $2}' /proc/mounts | sort -r | xargs -r umount -l || true
    rm -rf --one-file-system "$d"
  done
}
trap cleanup EXIT
# Sets $tmp (not echoed: a $(...) subshell would lose the tmpdirs entry).
new_tmpdir() { tmp="$(mktemp -d "${TMPDIR:-/tmp}/simlab-$1.XXXXXX")"; tmpdirs+=("$tmp"); }

build_test_image() {
  need_apt busybox-static
  local tmp root; new_tmpdir busybox; root="$tmp"
  mkdir -p "$root"/{bin,etc,root,tmp,home/agent}
  cp /bin/busybox "$root/bin/busybox"
  # One symlink per applet (sh, sleep, timeout, cat, tar, grep, sed, env, ...).
  local applet
  for applet in $(/bin/busybox --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nagent:x:1000:1000:agent:/home/agent:/bin/sh\n' >"$root/etc/passwd"
  printf 'root:x:0:\nagent:x:1000:\n' >"$root/etc/group"
  chown 1000:1000 "$root/home/agent"
  chmod 1777 "$root/tmp"
  tar --numeric-owner -C "$root" -c . | docker import "${common_changes[@]}" \
    -c 'ENV PATH=/bin' -c 'LABEL simlab.image=test' - "$TEST_IMAGE" >/dev/null
}

build_sandbox_image() {
  need_apt debootstrap debian-archive-keyring
  local tmp root; new_tmpdir rootfs; root="$tmp"
  log "debootstrap bookworm (minbase) from $DEBIAN_MIRROR into $root"
  debootstrap --variant=minbase \
    --include=bash,coreutils,git,python3,ca-certificates,procps,tar,gzip \
    bookworm "$root" "$DEBIAN_MIRROR" >"$SIMLAB_DATA/logs/debootstrap.log" 2>&1 \
    || { tail -n 20 "$SIMLAB_DATA/logs/debootstrap.log" >&2; die "debootstrap failed"; }
  chroot "$root" useradd --create-home --uid 1000 --user-group --shell /bin/bash agent
  # Package caches only make the image bigger; agents can apt-get update.
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/var/log/*.log
  tar --numeric-owner -C "$root" -c . | docker import "${common_changes[@]}" \
    -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    -c 'ENV LANG=C.UTF-8' -c 'LABEL simlab.image=sandbox' - "$SANDBOX_IMAGE" >/dev/null
}

# ensure NAME IMAGE BUILD_FN CHECK_CMD EXPECTED_REGEX: build unless current,
# then run CHECK_CMD in a throwaway container and match its output.
ensure() {
  local name="$1" image="$2" build="$3" check="$4" expect="$5" t0=$SECONDS out
  if image_current "$image"; then
    log "$image already built"
  else
    log "building $image"
    "$build"
    log "built $image in $((SECONDS - t0))s"
  fi
  out="$(docker run --rm --network none "$image" sh -c "$check" 2>&1)" \
    || die "$name image check failed: $out"
  [[ "$out" =~ $expect ]] || die "$name image check: unexpected output: $out"
  log "$image ok: $(echo "$out" | tr '\n' ' ')"
}

if [ "$only" != sandbox ]; then
  ensure test "$TEST_IMAGE" build_test_image 'id; sleep 0; timeout 1 true' 'uid=1000\(agent\)'
fi
if [ "$only" != test ]; then
  ensure sandbox "$SANDBOX_IMAGE" build_sandbox_image 'id; git --version; python3 --version' \
    'uid=1000\(agent\).*git version.*Python 3'
fi
