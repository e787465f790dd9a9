#!/usr/bin/env bash
# `npm run build`: the wasm crate, then the type-checked static site (web/dist/) when the web frontend exists.
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

# Type-check first (Vite strips types without checking them), then bundle into web/dist/.
"$PT_ROOT/node_modules/.bin/tsc" -p web --noEmit
"$PT_ROOT/node_modules/.bin/vite" build web "$@"
echo "build: static site in web/dist/ (serve it from any static file server, e.g. npx vite preview web)"
