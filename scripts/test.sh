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

echo
echo "tests: $passed passed, $failed failed, $skipped skipped"
