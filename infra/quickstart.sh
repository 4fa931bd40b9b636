#!/usr/bin/env bash
# `npm start`: brings simlab up on the embedded defaults — Temporal dev server,
# Docker engine with the sandbox image, the embedded database (PGlite) unless
# DATABASE_URL names a server, the API and a worker — then runs the sample task of
# examples/ end to end and prints the run: score, verdict, Temporal UI link.
# Everything keeps running afterwards; `bash infra/down.sh` stops it.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$SIMLAB_ROOT"

bash infra/node.sh
node dashboard/build.mjs
bash infra/docker.sh
bash infra/sandbox-image.sh --only sandbox
export TEMPORAL_ADDRESS
TEMPORAL_ADDRESS="$(bash infra/temporal.sh)"
export DATABASE_URL
DATABASE_URL="$(bash infra/db.sh)"
export SIMLAB_API_PORT="${SIMLAB_API_PORT:-8080}"

# (Re)start the API and the worker so they run the code just built.
start() {
  local name="$1" pid_file="$SIMLAB_DATA/run/$1.pid"
  shift
  if pid_alive "$pid_file"; then
    kill -TERM "$(cat "$pid_file")" 2>/dev/null || true
    wait_for 30 "$name to stop" bash -c "! kill -0 $(cat "$pid_file") 2>/dev/null" || kill -KILL "$(cat "$pid_file")" 2>/dev/null || true
  fi
  log "starting $name (log: $SIMLAB_DATA/logs/$name.log)"
  # A fresh log each start: readiness is read from it, and an old 'ready' must not count.
  nohup "$@" >"$SIMLAB_DATA/logs/$name.log" 2>&1 &
  echo $! > "$pid_file"
}
start worker bin/simlab-worker
start api node dist/api/server.js
wait_for 60 "the API" bash -c "exec 3<>/dev/tcp/127.0.0.1/$SIMLAB_API_PORT" \
  || { tail -n 20 "$SIMLAB_DATA/logs/api.log" >&2; die "the API did not start"; }
wait_for 60 "the worker" grep -q 'ready' "$SIMLAB_DATA/logs/worker.log" \
  || { tail -n 20 "$SIMLAB_DATA/logs/worker.log" >&2; die "the worker did not start"; }

# The local organization, product and API key; the key goes to the CLI's config file.
node dist/api/bootstrap.js

simlab() { node bin/simlab "$@"; }
json_field() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const v=JSON.parse(s);console.log(eval("v"+process.argv[1]))})' "$1"; }

# The sample environment and task, created once and reused.
env_id="$(simlab env list --format json | json_field '.find(e=>e.name==="scripted-agent")?.id ?? ""')"
[ -n "$env_id" ] || env_id="$(simlab env create --file examples/environment.json --format json | json_field .id)"
task_id="$(simlab task list --search 'FizzBuzz in Python' --format json | json_field '[0]?.id ?? ""')"
[ -n "$task_id" ] || task_id="$(simlab task create --file examples/task.json --format json | json_field .id)"

log "running task $task_id on environment $env_id"
set +e
simlab task run "$task_id" --environment-id "$env_id" --watch
set -e
run_id="$(simlab run list --task-id "$task_id" --format json | json_field '.items[0].id')"
echo
simlab run get "$run_id"
echo
echo "simlab is running: API http://127.0.0.1:$SIMLAB_API_PORT, Temporal UI http://127.0.0.1:${TEMPORAL_UI_PORT:-8233}"
# The key bootstrap saved for the CLI (readable by its owner only) is also the dashboard's sign-in.
echo "Dashboard: http://127.0.0.1:$SIMLAB_API_PORT/runs/$run_id  (sign in with the API key $(node -p 'require("./dist/client/config").readConfig().apiKey'))"
echo "Try: ./bin/simlab run list    Stop everything: bash infra/down.sh"
