#!/usr/bin/env bash
# Ensures the Node side is ready: npm dependencies as locked, the Prisma client
# generated offline, and the TypeScript compiled to dist/. Each step is skipped
# when its inputs have not changed since it last ran.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$SIMLAB_ROOT"

command -v node >/dev/null || die "Node.js >= 20 with npm is required (Debian bookworm's own nodejs is 18): install it first"
major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$major" -ge 20 ] || die "Node >= 20 is required (found $(node --version))"

stamp() { sha256sum "$@" 2>/dev/null | sha256sum | cut -c1-16; }

# Dependencies: reinstalled only when the lock file changes. `npm install` with the
# lock file rather than `npm ci`: the registry here lacks some of @swc/core's
# other-platform optional packages, which `npm ci` insists on finding in the lock.
# Install scripts stay denied (package.json allowScripts): none is needed, and
# @prisma/engines' would try to download a native engine.
deps_stamp="$(stamp package.json package-lock.json)"
if [ ! -d node_modules ] || [ "$(cat node_modules/.simlab-stamp 2>/dev/null)" != "$deps_stamp" ]; then
  log "npm install (log: $SIMLAB_DATA/logs/npm.log)"
  npm install --no-audit --no-fund >>"$SIMLAB_DATA/logs/npm.log" 2>&1 || { tail -n 30 "$SIMLAB_DATA/logs/npm.log" >&2; die "npm install failed"; }
  echo "$deps_stamp" > node_modules/.simlab-stamp
fi

# The Prisma client, generated with the offline schema engine (infra/schema-engine).
. infra/schema-engine/env.sh
gen_stamp="$(stamp prisma/schema.prisma package-lock.json)"
if [ ! -f prisma/generated/client.ts ] || [ "$(cat prisma/generated/.simlab-stamp 2>/dev/null)" != "$gen_stamp" ]; then
  log "prisma generate"
  node_modules/.bin/prisma generate >>"$SIMLAB_DATA/logs/prisma.log" 2>&1 || { tail -n 30 "$SIMLAB_DATA/logs/prisma.log" >&2; die "prisma generate failed"; }
  echo "$gen_stamp" > prisma/generated/.simlab-stamp
fi

log "tsc (build to dist/)"
node_modules/.bin/tsc -p tsconfig.json || die "TypeScript build failed"
# The workflows bundled once with the build, not by every worker at start-up.
node dist/workers/bundleWorkflows.js || die "bundling the workflows failed"
