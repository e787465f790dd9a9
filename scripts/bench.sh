#!/usr/bin/env bash
# `npm run bench`: measures papertoys side by side on THIS machine, in one run, and writes the
# tables to docs/benchmarks.md (with the machine, the date, the commit and the load it ran under).
#
#     npm run bench                 # everything, ~10 minutes after the one-time installs
#     npm run bench -- --quick      # fewer repetitions, a smoke run (numbers not for the doc)
#     npm run bench -- --no-browser # skip the Chromium part
#
# What runs (each part writes JSON lines into target/bench/results.jsonl):
#   1. crate/benches/benchmarks (cargo bench): matmul GFLOP/s (our CPU kernel, the WGSL kernel on
#      the native wgpu adapter — Mesa's lavapipe here, a CPU emulation of a GPU), fused vs unfused
#      attention, grokking training steps/s on both backends with the GPU's per-step counters;
#      then the CPU training rows again on one core (taskset -c 0), as the browser has one thread;
#   2. scripts/bench/torch_matmul.py and torch_grokking.py: numpy/PyTorch matmul on the same
#      shapes, and the same grokking model, batch and optimizer in PyTorch eager (2 threads,
#      then 1 thread on one core, to pair with our one-core rows);
#   3. scripts/bench/browser.mjs: the static build in headless Chromium — wasm steps/s, wasm
#      size, time from navigation to the first chart point, WebGPU on SwiftShader;
#   4. scripts/bench/report.mjs: the markdown.
# PyTorch and numpy are benchmark-only: they go into a venv OUTSIDE the repository
# ($PT_BENCH_VENV, default ~/.cache/papertoys-bench-venv), installed once (the torch wheel pulls
# ~5 GB of CUDA libraries even for the CPU) and reused. They are never a product dependency.
#
# Honest numbers need a quiet machine: before measuring, the script waits (up to
# $PT_BENCH_WAIT seconds, default 600) for the 1-minute load average to drop below
# $PT_BENCH_MAX_LOAD (default 1.2), and the doc records the load before and after.
set -euo pipefail

# shellcheck source=scripts/setup.sh
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$PT_ROOT"

quick=() browser=1
for a in "$@"; do
    case "$a" in
        --quick) quick=(--quick) ;;
        --no-browser) browser=0 ;;
        *) pt_die "bench: unknown option $a (known: --quick, --no-browser)" ;;
    esac
done

venv="${PT_BENCH_VENV:-$HOME/.cache/papertoys-bench-venv}"
export PYTHONDONTWRITEBYTECODE=1 # no __pycache__ in scripts/bench/
max_load="${PT_BENCH_MAX_LOAD:-1.2}"
max_wait="${PT_BENCH_WAIT:-600}"
out_dir="$PT_ROOT/target/bench"
results="$out_dir/results.jsonl"
t_start=$SECONDS

step() { printf '\n=== bench: %s ===\n' "$*"; }

ensure_bench_venv() {
    if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import torch, numpy' 2>/dev/null; then
        return 0
    fi
    pt_log "installing PyTorch and numpy into $venv for the benchmark only (pip; the torch wheel is large, once)"
    python3 -m venv "$venv" 2>/dev/null || { pt_apt_install python3-venv && python3 -m venv "$venv"; }
    "$venv/bin/pip" install --quiet --disable-pip-version-check torch numpy
}

ensure_wasm_objdump() {
    command -v wasm-objdump >/dev/null 2>&1 && return 0
    pt_log "installing wabt (apt) for wasm-objdump: checks that the wasm build uses SIMD128"
    pt_apt_install wabt || pt_log "wabt not installed; the SIMD128 check is skipped"
}

load1() { cut -d' ' -f1 /proc/loadavg; }

wait_for_quiet() {
    local waited=0
    while awk -v l="$(load1)" -v m="$max_load" 'BEGIN { exit !(l > m) }'; do
        if [ "$waited" -ge "$max_wait" ]; then
            echo "bench: the 1-min load is still $(load1) after ${waited} s; measuring anyway (the doc says so)"
            return 0
        fi
        [ "$waited" -eq 0 ] && echo "bench: waiting for the machine to be quiet (1-min load $(load1) > $max_load; up to ${max_wait} s)"
        sleep 10
        waited=$((waited + 10))
    done
    echo "bench: 1-min load $(load1) (waited ${waited} s)"
}

json_str() { node -e 'process.stdout.write(JSON.stringify(process.argv[1]))' "$1"; }

step "setup"
ensure_npm_deps
ensure_vulkan
ensure_wasm_target
ensure_wasm_bindgen
[ "$browser" -eq 1 ] && ensure_chromium
ensure_wasm_objdump
torch=1
if ensure_bench_venv; then
    echo "PyTorch venv: $venv ($("$venv/bin/python" -c 'import torch, numpy; print("torch", torch.__version__, "numpy", numpy.__version__)'))"
else
    echo "bench: could not install PyTorch/numpy into $venv; their rows will be missing"
    torch=0
fi

step "build"
# Everything is built before anything is timed, so that no compiler runs during a measurement.
t0=$SECONDS
bench_bin="$(cargo bench -p papertoys --bench benchmarks --no-run --locked --message-format=json \
    | node -e 'let s = ""; process.stdin.on("data", d => s += d).on("end", () => {
        const exe = s.split("\n").filter(Boolean).map(l => JSON.parse(l))
            .filter(m => m.reason === "compiler-artifact" && m.target?.name === "benchmarks" && m.executable).pop();
        if (!exe) process.exit(1);
        console.log(exe.executable);
    })')" || pt_die "cargo bench --no-run failed; run it by hand to see the error"
cargo build --release -p papertoys --bin papertoys --locked --quiet
if [ "$browser" -eq 1 ]; then
    bash "$PT_ROOT/scripts/build.sh" >/dev/null
    [ -f "$PT_ROOT/web/dist/index.html" ] || { echo "bench: no web/dist (the web frontend is not built); the browser part is skipped"; browser=0; }
fi
echo "built in $((SECONDS - t0)) s: $bench_bin"
target_dir="$(cargo metadata --format-version 1 --no-deps --locked | node -e 'let s = ""; process.stdin.on("data", d => s += d).on("end", () => console.log(JSON.parse(s).target_directory))')"
cli="$target_dir/release/papertoys"

mkdir -p "$out_dir"
: >"$results"
record() { printf '%s\n' "$1" >>"$results"; }

step "machine"
model="$(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1)"
cores="$(nproc)"
mem_kib="$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)"
commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
dirty="$( [ -n "$(git status --porcelain 2>/dev/null)" ] && echo true || echo false)"
flags="$(lscpu | sed -n 's/^Flags:[[:space:]]*//p' | tr ' ' '\n' | grep -xE 'avx2|fma|avx512f' | tr '\n' ' ')"
echo "$model, $cores cores, $((mem_kib / 1024 / 1024)) GiB; commit $commit (uncommitted changes: $dirty)"
wait_for_quiet
record "{\"section\":\"machine\",\"model\":$(json_str "$model"),\"cores\":$cores,\"mem_kib\":$mem_kib,\"date\":$(json_str "$(date -u '+%Y-%m-%d %H:%M UTC')"),\"commit\":$(json_str "$commit"),\"dirty\":$dirty,\"rustc\":$(json_str "$(rustc --version)"),\"node\":$(json_str "$(node --version)"),\"simd_flags\":$(json_str "$flags"),\"load_before\":$(json_str "$(cut -d' ' -f1-3 /proc/loadavg)"),\"max_load\":$(json_str "$max_load"),\"quick\":$([ ${#quick[@]} -gt 0 ] && echo true || echo false)}"

step "native: matmul, attention, training (cargo bench)"
"$bench_bin" matmul attention training toys --out "$results" "${quick[@]}" 2> >(grep -v XDG_RUNTIME_DIR >&2)
step "native: CPU training on one core (taskset -c 0)"
taskset -c 0 "$bench_bin" training-cpu toys --tag "1 thread" --out "$results" "${quick[@]}"

if [ "$torch" -eq 1 ]; then
    step "numpy and PyTorch"
    "$venv/bin/python" scripts/bench/torch_matmul.py --out "$results" "${quick[@]}"
    "$venv/bin/python" scripts/bench/torch_grokking.py --out "$results" "${quick[@]}"
    taskset -c 0 "$venv/bin/python" scripts/bench/torch_grokking.py --threads 1 --tag "1 thread" --out "$results" "${quick[@]}"
fi

if [ "$browser" -eq 1 ]; then
    step "headless Chromium"
    node scripts/bench/browser.mjs --site web/dist --out "$results" "${quick[@]}" || echo "bench: the browser part failed (see above); its rows are missing"
    # The same run from the CLI: its digest must equal the page's (CPU runs are bit-identical,
    # SIMD128 or not).
    steps="$(node -e 'const fs = require("fs"); const r = fs.readFileSync(process.argv[1], "utf8").split("\n").filter(Boolean).map(JSON.parse).find(r => r.what === "steps_per_s"); console.log(r ? r.steps : "")' "$results")"
    if [ -n "$steps" ]; then
        digest="$("$cli" run grokking --steps "$steps" --json 2>/dev/null | tail -1 | node -e 'let s = ""; process.stdin.on("data", d => s += d).on("end", () => console.log(JSON.parse(s).digest))')"
        record "{\"section\":\"browser\",\"what\":\"cli_digest\",\"steps\":$steps,\"digest\":$(json_str "$digest")}"
    fi
fi

wasm="$PT_ROOT/web/src/pkg/papertoys_bg.wasm"
if command -v wasm-objdump >/dev/null 2>&1 && [ -f "$wasm" ]; then
    simd="$(wasm-objdump -d "$wasm" | grep -cE '\bf32x4\.' || true)"
    record "{\"section\":\"wasm_simd\",\"f32x4_ops\":$simd,\"tool\":\"wasm-objdump -d | grep -c f32x4.\"}"
    echo "wasm SIMD128: $simd f32x4 instructions in $wasm"
fi
record "{\"section\":\"end\",\"load_after\":$(json_str "$(cut -d' ' -f1-3 /proc/loadavg)"),\"bench_secs\":$((SECONDS - t_start))}"

step "report"
if [ ${#quick[@]} -gt 0 ]; then
    node scripts/bench/report.mjs "$results" >"$out_dir/benchmarks.md"
    echo "quick run: the report is in target/bench/benchmarks.md (docs/benchmarks.md is left alone)"
else
    node scripts/bench/report.mjs "$results" >"$PT_ROOT/docs/benchmarks.md"
    echo "wrote docs/benchmarks.md ($((SECONDS - t_start)) s in all)"
fi
