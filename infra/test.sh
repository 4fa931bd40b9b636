#!/usr/bin/env bash
# The test command (README, `npm test`, .ci/run): brings up the real services the
# integration tests use — Temporal dev server, Docker engine with the sandbox
# images, PostgreSQL 15 — then runs jest and ends with one line
# `N passed, N failed` counted from jest's JSON results. Extra arguments go to jest.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$SIMLAB_ROOT"

bash infra/node.sh
bash infra/docker.sh
bash infra/sandbox-image.sh
# Tools the tests use to look at what simlab produced: zip listings, a database dump;
# and the browser the dashboard's tests drive (Debian's chromium: no browser download).
need_apt unzip postgresql-client chromium
node dashboard/build.mjs >/dev/null
export TEMPORAL_ADDRESS
TEMPORAL_ADDRESS="$(bash infra/temporal.sh)"
# A real PostgreSQL server, never the embedded PGlite: tests run against what production uses.
export DATABASE_URL="${SIMLAB_TEST_DATABASE_URL:-$(bash infra/postgres.sh simlab_test)}"
bash infra/db.sh --reset >/dev/null

results="$SIMLAB_DATA/test/jest-results.json"
mkdir -p "$(dirname "$results")"
rm -f "$results"
set +e
node_modules/.bin/jest --json --outputFile="$results" --forceExit "$@"
status=$?
set -e

if [ "$status" -eq 0 ] && { [ ! -f "$results" ] || [ "$(node -p "require('$results').numTotalTests")" -eq 0 ]; }; then
  log "no test ran"
  status=1
fi
# jest's own summary is not what CI reads: count from its results, and count a
# suite that failed to run (no test results) as a failure too. This line is last.
node -e '
  const fs = require("fs");
  const f = process.argv[1];
  if (!fs.existsSync(f)) { console.log("0 passed, 1 failed"); process.exit(0); }
  const r = JSON.parse(fs.readFileSync(f, "utf8"));
  const broken = r.testResults.filter((s) => s.status === "failed" && s.assertionResults.length === 0).length;
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests + broken} failed` + (r.numPendingTests ? `, ${r.numPendingTests} skipped` : ""));
' "$results"
exit "$status"
