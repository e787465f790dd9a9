//! Fused causal attention (one forward and one backward kernel: `cpu::attention_*`,
//! `shaders/attention.wgsl`) against an UNFUSED reference that runs it the way an eager
//! framework does: split heads → S = Q·Kᵀ (batched matmul) → masked softmax → Y = P·V → merge
//! heads, and backward dP = dY·Vᵀ, dV = Pᵀ·dY, dS = softmax', dQ = dS·K, dK = dSᵀ·Q.
//! On the CPU the reference is written here with our `cpu::matmul`; on the GPU it is
//! `unfused_attention::UnfusedAttention` (shaders/softmax.wgsl, shaders/heads.wgsl).
//! Shapes: scripts/bench/shapes.json ("attention"): grokking's B=512, T=4, and T=64, T=256 with
//! B·T = 8192, all C=64, NH=4. Every buffer is allocated once, outside the timed loop.

use std::rc::Rc;

use papertoys::backend::gpu::Gpu;
use papertoys::backend::{MatmulDims, cpu};
use serde::Deserialize;
use serde_json::json;

use crate::Sink;
use crate::matmul::SHAPES_JSON;
use crate::timing::{Timing, gpu_sync, max_diff, measure, random};
use crate::unfused_attention::UnfusedAttention;

#[derive(Deserialize)]
struct Shape {
    name: String,
    b: usize,
    t: usize,
    c: usize,
    nh: usize,
}

#[derive(Deserialize)]
struct Shapes {
    attention: Vec<Shape>,
}

pub fn run(sink: &mut Sink, gpu: Option<&Rc<Gpu>>) {
    let shapes: Shapes = serde_json::from_str(SHAPES_JSON).expect("shapes.json parses");
    println!("\n== attention forward+backward, ms (median of {} repetitions) ==", sink.reps());
    println!("{:<30} {:>10} {:>10} {:>10} {:>10}", "shape", "CPU fused", "unfused", "WGSL fused", "unfused");
    for s in &shapes.attention {
        let (b, t, c, nh) = (s.b, s.t, s.c, s.nh);
        let shape = format!("{} (B={b} T={t} C={c} NH={nh})", s.name);
        let qkv = random(b * t * 3 * c, 7);
        let dout = random(b * t * c, 8);
        let mut cols = Vec::new();
        let mut record = |sink: &mut Sink, name: &str, fwd: Timing, both: Timing, diff: f32| {
            sink.record(json!({ "section": "attention", "impl": name, "shape": shape, "b": b, "t": t, "c": c, "nh": nh,
                "fwd_secs": fwd.median, "secs": both.median, "min": both.min, "max": both.max, "iters": both.iters, "reps": both.reps,
                "max_diff_vs_cpu_fused": diff }));
            cols.push(format!("{:>10.3}", both.median * 1e3));
        };

        // CPU fused: the engine's kernels.
        let (mut out, mut att, mut dqkv) = (vec![0.0; b * t * c], vec![0.0; b * nh * t * t], vec![0.0; b * t * 3 * c]);
        let fwd = measure(sink.target_secs(), sink.reps(), |iters| {
            for _ in 0..iters {
                cpu::attention_forward(&qkv, &mut out, &mut att, b, t, c, nh);
            }
        });
        let both = measure(sink.target_secs(), sink.reps(), |iters| {
            for _ in 0..iters {
                cpu::attention_forward(&qkv, &mut out, &mut att, b, t, c, nh);
                cpu::attention_backward(&dout, &qkv, &att, &mut dqkv, b, t, c, nh);
            }
        });
        record(sink, "cpu_fused", fwd, both, 0.0);

        // CPU unfused: matmul → masked softmax → matmul, with our matmul.
        let mut un = CpuUnfused::new(b, t, c, nh);
        let (mut u_out, mut u_dqkv) = (vec![0.0; b * t * c], vec![0.0; b * t * 3 * c]);
        un.forward(&qkv, &mut u_out);
        un.backward(&dout, &mut u_dqkv);
        let diff = agree(&shape, "CPU unfused", &u_out, &out, &u_dqkv, &dqkv);
        let fwd = measure(sink.target_secs(), sink.reps(), |iters| {
            for _ in 0..iters {
                un.forward(&qkv, &mut u_out);
            }
        });
        let both = measure(sink.target_secs(), sink.reps(), |iters| {
            for _ in 0..iters {
                un.forward(&qkv, &mut u_out);
                un.backward(&dout, &mut u_dqkv);
            }
        });
        record(sink, "cpu_unfused", fwd, both, diff);

        if let Some(gpu) = gpu {
            // WGSL fused: attention_forward / attention_backward.
            let (gqkv, gdout) = (gpu.upload(&qkv), gpu.upload(&dout));
            let (g_out, g_att, g_dqkv, probe) = (gpu.alloc(b * t * c), gpu.alloc(b * nh * t * t), gpu.alloc(b * t * 3 * c), gpu.alloc(1));
            let fwd = measure(sink.target_secs(), sink.reps(), |iters| {
                for _ in 0..iters {
                    gpu.attention_forward(&gqkv, &g_out, &g_att, b, t, c, nh);
                }
                gpu_sync(gpu, &probe);
            });
            let both = measure(sink.target_secs(), sink.reps(), |iters| {
                for _ in 0..iters {
                    gpu.attention_forward(&gqkv, &g_out, &g_att, b, t, c, nh);
                    gpu.attention_backward(&gdout, &gqkv, &g_att, &g_dqkv, b, t, c, nh);
                }
                gpu_sync(gpu, &probe);
            });
            let r = pollster::block_on(gpu.read(&[&g_out, &g_dqkv])).expect("read");
            let diff = agree(&shape, "WGSL fused", &r[0], &out, &r[1], &dqkv);
            record(sink, "wgsl_fused", fwd, both, diff);

            {
                // WGSL unfused: split/merge heads, tiled matmuls, masked softmax kernels.
                let un = UnfusedAttention::new(gpu, b, t, c, nh);
                let fwd = measure(sink.target_secs(), sink.reps(), |iters| {
                    for _ in 0..iters {
                        un.forward(&gqkv, &g_out);
                    }
                    gpu_sync(gpu, &probe);
                });
                let both = measure(sink.target_secs(), sink.reps(), |iters| {
                    for _ in 0..iters {
                        un.forward(&gqkv, &g_out);
                        un.backward(&gdout, &g_dqkv);
                    }
                    gpu_sync(gpu, &probe);
                });
                let r = pollster::block_on(gpu.read(&[&g_out, &g_dqkv])).expect("read");
                let diff = agree(&shape, "WGSL unfused", &r[0], &out, &r[1], &dqkv);
                record(sink, "wgsl_unfused", fwd, both, diff);
            }
        }
        println!("{shape:<30} {}", cols.join(" "));
    }
}

/// Checks out and dqkv against the CPU fused reference; returns the largest difference.
fn agree(shape: &str, what: &str, out: &[f32], want_out: &[f32], dqkv: &[f32], want_dqkv: &[f32]) -> f32 {
    let (d1, ok1) = max_diff(out, want_out, 1e-5, 1e-3);
    let (d2, ok2) = max_diff(dqkv, want_dqkv, 1e-5, 1e-3);
    assert!(ok1 && ok2, "{what} {shape}: differs from the CPU fused kernels (out by {d1}, dqkv by {d2})");
    d1.max(d2)
}

/// The unfused reference on the CPU; scratch buffers allocated once. Per-head matrices are
/// (B·NH, T, hs), scores and probabilities (B·NH, T, T).
struct CpuUnfused {
    b: usize,
    t: usize,
    c: usize,
    nh: usize,
    q: Vec<f32>,
    k: Vec<f32>,
    v: Vec<f32>,
    s: Vec<f32>,
    p: Vec<f32>,
    y: Vec<f32>,
    dy: Vec<f32>,
    dp: Vec<f32>,
    ds: Vec<f32>,
    dq: Vec<f32>,
    dk: Vec<f32>,
    dv: Vec<f32>,
}

impl CpuUnfused {
    fn new(b: usize, t: usize, c: usize, nh: usize) -> CpuUnfused {
        let (h, sc) = (vec![0.0; b * t * c], vec![0.0; b * nh * t * t]);
        CpuUnfused {
            b,
            t,
            c,
            nh,
            q: h.clone(),
            k: h.clone(),
            v: h.clone(),
            s: sc.clone(),
            p: sc.clone(),
            y: h.clone(),
            dy: h.clone(),
            dp: sc.clone(),
            ds: sc,
            dq: h.clone(),
            dk: h.clone(),
            dv: h,
        }
    }

    fn forward(&mut self, qkv: &[f32], out: &mut [f32]) {
        let (b, t, c, nh) = (self.b, self.t, self.c, self.nh);
        let hs = c / nh;
        split_heads(qkv, &mut self.q, b, t, nh, 3 * c, 0);
        split_heads(qkv, &mut self.k, b, t, nh, 3 * c, c);
        split_heads(qkv, &mut self.v, b, t, nh, 3 * c, 2 * c);
        cpu::matmul(&self.q, &self.k, &mut self.s, &bmm(b * nh, t, hs, t, false, true)); // S = Q·Kᵀ
        softmax_causal_forward(&self.s, &mut self.p, t, 1.0 / (hs as f32).sqrt());
        cpu::matmul(&self.p, &self.v, &mut self.y, &bmm(b * nh, t, t, hs, false, false)); // Y = P·V
        merge_heads(&self.y, out, b, t, nh, c, 0);
    }

    fn backward(&mut self, dout: &[f32], dqkv: &mut [f32]) {
        let (b, t, c, nh) = (self.b, self.t, self.c, self.nh);
        let hs = c / nh;
        split_heads(dout, &mut self.dy, b, t, nh, c, 0);
        cpu::matmul(&self.dy, &self.v, &mut self.dp, &bmm(b * nh, t, hs, t, false, true)); // dP = dY·Vᵀ
        cpu::matmul(&self.p, &self.dy, &mut self.dv, &bmm(b * nh, t, t, hs, true, false)); // dV = Pᵀ·dY
        softmax_causal_backward(&self.p, &self.dp, &mut self.ds, t, 1.0 / (hs as f32).sqrt());
        cpu::matmul(&self.ds, &self.k, &mut self.dq, &bmm(b * nh, t, t, hs, false, false)); // dQ = dS·K
        cpu::matmul(&self.ds, &self.q, &mut self.dk, &bmm(b * nh, t, t, hs, true, false)); // dK = dSᵀ·Q
        merge_heads(&self.dq, dqkv, b, t, nh, 3 * c, 0);
        merge_heads(&self.dk, dqkv, b, t, nh, 3 * c, c);
        merge_heads(&self.dv, dqkv, b, t, nh, 3 * c, 2 * c);
    }
}

/// A batched product of `batch` per-head matrices: op(a) (m, k) · op(b) (k, n) each.
fn bmm(batch: usize, m: usize, k: usize, n: usize, a_trans: bool, b_trans: bool) -> MatmulDims {
    MatmulDims { batch, m, k, n, a_trans, b_trans, a_batch_stride: m * k, b_batch_stride: k * n }
}

/// x: (B, T, width) → heads: (B, NH, T, hs), head h from channels offset + h·hs.
fn split_heads(x: &[f32], heads: &mut [f32], b: usize, t: usize, nh: usize, width: usize, offset: usize) {
    let hs = heads.len() / (b * nh * t);
    for (bh, dst) in heads.chunks_exact_mut(t * hs).enumerate() {
        let (bi, h) = (bh / nh, bh % nh);
        for (ti, row) in dst.chunks_exact_mut(hs).enumerate() {
            let src = (bi * t + ti) * width + offset + h * hs;
            row.copy_from_slice(&x[src..src + hs]);
        }
    }
}

/// heads: (B, NH, T, hs) → out: (B, T, width), channels offset .. offset + NH·hs only.
fn merge_heads(heads: &[f32], out: &mut [f32], b: usize, t: usize, nh: usize, width: usize, offset: usize) {
    let hs = heads.len() / (b * nh * t);
    for (bh, src) in heads.chunks_exact(t * hs).enumerate() {
        let (bi, h) = (bh / nh, bh % nh);
        for (ti, row) in src.chunks_exact(hs).enumerate() {
            let dst = (bi * t + ti) * width + offset + h * hs;
            out[dst..dst + hs].copy_from_slice(row);
        }
    }
}

/// x: (rows, T) scores → y: (rows, T) softmax of scale·x over u ≤ t (t = row % T), 0 above.
fn softmax_causal_forward(x: &[f32], y: &mut [f32], t: usize, scale: f32) {
    for (r, (xr, yr)) in x.chunks_exact(t).zip(y.chunks_exact_mut(t)).enumerate() {
        let ti = r % t;
        let mut max = f32::NEG_INFINITY;
        for &v in &xr[..=ti] {
            max = max.max(scale * v);
        }
        let mut sum = 0.0f32;
        for u in 0..=ti {
            yr[u] = libm::expf(scale * xr[u] - max);
            sum += yr[u];
        }
        let inv = 1.0 / sum;
        for (u, v) in yr.iter_mut().enumerate() {
            *v = if u <= ti { *v * inv } else { 0.0 };
        }
    }
}

/// dx = scale·y∘(dy − rowsum(y∘dy)). y, dy, dx: (rows, T)
fn softmax_causal_backward(y: &[f32], dy: &[f32], dx: &mut [f32], t: usize, scale: f32) {
    for ((yr, dyr), dxr) in y.chunks_exact(t).zip(dy.chunks_exact(t)).zip(dx.chunks_exact_mut(t)) {
        let mut dot = 0.0f32;
        for (&a, &g) in yr.iter().zip(dyr) {
            dot += a * g;
        }
        for ((o, &a), &g) in dxr.iter_mut().zip(yr).zip(dyr) {
            *o = scale * a * (g - dot);
        }
    }
}
