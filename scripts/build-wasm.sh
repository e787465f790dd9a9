#!/usr/bin/env bash
# Builds the papertoys crate for the browser: wasm32 release build, then wasm-bindgen's
# ES-module glue into web/src/pkg/ (gitignored). Installs the wasm target and the
# matching wasm-bindgen CLI first when they are missing.
set -euo pipefail

# shellcheck source=scripts/setup.sh
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$PT_ROOT"

ensure_wasm_target
ensure_wasm_bindgen

cargo build -p papertoys --lib --release --target wasm32-unknown-unknown --no-default-features --locked

target_dir="$(cargo metadata --format-version 1 --no-deps --locked \
    | node -e 'let s = ""; process.stdin.on("data", d => s += d).on("end", () => console.log(JSON.parse(s).target_directory))')"
wasm="$target_dir/wasm32-unknown-unknown/release/papertoys.wasm"
[ -f "$wasm" ] || pt_die "cargo build did not produce $wasm"

out="$PT_ROOT/web/src/pkg"
rm -rf "$out"
"$WASM_BINDGEN" --target web --out-dir "$out" "$wasm"

printf 'build-wasm: %s (%s KiB)\n' "web/src/pkg/papertoys_bg.wasm" "$(( $(stat -c %s "$out/papertoys_bg.wasm") / 1024 ))"
