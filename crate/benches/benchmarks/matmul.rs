//! Matmul GFLOP/s at the shapes of scripts/bench/shapes.json (squares 64²…2048², and the
//! grokking transformer's forward and backward products): our CPU kernel (`cpu::matmul`, fixed
//! summation order, no FMA), the tiled WGSL kernel (`matmul` in shaders/matmul.wgsl) and its
//! naive one-thread-per-output reference. numpy and PyTorch run the same list from
//! scripts/bench/torch_matmul.py. GFLOP/s counts 2·m·k·n floating-point operations.

use std::rc::Rc;

use papertoys::backend::gpu::{Gpu, GpuBuffer};
use papertoys::backend::{MatmulDims, cpu};
use serde::Deserialize;
use serde_json::json;

use crate::Sink;
use crate::timing::{gpu_sync, max_diff, measure, random};

/// The shape list every side of the benchmark shares.
pub const SHAPES_JSON: &str = include_str!("../../../scripts/bench/shapes.json");

/// `Gpu::matmul` or `Gpu::matmul_naive`.
type GpuMatmul = fn(&Gpu, &GpuBuffer, &GpuBuffer, &GpuBuffer, &MatmulDims);

#[derive(Deserialize)]
pub struct Shape {
    pub name: String,
    pub m: usize,
    pub k: usize,
    pub n: usize,
    pub a_trans: bool,
    pub b_trans: bool,
}

#[derive(Deserialize)]
struct Shapes {
    matmul: Vec<Shape>,
}

/// The naive kernel is left out above this many multiply-adds (it would take minutes on a CPU
/// adapter and tells nothing new there).
const NAIVE_MAX_MACS: usize = 1 << 28;

pub fn run(sink: &mut Sink, gpu: Option<&Rc<Gpu>>) {
    let shapes: Shapes = serde_json::from_str(SHAPES_JSON).expect("shapes.json parses");
    call_overhead(sink);
    println!("\n== matmul GFLOP/s (median of {} repetitions) ==", sink.reps());
    println!("{:<44} {:>10} {:>10} {:>10}", "shape", "CPU", "WGSL", "WGSL naive");
    for (i, s) in shapes.matmul.iter().enumerate() {
        let d = MatmulDims { batch: 1, m: s.m, k: s.k, n: s.n, a_trans: s.a_trans, b_trans: s.b_trans, a_batch_stride: 0, b_batch_stride: 0 };
        let flops = 2.0 * (s.m * s.k * s.n) as f64;
        let a = random(s.m * s.k, 1 + i as u32);
        let b = random(s.k * s.n, 101 + i as u32);
        let mut out = vec![0.0f32; s.m * s.n];

        let t = measure(sink.target_secs(), sink.reps(), |iters| {
            for _ in 0..iters {
                cpu::matmul(&a, &b, &mut out, &d);
            }
        });
        let cpu_gflops = flops / t.median / 1e9;
        sink.record(json!({ "section": "matmul", "impl": "cpu", "shape": s.name, "m": s.m, "k": s.k, "n": s.n,
            "secs": t.median, "min": t.min, "max": t.max, "iters": t.iters, "reps": t.reps, "gflops": cpu_gflops }));

        let mut cols = vec![format!("{cpu_gflops:>10.2}")];
        if let Some(gpu) = gpu {
            let (ga, gb, gout, probe) = (gpu.upload(&a), gpu.upload(&b), gpu.alloc(s.m * s.n), gpu.alloc(1));
            let variants: [(&str, GpuMatmul); 2] = [("wgsl", Gpu::matmul), ("wgsl_naive", Gpu::matmul_naive)];
            for (name, f) in variants {
                if name == "wgsl_naive" && s.m * s.k * s.n > NAIVE_MAX_MACS {
                    cols.push(format!("{:>10}", "-"));
                    continue;
                }
                let t = measure(sink.target_secs(), sink.reps(), |iters| {
                    for _ in 0..iters {
                        f(gpu, &ga, &gb, &gout, &d);
                    }
                    gpu_sync(gpu, &probe);
                });
                let got = pollster::block_on(gpu.read(&[&gout])).expect("read").pop().unwrap();
                // k products of values in [-1, 1): allow for a different rounding per product.
                let (diff, ok) = max_diff(&got, &out, 1e-6 * s.k as f32, 1e-4);
                assert!(ok, "{name} {}: differs from the CPU by up to {diff}", s.name);
                let gflops = flops / t.median / 1e9;
                sink.record(json!({ "section": "matmul", "impl": name, "shape": s.name, "m": s.m, "k": s.k, "n": s.n,
                    "secs": t.median, "min": t.min, "max": t.max, "iters": t.iters, "reps": t.reps, "gflops": gflops, "max_diff_vs_cpu": diff }));
                cols.push(format!("{gflops:>10.2}"));
            }
        }
        println!("{:<44} {}", s.name, cols.join(" "));
    }
}

/// Time per call of a tiny product, (4×16)·(16×4) as in one head of grokking's attention:
/// what a batched or per-head use of `cpu::matmul` pays per matrix besides the arithmetic.
fn call_overhead(sink: &mut Sink) {
    let d = MatmulDims { batch: 1, m: 4, k: 16, n: 4, a_trans: false, b_trans: false, a_batch_stride: 0, b_batch_stride: 0 };
    let (a, b, mut out) = (random(64, 5), random(64, 6), vec![0.0f32; 16]);
    let t = measure(sink.target_secs(), sink.reps(), |iters| {
        for _ in 0..iters {
            cpu::matmul(&a, &b, &mut out, &d);
        }
    });
    println!("cpu::matmul per-call time, (4×16)·(16×4): {:.2} µs", t.median * 1e6);
    sink.record(json!({ "section": "matmul_call", "impl": "cpu", "m": 4, "k": 16, "n": 4, "secs": t.median, "iters": t.iters, "reps": t.reps }));
}
