#!/usr/bin/env bash
# `npm start`: installs what is missing, builds the wasm crate, serves the playground.
set -euo pipefail

# shellcheck source=scripts/setup.sh
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$PT_ROOT"

ensure_npm_deps
bash "$PT_ROOT/scripts/build-wasm.sh"

if [ ! -f "$PT_ROOT/web/index.html" ]; then
    echo "start: the wasm crate is built (web/src/pkg/), but the web frontend is not built yet (no web/index.html); nothing to serve."
    exit 0
fi

echo "start: serving the playground with Vite (root web/); open the Local URL it prints below."
exec "$PT_ROOT/node_modules/.bin/vite" web "$@"
