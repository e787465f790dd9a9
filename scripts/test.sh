#!/usr/bin/env bash
# `npm test`: installs what the tests need, then runs every test stage in order.
# Each stage prints a header; the first failure stops the run with a non-zero exit.
# The last line totals the test counts of all stages: "tests: N passed, N failed, N skipped".
set -euo pipefail

# shellcheck source=scripts/setup.sh
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$PT_ROOT"

stage() { printf '\n=== %s ===\n' "$*"; }

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
passed=0 failed=0 skipped=0

stage "setup"
ensure_npm_deps
ensure_vulkan
echo "npm packages and the lavapipe Vulkan driver are present"

stage "lint"
# Formatting and clippy (native with the CLI, and the wasm build); the first finding stops the
# run, before any minutes of tests. The frontend's types are checked by the build (tsc --noEmit
# before Vite), which needs the wasm bindings it generates.
ensure_wasm_target
cargo fmt --all --check
cargo clippy -p papertoys --locked --all-targets --features cli -- -D warnings
cargo clippy -p papertoys --locked --lib --target wasm32-unknown-unknown -- -D warnings
echo "fmt and clippy: clean"

stage "rust tests"
# Every Rust test, GPU ones included: wgpu finds lavapipe as a Vulkan CPU adapter.
# The workspace's test profile is optimised (opt-level 2).
cargo test -p papertoys --locked 2>&1 | tee "$log"
read -r p f s < <(awk '/^test result:/ {
        for (i = 1; i <= NF; i++) {
            if ($(i+1) ~ /^passed/) p += $i
            if ($(i+1) ~ /^failed/) f += $i
            if ($(i+1) ~ /^ignored/) s += $i
        }
    } END { print p + 0, f + 0, s + 0 }' "$log")
passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))

stage "browser tests"
# Playwright (playwright-core) drives Debian's Chromium against the static build served by a
# plain Node server (tests/browser/server.mjs); the share test compares the page's digest
# with the CLI's for the same run.
ensure_chromium
t0=$SECONDS
bash scripts/build.sh
echo "build: $((SECONDS - t0)) s"
# Every toy page's text against the crate's schema, in Node with the wasm just built: ids name
# toys, every "try it" is accepted in full.
node --test web/tests/pages.test.mjs 2>&1 | tee -a "$log.pages"
# The CLI for the share test's digest, in the test profile: `cargo test` above already built it
# (a release build would add minutes on a fresh clone), and the CPU backend's digest does not
# depend on the optimisation level (fixed summation order, libm, no fused multiply-add).
cargo build -p papertoys --locked --profile test --bin papertoys
target_dir="$(cargo metadata --format-version 1 --no-deps --locked \
    | node -e 'let s = ""; process.stdin.on("data", d => s += d).on("end", () => console.log(JSON.parse(s).target_directory))')"
export PT_CLI="$target_dir/debug/papertoys"
t0=$SECONDS
tap="$(mktemp)"
trap 'rm -f "$log" "$tap"' EXIT
# spec for people on stdout, TAP into a file for the counts; one file at a time, so the
# timings the tests print are not shared with another test's browser.
node --test --test-concurrency=1 \
    --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="$tap" \
    tests/browser/*.test.mjs && browser_rc=0 || browser_rc=$?
echo "browser tests: $((SECONDS - t0)) s"
read -r p f s < <(awk '
    /^# pass /      { p += $3 }
    /^# fail /      { f += $3 }
    /^# cancelled / { f += $3 }
    /^# skipped /   { s += $3 }
    /^# todo /      { s += $3 }
    END { print p + 0, f + 0, s + 0 }' "$tap")
passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))

echo
echo "tests: $passed passed, $failed failed, $skipped skipped"
exit "$browser_rc"
