"""numpy and PyTorch `matmul` GFLOP/s at the shapes of shapes.json, on this CPU, for the
matmul table of docs/benchmarks.md (the Rust side is crate/benches/benchmarks/matmul.rs).

    python torch_matmul.py [--out FILE] [--quick]

Transposed operands are stored transposed and multiplied through a transposed view (a.T @ b),
which both libraries hand to their BLAS as a transpose flag, as our kernels take a_trans/b_trans.
PyTorch uses torch.set_num_threads(2) (this machine's cores); numpy uses its bundled BLAS's
default threads. float32 throughout; GFLOP/s counts 2·m·k·n."""

import argparse
import json
import os

import numpy as np
import torch

import timing

HERE = os.path.dirname(os.path.abspath(__file__))


def operands(s, rng):
    a = rng.uniform(-1, 1, (s["k"], s["m"]) if s["a_trans"] else (s["m"], s["k"])).astype(np.float32)
    b = rng.uniform(-1, 1, (s["n"], s["k"]) if s["b_trans"] else (s["k"], s["n"])).astype(np.float32)
    return a, b


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    timing.configure(args.quick)
    sink = timing.Sink(args.out)
    torch.set_num_threads(2)
    shapes = json.load(open(os.path.join(HERE, "shapes.json"), encoding="utf-8"))["matmul"]
    sink.record({"section": "python", "numpy": np.__version__, "torch": torch.__version__,
                 "torch_threads": torch.get_num_threads(), "numpy_blas": blas_name()})
    rng = np.random.default_rng(0)
    print(f"{'shape':<44} {'numpy':>10} {'torch':>10}")
    for s in shapes:
        a, b = operands(s, rng)
        an = a.T if s["a_trans"] else a
        bn = b.T if s["b_trans"] else b
        ta, tb = torch.from_numpy(a), torch.from_numpy(b)
        at = ta.t() if s["a_trans"] else ta
        bt = tb.t() if s["b_trans"] else tb
        flops = 2.0 * s["m"] * s["k"] * s["n"]
        out_np = np.empty((s["m"], s["n"]), dtype=np.float32)
        out_t = torch.empty((s["m"], s["n"]))

        def run_np(n):
            for _ in range(n):
                np.matmul(an, bn, out=out_np)

        def run_torch(n):
            for _ in range(n):
                torch.matmul(at, bt, out=out_t)

        cols = []
        for name, run in (("numpy", run_np), ("torch", run_torch)):
            t = timing.measure(run)
            g = flops / t["median"] / 1e9
            sink.record({"section": "matmul", "impl": name, "shape": s["name"], "m": s["m"], "k": s["k"], "n": s["n"],
                         "secs": t["median"], "min": t["min"], "max": t["max"], "iters": t["iters"], "reps": t["reps"],
                         "gflops": g})
            cols.append(f"{g:>10.2f}")
        print(f"{s['name']:<44} {' '.join(cols)}", flush=True)


def blas_name():
    try:
        cfg = np.show_config(mode="dicts")
        return cfg["Build Dependencies"]["blas"]["name"]
    except Exception:  # older numpy: no dict mode
        return "unknown"


if __name__ == "__main__":
    main()
