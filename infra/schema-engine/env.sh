# Source me: makes the stock Prisma CLI (node_modules/.bin/prisma) work offline by
# using simlab's wasm-backed schema engine instead of downloading the native one.
#   source infra/schema-engine/env.sh && npx prisma migrate deploy
_simlab_se_dir="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")" && pwd)"
export PRISMA_SCHEMA_ENGINE_BINARY="$_simlab_se_dir/simlab-schema-engine"
# No update checks, telemetry or other calls to prisma.io.
export PRISMA_HIDE_UPDATE_MESSAGE=1
export CHECKPOINT_DISABLE=1
unset _simlab_se_dir
