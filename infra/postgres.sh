#!/usr/bin/env bash
# Ensures a local PostgreSQL (Debian's, v15 on bookworm) with role simlab
# (password simlab) and databases simlab, simlab_test and the one named as $1,
# all owned by simlab. Prints the URL of that database (default simlab_test):
#   postgresql://simlab:simlab@127.0.0.1:5432/simlab_test
# The role is SUPERUSER: Prisma migrate creates shadow databases, and tests
# create and drop their own. The server listens on localhost only.
# Env: SIMLAB_PG_PORT (5432), SIMLAB_PG_CLUSTER (main).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DB="${1:-simlab_test}"
[[ "$DB" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || die "bad database name: $DB"
PORT="${SIMLAB_PG_PORT:-5432}"
CLUSTER="${SIMLAB_PG_CLUSTER:-main}"
DBS=(simlab simlab_test)
[[ " ${DBS[*]} " == *" $DB "* ]] || DBS+=("$DB")
URL="postgresql://simlab:simlab@127.0.0.1:$PORT/$DB"

# Fast path: simlab can log in over TCP and every database exists.
ready() {
  command -v psql >/dev/null || return 1
  local want; want="$(printf "'%s'," "${DBS[@]}")"
  [ "$(PGPASSWORD=simlab PGCONNECT_TIMEOUT=3 psql -h 127.0.0.1 -p "$PORT" -U simlab -d "$DB" -XtAc \
        "select count(distinct datname) from pg_database where datname in (${want%,})" 2>/dev/null)" \
    = "${#DBS[@]}" ]
}

if ready; then
  log "postgres ready at 127.0.0.1:$PORT"
  echo "$URL"
  exit 0
fi

# Installing creates and starts cluster 15/main where an init system allows.
command -v pg_ctlcluster >/dev/null && ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 \
  || need_apt postgresql
VERSION="$(ls /usr/lib/postgresql | sort -V | tail -n 1)"

if ! pg_lsclusters -h | awk -v v="$VERSION" -v c="$CLUSTER" '$1==v && $2==c {f=1} END {exit !f}'; then
  log "creating cluster $VERSION/$CLUSTER on port $PORT"
  pg_createcluster "$VERSION" "$CLUSTER" --port "$PORT" >>"$SIMLAB_DATA/logs/postgres-setup.log" 2>&1
fi
status="$(pg_lsclusters -h | awk -v v="$VERSION" -v c="$CLUSTER" '$1==v && $2==c {print $4}')"
if [ "$status" != online ]; then
  log "starting cluster $VERSION/$CLUSTER"
  # No systemd here: pg_ctlcluster starts the server daemonized by itself.
  pg_ctlcluster "$VERSION" "$CLUSTER" start >&2
fi
wait_for 30 "postgres on port $PORT" pg_isready -q -h 127.0.0.1 -p "$PORT"

# Role and databases, created only when missing (\gexec runs the generated
# CREATE DATABASE statements, which cannot run inside a DO block).
log "ensuring role simlab and databases ${DBS[*]}"
{
  cat <<'SQL'
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'simlab') THEN
    CREATE ROLE simlab LOGIN SUPERUSER PASSWORD 'simlab';
  ELSE
    ALTER ROLE simlab LOGIN SUPERUSER PASSWORD 'simlab';
  END IF;
END $$;
SQL
  for d in "${DBS[@]}"; do
    echo "SELECT 'CREATE DATABASE $d OWNER simlab' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$d')\\gexec"
  done
} | (cd / && runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -p "$PORT" -d postgres) >&2

ready || die "postgres is up but simlab cannot connect to $DB over TCP (check pg_hba.conf)"
log "postgres ready at 127.0.0.1:$PORT"
echo "$URL"
