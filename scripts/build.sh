#!/usr/bin/env bash
# `npm run build`: the wasm crate, then the static site (web/dist/) when the web frontend exists.
set -euo pipefail

# shellcheck source=scripts/setup.sh
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$PT_ROOT"

ensure_npm_deps
bash "$PT_ROOT/scripts/build-wasm.sh"

if [ ! -f "$PT_ROOT/web/index.html" ]; then
    echo "build: the wasm crate is built (web/src/pkg/), but the web frontend is not built yet (no web/index.html); no static site to build."
    exit 0
fi

"$PT_ROOT/node_modules/.bin/vite" build web "$@"
