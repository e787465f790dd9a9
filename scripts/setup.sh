#!/usr/bin/env bash
# Installs what papertoys' commands need, only when it is missing.
#
# Source it and call the functions:
#     source scripts/setup.sh; ensure_npm_deps; ensure_vulkan
# or run it with function names (no names: everything `npm start` and `npm test` need):
#     bash scripts/setup.sh ensure_wasm_bindgen ensure_chromium
#
# Every function is idempotent, prints nothing when the thing is already there,
# and prints one "setup:" line for whatever it installs.
set -euo pipefail

PT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PT_TOOLS="$PT_ROOT/.tools"

pt_log() { printf 'setup: %s\n' "$*" >&2; }
pt_die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

# Run as root directly, otherwise through sudo.
pt_as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        pt_die "need root (or sudo) to run: $*"
    fi
}

pt_apt_updated=0
pt_apt_install() {
    if [ "$pt_apt_updated" -eq 0 ]; then
        pt_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        pt_apt_updated=1
    fi
    pt_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
}

# npm packages from package-lock.json. node_modules counts as stale when package.json
# or package-lock.json changed since the last install (a stamp keeps their hash).
ensure_npm_deps() {
    local stamp="$PT_ROOT/node_modules/.papertoys-deps"
    local want
    want="$(cat "$PT_ROOT/package.json" "$PT_ROOT/package-lock.json" 2>/dev/null | sha256sum | cut -d' ' -f1)"
    if [ -d "$PT_ROOT/node_modules" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        return 0
    fi
    if [ -f "$PT_ROOT/package-lock.json" ]; then
        pt_log "installing npm packages (npm ci)"
        (cd "$PT_ROOT" && npm ci --no-audit --no-fund --loglevel=error)
    else
        pt_log "installing npm packages (npm install, writes package-lock.json)"
        (cd "$PT_ROOT" && npm install --no-audit --no-fund --loglevel=error)
        want="$(cat "$PT_ROOT/package.json" "$PT_ROOT/package-lock.json" | sha256sum | cut -d' ' -f1)"
    fi
    mkdir -p "$PT_ROOT/node_modules"
    printf '%s\n' "$want" > "$stamp"
}

# Mesa's lavapipe Vulkan driver: the CPU "GPU" that the Rust GPU tests run on.
ensure_vulkan() {
    if compgen -G '/usr/share/vulkan/icd.d/lvp_icd*.json' >/dev/null \
        && ldconfig -p 2>/dev/null | grep 'libvulkan\.so\.1 ' >/dev/null; then
        return 0
    fi
    pt_log "installing the lavapipe Vulkan driver (apt: mesa-vulkan-drivers libvulkan1)"
    pt_apt_install mesa-vulkan-drivers libvulkan1
    compgen -G '/usr/share/vulkan/icd.d/lvp_icd*.json' >/dev/null \
        || pt_die "mesa-vulkan-drivers installed but no lvp_icd*.json in /usr/share/vulkan/icd.d"
}

# Rust's wasm32-unknown-unknown standard library.
ensure_wasm_target() {
    local installed
    installed="$(rustup target list --installed)"
    if grep -qx 'wasm32-unknown-unknown' <<<"$installed"; then
        return 0
    fi
    pt_log "installing the Rust target wasm32-unknown-unknown (rustup target add)"
    rustup target add wasm32-unknown-unknown
}

# The version of the wasm-bindgen crate in Cargo.lock; the CLI must match it exactly.
wasm_bindgen_lock_version() {
    local v
    v="$(awk '
        /^\[\[package\]\]/ { inpkg = 0 }
        $0 == "name = \"wasm-bindgen\"" { inpkg = 1; next }
        inpkg && /^version = "/ { gsub(/^version = "|"$/, ""); print; exit }
    ' "$PT_ROOT/Cargo.lock")"
    [ -n "$v" ] || pt_die "no wasm-bindgen package in Cargo.lock"
    printf '%s\n' "$v"
}

# wasm-bindgen CLI of exactly the Cargo.lock version, installed into .tools/ in the repo.
# Sets WASM_BINDGEN to its path.
ensure_wasm_bindgen() {
    local want have=""
    want="$(wasm_bindgen_lock_version)"
    WASM_BINDGEN="$PT_TOOLS/bin/wasm-bindgen"
    if [ -x "$WASM_BINDGEN" ]; then
        have="$("$WASM_BINDGEN" --version 2>/dev/null | awk '{print $2}')" || have=""
    fi
    if [ "$have" = "$want" ]; then
        return 0
    fi
    pt_log "installing wasm-bindgen-cli $want into .tools/ (cargo install; takes a few minutes)${have:+, replacing $have}"
    # --locked first, for the dependency versions the CLI was released with; if the
    # registry no longer serves one of them (a yanked crate), resolve afresh.
    if ! cargo install wasm-bindgen-cli --version "$want" --locked --root "$PT_TOOLS" --quiet; then
        pt_log "cargo install --locked failed; retrying without --locked"
        cargo install wasm-bindgen-cli --version "$want" --root "$PT_TOOLS" --quiet
    fi
    have="$("$WASM_BINDGEN" --version | awk '{print $2}')"
    [ "$have" = "$want" ] || pt_die "installed wasm-bindgen $have, wanted $want"
}

# Debian's Chromium, driven by Playwright in the browser tests (never a downloaded browser).
ensure_chromium() {
    if [ -x /usr/bin/chromium ]; then
        return 0
    fi
    pt_log "installing Chromium (apt: chromium)"
    pt_apt_install chromium
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    if [ "$#" -eq 0 ]; then
        set -- ensure_npm_deps ensure_vulkan ensure_wasm_target ensure_wasm_bindgen
    fi
    for fn in "$@"; do
        case "$fn" in
            ensure_npm_deps|ensure_vulkan|ensure_wasm_target|ensure_wasm_bindgen|ensure_chromium) "$fn" ;;
            *) pt_die "unknown step '$fn' (known: ensure_npm_deps ensure_vulkan ensure_wasm_target ensure_wasm_bindgen ensure_chromium)" ;;
        esac
    done
fi
