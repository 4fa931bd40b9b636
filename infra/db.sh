#!/usr/bin/env bash
# Ensures simlab's database and prints its URL on stdout. With DATABASE_URL set,
# that server is used as it is. Without it, the embedded default: PGlite, file-backed
# under $SIMLAB_DATA/pglite, served on the Postgres wire protocol so every process
# (API, worker, migrations) takes the same @prisma/adapter-pg path.
# Then applies the migrations with the stock Prisma CLI (offline schema engine).
#   --reset   drop everything and reapply (tests want a clean database)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$SIMLAB_ROOT"

reset=0
[ "${1:-}" = "--reset" ] && reset=1

if [ -z "${DATABASE_URL:-}" ]; then
  port="${SIMLAB_PGLITE_PORT:-55432}"
  pid_file="$SIMLAB_DATA/run/pglite.pid"
  DATABASE_URL="postgresql://postgres:postgres@127.0.0.1:$port/postgres"
  if ! pid_alive "$pid_file"; then
    log "starting the embedded database (PGlite on 127.0.0.1:$port, data $SIMLAB_DATA/pglite)"
    SIMLAB_PGLITE_PORT="$port" nohup node infra/pglite-server.mjs "$SIMLAB_DATA/pglite" \
      >>"$SIMLAB_DATA/logs/pglite.log" 2>&1 &
    echo $! > "$pid_file"
    wait_for 60 "the embedded database" bash -c "grep -q '^ready' '$SIMLAB_DATA/logs/pglite.log' && (exec 3<>/dev/tcp/127.0.0.1/$port)" \
      || { tail -n 20 "$SIMLAB_DATA/logs/pglite.log" >&2; die "the embedded database did not start"; }
  fi
fi
export DATABASE_URL

. infra/schema-engine/env.sh
if [ "$reset" = 1 ]; then
  log "prisma migrate reset"
  node_modules/.bin/prisma migrate reset --force >>"$SIMLAB_DATA/logs/prisma.log" 2>&1 || { tail -n 30 "$SIMLAB_DATA/logs/prisma.log" >&2; die "migrate reset failed"; }
else
  log "prisma migrate deploy"
  node_modules/.bin/prisma migrate deploy >>"$SIMLAB_DATA/logs/prisma.log" 2>&1 || { tail -n 30 "$SIMLAB_DATA/logs/prisma.log" >&2; die "migrate deploy failed"; }
fi
echo "$DATABASE_URL"
