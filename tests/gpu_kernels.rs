//! GPU kernels against the CPU reference (`backend::cpu`), one test per kernel family, plus the
//! backend's own promises: a run repeats bit for bit, many dispatches share one submission, and
//! a repeated training-like step creates no new buffers.
//!
//! Runs on any wgpu adapter; in CI that is Mesa's lavapipe (a CPU Vulkan driver). Without an
//! adapter every test FAILS with `Gpu::new`'s error: a skipped GPU test would hide a broken CI.
//!
//! Closeness as in llm.c's `check_tensor`: |gpu − cpu| ≤ 1e-5 + 1e-4·|cpu| for every element;
//! a failure names the kernel, the worst index and both values. The two sides may differ in
//! the last bits because the GPU sums reductions in a fixed tree rather than left to right,
//! may fuse multiply-adds, and uses WGSL's exp/tanh rather than libm's.

use std::rc::Rc;

use papertoys::backend::gpu::{Gpu, GpuBuffer};
use papertoys::backend::{AdamParams, DropoutMask, MatmulDims, Saved, UnaryOp, cpu};

// The attention benchmark's unfused reference (shaders/softmax.wgsl, heads.wgsl), tested here
// because a benchmark runs no tests.
#[path = "../crate/benches/benchmarks/unfused_attention.rs"]
mod unfused_attention;

// ------------------------------------------------------------------ helpers

fn gpu() -> Rc<Gpu> {
    pollster::block_on(Gpu::new()).unwrap_or_else(|e| panic!("Gpu::new failed: {e}"))
}

fn read(gpu: &Gpu, bufs: &[&GpuBuffer]) -> Vec<Vec<f32>> {
    pollster::block_on(gpu.read(bufs)).unwrap_or_else(|e| panic!("read failed: {e}"))
}

fn read1(gpu: &Gpu, buf: &GpuBuffer) -> Vec<f32> {
    read(gpu, &[buf]).pop().unwrap()
}

/// A small deterministic generator (Numerical Recipes LCG), so the tests need no rand crate.
struct Lcg(u64);

impl Lcg {
    fn next_u32(&mut self) -> u32 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) as u32
    }
    /// Uniform in [-1, 1).
    fn f32(&mut self) -> f32 {
        (self.next_u32() >> 7) as f32 / (1u32 << 24) as f32 * 2.0 - 1.0
    }
    fn vec(&mut self, n: usize) -> Vec<f32> {
        (0..n).map(|_| self.f32()).collect()
    }
    /// Uniform in [lo, hi).
    fn vec_in(&mut self, n: usize, lo: f32, hi: f32) -> Vec<f32> {
        (0..n).map(|_| lo + (self.f32() + 1.0) * 0.5 * (hi - lo)).collect()
    }
    fn ids(&mut self, n: usize, below: u32) -> Vec<u32> {
        (0..n).map(|_| self.next_u32() % below).collect()
    }
}

/// Panics unless every |gpu[i] − cpu[i]| ≤ 1e-5 + 1e-4·|cpu[i]|; prints the max difference.
#[track_caller]
fn check(name: &str, gpu: &[f32], cpu: &[f32]) {
    assert_eq!(gpu.len(), cpu.len(), "{name}: length {} vs {}", gpu.len(), cpu.len());
    let (mut max_diff, mut at) = (0.0f32, 0usize);
    let mut bad = None;
    for (i, (&g, &c)) in gpu.iter().zip(cpu).enumerate() {
        let diff = (g - c).abs();
        let ok = diff <= 1e-5 + 1e-4 * c.abs() || (g.to_bits() == c.to_bits());
        if !ok && bad.is_none() {
            bad = Some(i);
        }
        if diff > max_diff || diff.is_nan() {
            (max_diff, at) = (diff, i);
        }
    }
    eprintln!("{name}: n = {}, max |gpu - cpu| = {max_diff:e} at {at}", cpu.len());
    if let Some(i) = bad {
        panic!(
            "{name}: mismatch at {i}: gpu {} vs cpu {} (diff {:e}); max diff {max_diff:e} at {at}: gpu {} vs cpu {}",
            gpu[i],
            cpu[i],
            (gpu[i] - cpu[i]).abs(),
            gpu[at],
            cpu[at]
        );
    }
}

fn dims(batch: usize, m: usize, k: usize, n: usize, a_trans: bool, b_trans: bool) -> MatmulDims {
    MatmulDims { batch, m, k, n, a_trans, b_trans, a_batch_stride: m * k, b_batch_stride: k * n }
}

// ------------------------------------------------------------------ device

#[test]
fn gpu_new_finds_an_adapter() {
    let g = gpu();
    let name = g.describe();
    eprintln!("adapter: {name}");
    assert!(name.contains(" / "), "describe() should name adapter and backend: {name}");
    assert_eq!(g.stats().dispatches, 0);
}

#[test]
fn upload_read_round_trip_and_write_ordering() {
    let g = gpu();
    let data: Vec<f32> = (0..1000).map(|i| i as f32 * 0.5 - 7.0).collect();
    let a = g.upload(&data);
    let ids = g.upload_u32(&[0, 7, 0xdead_beef]);
    let empty = g.alloc(0);
    let back = read(&g, &[&a, &ids, &empty]);
    assert_eq!(back[0], data);
    assert_eq!(back[1].iter().map(|x| x.to_bits()).collect::<Vec<_>>(), vec![0, 7, 0xdead_beef]);
    assert!(back[2].is_empty());

    // write() after a recorded kernel that reads the same buffer must not overtake it.
    let out = g.alloc(1000);
    g.scale(&a, 2.0, &out, 1000);
    g.write(&a, &vec![1.0; 1000]);
    let [o, aa] = <[Vec<f32>; 2]>::try_from(read(&g, &[&out, &a])).unwrap();
    assert_eq!(o, data.iter().map(|x| 2.0 * x).collect::<Vec<_>>());
    assert_eq!(aa, vec![1.0; 1000]);
}

// ------------------------------------------------------------------ elementwise

#[test]
fn elementwise_kernels_match_cpu() {
    let g = gpu();
    let mut r = Lcg(1);
    for n in [1usize, 255, 257, 10_007] {
        let (a, b) = (r.vec_in(n, -6.0, 6.0), r.vec(n));
        let (ga, gb, gout) = (g.upload(&a), g.upload(&b), g.alloc(n));
        let mut cpu_out = vec![0.0; n];

        g.add(&ga, &gb, &gout, n);
        cpu::add(&a, &b, &mut cpu_out);
        check(&format!("add n={n}"), &read1(&g, &gout), &cpu_out);

        g.mul(&ga, &gb, &gout, n);
        cpu::mul(&a, &b, &mut cpu_out);
        check(&format!("mul n={n}"), &read1(&g, &gout), &cpu_out);

        g.scale(&ga, -0.37, &gout, n);
        cpu::scale(&a, -0.37, &mut cpu_out);
        check(&format!("scale n={n}"), &read1(&g, &gout), &cpu_out);
    }
}

#[test]
fn unary_ops_match_cpu() {
    let g = gpu();
    let mut r = Lcg(15);
    for &op in UnaryOp::ALL {
        for n in [1usize, 255, 257, 10_007] {
            let (x, dy) = (r.vec_in(n, -8.0, 8.0), r.vec(n));
            let (gx, gdy, gy, gdx) = (g.upload(&x), g.upload(&dy), g.alloc(n), g.alloc(n));
            let (mut y, mut dx) = (vec![0.0; n], vec![0.0; n]);
            g.unary_forward(op, &gx, &gy, n);
            cpu::unary_forward(op, &x, &mut y);
            // The backward reads x, or the output y, each device its own.
            match op.saved() {
                Saved::Input => {
                    g.unary_backward(op, &gx, &gdy, &gdx, n);
                    cpu::unary_backward(op, &x, &dy, &mut dx);
                }
                Saved::Output => {
                    g.unary_backward(op, &gy, &gdy, &gdx, n);
                    cpu::unary_backward(op, &y, &dy, &mut dx);
                }
            }
            let back = read(&g, &[&gy, &gdx]);
            check(&format!("{} forward n={n}", op.name()), &back[0], &y);
            check(&format!("{} backward n={n}", op.name()), &back[1], &dx);
        }
    }
    // GELU far into both tails, where a naive tanh overflows.
    let x = vec![-100.0, -30.0, -9.0, 0.0, 9.0, 30.0, 100.0];
    let (gx, gy, gdx, gones) = (g.upload(&x), g.alloc(7), g.alloc(7), g.upload(&[1.0; 7]));
    g.unary_forward(UnaryOp::Gelu, &gx, &gy, 7);
    g.unary_backward(UnaryOp::Gelu, &gx, &gones, &gdx, 7);
    let (mut y, mut dx) = (vec![0.0; 7], vec![0.0; 7]);
    cpu::unary_forward(UnaryOp::Gelu, &x, &mut y);
    cpu::unary_backward(UnaryOp::Gelu, &x, &[1.0; 7], &mut dx);
    let back = read(&g, &[&gy, &gdx]);
    check("gelu forward tails", &back[0], &y);
    check("gelu backward tails", &back[1], &dx);
}

#[test]
fn add_bias_and_sum_rows_match_cpu() {
    let g = gpu();
    let mut r = Lcg(2);
    for (rows, cols) in [(1usize, 1usize), (3, 17), (2048, 128), (33, 1000)] {
        // Offset so that no column sum is a near-zero cancellation: sum_rows adds in a tree,
        // the CPU left to right, and near zero the relative tolerance would measure only that.
        let (x, bias) = (r.vec_in(rows * cols, -0.5, 1.0), r.vec(cols));
        let (gx, gbias, gout, gsum) = (g.upload(&x), g.upload(&bias), g.alloc(rows * cols), g.alloc(cols));
        g.add_bias(&gx, &gbias, &gout, rows, cols);
        g.sum_rows(&gx, &gsum, rows, cols);
        let (mut out, mut sum) = (vec![0.0; rows * cols], vec![0.0; cols]);
        cpu::add_bias(&x, &bias, &mut out);
        cpu::sum_rows(&x, &mut sum);
        let back = read(&g, &[&gout, &gsum]);
        check(&format!("add_bias {rows}x{cols}"), &back[0], &out);
        check(&format!("sum_rows {rows}x{cols}"), &back[1], &sum);
    }
}

#[test]
fn grids_past_65535_workgroups_split_over_y() {
    // 65535 workgroups of 256 threads cover 16_776_960 elements; one more row needs y = 2.
    let g = gpu();
    let n = 65535 * 256 + 1000;
    let x: Vec<f32> = (0..n).map(|i| (i % 1013) as f32 - 500.0).collect();
    let (gx, gy) = (g.upload(&x), g.alloc(n));
    g.unary_forward(UnaryOp::Relu, &gx, &gy, n);
    let mut y = vec![0.0; n];
    cpu::unary_forward(UnaryOp::Relu, &x, &mut y);
    check("relu forward n > 65535*256", &read1(&g, &gy), &y);

    // gather_rows has 64 threads per workgroup: 33_000 × 128 outputs need 66_000 workgroups.
    let mut r = Lcg(3);
    let (rows, cols, n_ids) = (50usize, 128usize, 33_000usize);
    let (table, ids) = (r.vec(rows * cols), r.ids(n_ids, rows as u32));
    let (gt, gi, go) = (g.upload(&table), g.upload_u32(&ids), g.alloc(n_ids * cols));
    g.gather_rows(&gt, &gi, &go, n_ids, cols);
    let mut out = vec![0.0; n_ids * cols];
    cpu::gather_rows(&table, &ids, &mut out, cols);
    check("gather_rows 66_000 workgroups", &read1(&g, &go), &out);
}

// ------------------------------------------------------------------ matmul

fn matmul_case(g: &Rc<Gpu>, r: &mut Lcg, d: MatmulDims) {
    let a_len = (d.batch - 1) * d.a_batch_stride + d.m * d.k;
    let b_len = (d.batch - 1) * d.b_batch_stride + d.k * d.n;
    let (a, b) = (r.vec(a_len), r.vec(b_len));
    let (ga, gb) = (g.upload(&a), g.upload(&b));
    let (gout, gnaive) = (g.alloc(d.batch * d.m * d.n), g.alloc(d.batch * d.m * d.n));
    g.matmul(&ga, &gb, &gout, &d);
    g.matmul_naive(&ga, &gb, &gnaive, &d);
    let mut out = vec![0.0; d.batch * d.m * d.n];
    cpu::matmul(&a, &b, &mut out, &d);
    let back = read(g, &[&gout, &gnaive]);
    let name =
        format!("matmul {}x{}x{}x{} a_trans={} b_trans={} sa={} sb={}", d.batch, d.m, d.k, d.n, d.a_trans, d.b_trans, d.a_batch_stride, d.b_batch_stride);
    check(&name, &back[0], &out);
    check(&format!("{name} (naive)"), &back[1], &out);
    check(&format!("{name} (tiled vs naive)"), &back[0], &back[1]);
}

#[test]
fn matmul_matches_cpu_at_odd_sizes_and_all_transposes() {
    let g = gpu();
    let mut r = Lcg(4);
    for (m, k, n) in [(1, 1, 1), (17, 33, 5), (64, 128, 96), (65, 17, 130), (5, 300, 3)] {
        for (at, bt) in [(false, false), (true, false), (false, true), (true, true)] {
            matmul_case(&g, &mut r, dims(1, m, k, n, at, bt));
        }
    }
}

#[test]
fn matmul_batched_with_broadcast() {
    let g = gpu();
    let mut r = Lcg(5);
    for (at, bt) in [(false, false), (true, false), (false, true), (true, true)] {
        // b broadcast: one weight matrix for every batch entry
        let mut d = dims(3, 19, 24, 37, at, bt);
        d.b_batch_stride = 0;
        matmul_case(&g, &mut r, d);
        // a broadcast
        let mut d = dims(3, 8, 70, 9, at, bt);
        d.a_batch_stride = 0;
        matmul_case(&g, &mut r, d);
        // both batched, e.g. attention-style (B·NH, T, hs) products
        matmul_case(&g, &mut r, dims(8, 16, 16, 16, at, bt));
    }
}

#[test]
fn matmul_transformer_shapes() {
    // (B·T, C) · (C, 3C) with B·T = 2048, C = 128: the QKV projection, and its two gradients.
    let g = gpu();
    let mut r = Lcg(6);
    matmul_case(&g, &mut r, dims(1, 2048, 128, 384, false, false));
    matmul_case(&g, &mut r, dims(1, 2048, 384, 128, false, true)); // dx = dy · Wᵀ
    matmul_case(&g, &mut r, dims(1, 128, 2048, 384, true, false)); // dW = xᵀ · dy
}

// ------------------------------------------------------------------ layernorm, embedding

#[test]
fn layernorm_forward_and_backward_match_cpu() {
    let g = gpu();
    let mut r = Lcg(7);
    for (rows, cols) in [(1usize, 1usize), (5, 3), (64, 128), (37, 1000)] {
        let x = r.vec_in(rows * cols, -3.0, 5.0);
        let (gamma, beta, dy) = (r.vec(cols), r.vec(cols), r.vec(rows * cols));
        let (gx, ggamma, gbeta, gdy) = (g.upload(&x), g.upload(&gamma), g.upload(&beta), g.upload(&dy));
        let (gy, gmean, grstd) = (g.alloc(rows * cols), g.alloc(rows), g.alloc(rows));
        let (gdx, gdgamma, gdbeta) = (g.alloc(rows * cols), g.alloc(cols), g.alloc(cols));
        g.layernorm_forward(&gx, &ggamma, &gbeta, &gy, &gmean, &grstd, rows, cols);
        g.layernorm_backward(&gdy, &gx, &ggamma, &gmean, &grstd, &gdx, &gdgamma, &gdbeta, rows, cols);
        let (mut y, mut mean, mut rstd) = (vec![0.0; rows * cols], vec![0.0; rows], vec![0.0; rows]);
        cpu::layernorm_forward(&x, &gamma, &beta, &mut y, &mut mean, &mut rstd);
        let (mut dx, mut dgamma, mut dbeta) = (vec![0.0; rows * cols], vec![0.0; cols], vec![0.0; cols]);
        cpu::layernorm_backward(&dy, &x, &gamma, &mean, &rstd, &mut dx, &mut dgamma, &mut dbeta);
        let back = read(&g, &[&gy, &gmean, &grstd, &gdx, &gdgamma, &gdbeta]);
        let s = format!("{rows}x{cols}");
        check(&format!("layernorm_forward y {s}"), &back[0], &y);
        check(&format!("layernorm_forward mean {s}"), &back[1], &mean);
        check(&format!("layernorm_forward rstd {s}"), &back[2], &rstd);
        check(&format!("layernorm_backward dx {s}"), &back[3], &dx);
        check(&format!("layernorm_backward dgamma {s}"), &back[4], &dgamma);
        check(&format!("layernorm_backward dbeta {s}"), &back[5], &dbeta);
    }
}

#[test]
fn gather_and_scatter_rows_match_cpu() {
    let g = gpu();
    let mut r = Lcg(8);
    for (rows, cols, n_ids) in [(1usize, 1usize, 1usize), (10, 7, 33), (97, 128, 2048)] {
        let (table, ids, dy) = (r.vec(rows * cols), r.ids(n_ids, rows as u32), r.vec(n_ids * cols));
        let (offsets, order) = cpu::csr_inverse(&ids, rows);
        let (gt, gi, gdy) = (g.upload(&table), g.upload_u32(&ids), g.upload(&dy));
        let (goff, gord) = (g.upload_u32(&offsets), g.upload_u32(&order));
        let (gout, gdt) = (g.alloc(n_ids * cols), g.alloc(rows * cols));
        g.gather_rows(&gt, &gi, &gout, n_ids, cols);
        g.scatter_rows(&gdy, &goff, &gord, &gdt, rows, cols);
        let (mut out, mut dt) = (vec![0.0; n_ids * cols], vec![0.0; rows * cols]);
        cpu::gather_rows(&table, &ids, &mut out, cols);
        cpu::scatter_rows(&dy, &offsets, &order, &mut dt, cols);
        let back = read(&g, &[&gout, &gdt]);
        check(&format!("gather_rows {rows}x{cols} n={n_ids}"), &back[0], &out);
        check(&format!("scatter_rows {rows}x{cols} n={n_ids}"), &back[1], &dt);
    }
}

// ------------------------------------------------------------------ attention, loss

#[test]
fn attention_forward_and_backward_match_cpu() {
    let g = gpu();
    let mut r = Lcg(9);
    for (b, t, c, nh) in [(1usize, 1usize, 4usize, 1usize), (2, 17, 32, 4), (2, 70, 128, 4), (1, 8, 192, 2)] {
        let qkv = r.vec(b * t * 3 * c);
        let dout = r.vec(b * t * c);
        let (gqkv, gdout) = (g.upload(&qkv), g.upload(&dout));
        let (gout, gatt, gdqkv) = (g.alloc(b * t * c), g.alloc(b * nh * t * t), g.alloc(b * t * 3 * c));
        g.attention_forward(&gqkv, &gout, &gatt, b, t, c, nh);
        g.attention_backward(&gdout, &gqkv, &gatt, &gdqkv, b, t, c, nh);
        let (mut out, mut att) = (vec![0.0; b * t * c], vec![0.0; b * nh * t * t]);
        cpu::attention_forward(&qkv, &mut out, &mut att, b, t, c, nh);
        let mut dqkv = vec![0.0; b * t * 3 * c];
        cpu::attention_backward(&dout, &qkv, &att, &mut dqkv, b, t, c, nh);
        let back = read(&g, &[&gout, &gatt, &gdqkv]);
        let s = format!("b={b} t={t} c={c} nh={nh}");
        check(&format!("attention_forward out {s}"), &back[0], &out);
        check(&format!("attention_forward att {s}"), &back[1], &att);
        check(&format!("attention_backward dqkv {s}"), &back[2], &dqkv);
    }
}

#[test]
fn unfused_attention_matches_the_fused_kernels() {
    // The benchmark's reference must compute the fused kernels' function: split heads, Q·Kᵀ,
    // masked softmax, P·V, merge, and the backward in the same style, to rounding.
    let g = gpu();
    let mut r = Lcg(16);
    for (b, t, c, nh) in [(3usize, 4usize, 16usize, 4usize), (2, 37, 24, 3)] {
        let (qkv, dout) = (r.vec(b * t * 3 * c), r.vec(b * t * c));
        let (gqkv, gdout) = (g.upload(&qkv), g.upload(&dout));
        let (out, att, dqkv) = (g.alloc(b * t * c), g.alloc(b * nh * t * t), g.alloc(b * t * 3 * c));
        g.attention_forward(&gqkv, &out, &att, b, t, c, nh);
        g.attention_backward(&gdout, &gqkv, &att, &dqkv, b, t, c, nh);
        let unfused = unfused_attention::UnfusedAttention::new(&g, b, t, c, nh);
        let (u_out, u_dqkv) = (g.alloc(b * t * c), g.alloc(b * t * 3 * c));
        unfused.forward(&gqkv, &u_out);
        unfused.backward(&gdout, &u_dqkv);
        let back = read(&g, &[&out, &dqkv, &u_out, &u_dqkv]);
        let s = format!("b={b} t={t} c={c} nh={nh}");
        check(&format!("unfused out vs fused {s}"), &back[2], &back[0]);
        check(&format!("unfused dqkv vs fused {s}"), &back[3], &back[1]);
    }
}

#[test]
fn lstm_forward_and_backward_match_cpu() {
    let g = gpu();
    let mut r = Lcg(14);
    // h = 1; h past one thread's units (100 = 64 + 36); the widest, 256 units, 4 per thread;
    // and 64 steps, the toy's strings, to carry the state (and its gradient) a long way.
    for (b, t, h) in [(1usize, 1usize, 1usize), (3, 17, 100), (2, 5, 256), (4, 64, 32)] {
        let xw = r.vec_in(b * t * 4 * h, -2.0, 2.0);
        let w_h = r.vec_in(h * 4 * h, -0.5, 0.5).iter().map(|w| w / (h as f32).sqrt()).collect::<Vec<_>>();
        let dh = r.vec(b * t * h);
        let (gxw, gw, gdh) = (g.upload(&xw), g.upload(&w_h), g.upload(&dh));
        let (gout, ggates, gc, ghp, gdpre) = (g.alloc(b * t * h), g.alloc(b * t * 4 * h), g.alloc(b * t * h), g.alloc(b * t * h), g.alloc(b * t * 4 * h));
        g.lstm_forward(&gxw, &gw, &gout, &ggates, &gc, &ghp, b, t, h);
        g.lstm_backward(&gdh, &ggates, &gc, &gw, &gdpre, b, t, h);
        let (mut out, mut gates, mut c, mut hp) = (vec![0.0; b * t * h], vec![0.0; b * t * 4 * h], vec![0.0; b * t * h], vec![0.0; b * t * h]);
        cpu::lstm_forward(&xw, &w_h, &mut out, &mut gates, &mut c, &mut hp, b, t, h);
        let mut dpre = vec![0.0; b * t * 4 * h];
        cpu::lstm_backward(&dh, &gates, &c, &w_h, &mut dpre, b, t, h);
        let back = read(&g, &[&gout, &ggates, &gc, &ghp, &gdpre]);
        let s = format!("b={b} t={t} h={h}");
        check(&format!("lstm_forward h {s}"), &back[0], &out);
        check(&format!("lstm_forward gates {s}"), &back[1], &gates);
        check(&format!("lstm_forward c {s}"), &back[2], &c);
        check(&format!("lstm_forward hprev {s}"), &back[3], &hp);
        check(&format!("lstm_backward dpre {s}"), &back[4], &dpre);
    }
}

#[test]
fn attention_entropy_and_the_backward_with_datt_match_cpu() {
    let g = gpu();
    let mut r = Lcg(15);
    for (b, t, c, nh) in [(1usize, 1usize, 4usize, 1usize), (2, 17, 32, 4), (2, 70, 64, 2)] {
        let (n, rows) = (b * nh * t * t, b * nh * t);
        let (qkv, dout, dloss) = (r.vec(b * t * 3 * c), r.vec(b * t * c), [0.6f32]);
        let (gqkv, gdout, gdl) = (g.upload(&qkv), g.upload(&dout), g.upload(&dloss));
        let (gout, gatt, gent, gdatt, gdqkv) = (g.alloc(b * t * c), g.alloc(n), g.alloc(rows), g.alloc(n), g.alloc(b * t * 3 * c));
        g.attention_forward(&gqkv, &gout, &gatt, b, t, c, nh);
        g.attention_entropy_forward(&gatt, &gent, rows, t);
        g.attention_entropy_backward(&gatt, &gdl, &gdatt, n, 0.25);
        g.attention_backward_with(&gdout, &gqkv, &gatt, Some(&gdatt), &gdqkv, b, t, c, nh);
        let (mut out, mut att) = (vec![0.0; b * t * c], vec![0.0; n]);
        cpu::attention_forward(&qkv, &mut out, &mut att, b, t, c, nh);
        let (mut ent, mut datt, mut dqkv) = (vec![0.0; rows], vec![0.0; n], vec![0.0; b * t * 3 * c]);
        cpu::attention_entropy_forward(&att, &mut ent, t);
        cpu::attention_entropy_backward(&att, &dloss, &mut datt, 0.25);
        cpu::attention_backward_with(&dout, &qkv, &att, Some(&datt), &mut dqkv, b, t, c, nh);
        let back = read(&g, &[&gent, &gdatt, &gdqkv]);
        let s = format!("b={b} t={t} c={c} nh={nh}");
        check(&format!("attention_entropy_forward {s}"), &back[0], &ent);
        check(&format!("attention_entropy_backward {s}"), &back[1], &datt);
        check(&format!("attention_backward_with datt {s}"), &back[2], &dqkv);
    }
}

#[test]
fn cross_entropy_forward_and_backward_match_cpu() {
    let g = gpu();
    let mut r = Lcg(10);
    for (n, v) in [(1usize, 1usize), (7, 3), (64, 113), (300, 1000)] {
        let logits = r.vec_in(n * v, -8.0, 8.0);
        let targets = r.ids(n, v as u32);
        let dloss = [0.75f32];
        let scale = 1.0 / n as f32;
        let (gl, gtg, gdl) = (g.upload(&logits), g.upload_u32(&targets), g.upload(&dloss));
        let (gloss, gprobs, gcorrect, gdlogits) = (g.alloc(n), g.alloc(n * v), g.alloc(n), g.alloc(n * v));
        g.cross_entropy_forward(&gl, &gtg, &gloss, &gprobs, &gcorrect, n, v);
        g.cross_entropy_backward(&gprobs, &gtg, &gdl, &gdlogits, n, v, scale, None);
        let (mut loss, mut probs, mut correct) = (vec![0.0; n], vec![0.0; n * v], vec![0.0; n]);
        cpu::cross_entropy_forward(&logits, &targets, &mut loss, &mut probs, &mut correct);
        let mut dlogits = vec![0.0; n * v];
        cpu::cross_entropy_backward(&probs, &targets, &dloss, &mut dlogits, scale, None);
        let back = read(&g, &[&gloss, &gprobs, &gcorrect, &gdlogits]);
        let s = format!("{n}x{v}");
        check(&format!("cross_entropy_forward losses {s}"), &back[0], &loss);
        check(&format!("cross_entropy_forward probs {s}"), &back[1], &probs);
        check(&format!("cross_entropy_forward correct {s}"), &back[2], &correct);
        check(&format!("cross_entropy_backward dlogits {s}"), &back[3], &dlogits);
    }
    // Ties: the first index of the maximum counts, whichever thread saw it.
    let (n, v) = (3usize, 200usize);
    let mut logits = vec![0.0f32; n * v];
    for (row, cols) in [(0, [5usize, 150]), (1, [70, 71]), (2, [0, 199])] {
        for c in cols {
            logits[row * v + c] = 2.0;
        }
    }
    let targets = [150u32, 70, 0];
    let (gl, gtg) = (g.upload(&logits), g.upload_u32(&targets));
    let (gloss, gprobs, gcorrect) = (g.alloc(n), g.alloc(n * v), g.alloc(n));
    g.cross_entropy_forward(&gl, &gtg, &gloss, &gprobs, &gcorrect, n, v);
    assert_eq!(read1(&g, &gcorrect), vec![0.0, 1.0, 1.0], "argmax ties must pick the first index");
}

// ------------------------------------------------------------------ reductions, optimizers

#[test]
fn sum_and_sum_squares_match_cpu() {
    let g = gpu();
    let mut r = Lcg(11);
    for n in [0usize, 1, 255, 256, 257, 4096, 100_003] {
        // Offset so the sum is not a near-zero cancellation, where any reordering shows.
        let x = r.vec_in(n, -0.5, 1.0);
        let (gx, gs, gss) = (g.upload(&x), g.alloc(1), g.alloc(1));
        g.sum(&gx, &gs, n, 0.5);
        g.sum_squares(&gx, &gss, n);
        let (mut s, mut ss) = ([0.0f32], [0.0f32]);
        cpu::sum(&x, &mut s, 0.5);
        cpu::sum_squares(&x, &mut ss);
        let back = read(&g, &[&gs, &gss]);
        check(&format!("sum n={n}"), &back[0], &s);
        check(&format!("sum_squares n={n}"), &back[1], &ss);
    }
}

#[test]
fn optimizer_updates_match_cpu() {
    let g = gpu();
    let mut r = Lcg(12);
    let n = 10_001;
    let (mut param, grad) = (r.vec(n), r.vec(n));
    let mut m = r.vec_in(n, -0.1, 0.1);
    let mut v = r.vec_in(n, 0.0, 0.01);
    let p = AdamParams { lr: 1e-3, beta1: 0.9, beta2: 0.98, eps: 1e-8, weight_decay: 0.1, bc1: 1.0 - 0.9f32.powi(3), bc2: 1.0 - 0.98f32.powi(3) };
    let (gp, gg, gm, gv) = (g.upload(&param), g.upload(&grad), g.upload(&m), g.upload(&v));
    g.adamw_update(&gp, &gg, &gm, &gv, n, &p);
    g.adamw_update(&gp, &gg, &gm, &gv, n, &p); // twice: state carries over
    cpu::adamw_update(&mut param, &grad, &mut m, &mut v, &p);
    cpu::adamw_update(&mut param, &grad, &mut m, &mut v, &p);
    let back = read(&g, &[&gp, &gm, &gv]);
    check("adamw_update param", &back[0], &param);
    check("adamw_update m", &back[1], &m);
    check("adamw_update v", &back[2], &v);
}

// ------------------------------------------------------------------ backend promises

/// Records a forward/backward/update chain shaped like one training step of a small MLP and
/// returns (loss, weight) as read back. Allocates and drops its temporaries inside.
fn mlp_step(g: &Rc<Gpu>, x: &GpuBuffer, w: &GpuBuffer, wm: &GpuBuffer, wv: &GpuBuffer, targets: &GpuBuffer) -> Vec<Vec<f32>> {
    let (n, c, v) = (64usize, 32usize, 10usize);
    let d = dims(1, n, c, v, false, false);
    let (logits, act) = (g.alloc(n * v), g.alloc(n * v));
    g.matmul(x, w, &logits, &d);
    g.unary_forward(UnaryOp::Gelu, &logits, &act, n * v);
    let (losses, probs, correct) = (g.alloc(n), g.alloc(n * v), g.alloc(n));
    g.cross_entropy_forward(&act, targets, &losses, &probs, &correct, n, v);
    let loss = g.alloc(1);
    g.sum(&losses, &loss, n, 1.0 / n as f32);
    let one = g.upload(&[1.0]);
    let (dact, dlogits, dw) = (g.alloc(n * v), g.alloc(n * v), g.alloc(c * v));
    g.cross_entropy_backward(&probs, targets, &one, &dact, n, v, 1.0 / n as f32, None);
    g.unary_backward(UnaryOp::Gelu, &logits, &dact, &dlogits, n * v);
    g.matmul(x, &dlogits, &dw, &dims(1, c, n, v, true, false));
    let p = AdamParams { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0, bc1: 0.1, bc2: 0.001 };
    g.adamw_update(w, &dw, wm, wv, c * v, &p);
    read(g, &[&loss, w])
}

#[test]
fn repeated_steps_create_no_buffers_and_batch_dispatches() {
    let g = gpu();
    let mut r = Lcg(13);
    let (n, c, v) = (64usize, 32usize, 10usize);
    let x = g.upload(&r.vec(n * c));
    let w = g.upload(&r.vec(c * v));
    let (wm, wv) = (g.upload(&vec![0.0; c * v]), g.upload(&vec![0.0; c * v]));
    let targets = g.upload_u32(&r.ids(n, v as u32));
    let first = mlp_step(&g, &x, &w, &wm, &wv, &targets); // warm-up: fills the pools
    let before = g.stats();
    let mut losses = vec![first[0][0]];
    for _ in 0..5 {
        losses.push(mlp_step(&g, &x, &w, &wm, &wv, &targets)[0][0]);
    }
    let after = g.stats();
    eprintln!("stats before {before:?}, after {after:?}; losses {losses:?}");
    assert_eq!(after.buffers_created, before.buffers_created, "a repeated step created buffers");
    assert_eq!(after.dispatches - before.dispatches, 5 * 8, "8 dispatches per step");
    // All of a step's dispatches go out in the read's one submission. (Uploading `one` does
    // not force a flush: its recycled buffer was last used by the previous, already read, step.)
    assert_eq!(after.submissions - before.submissions, 5, "one submission per step");
    assert!(losses.last() < losses.first(), "AdamW on this step should lower the loss: {losses:?}");

    // trim() frees the idle buffers: the next step makes them again and still computes.
    g.trim();
    let loss = mlp_step(&g, &x, &w, &wm, &wv, &targets)[0][0];
    assert!(g.stats().buffers_created > after.buffers_created, "trim() freed nothing");
    assert!(loss < *losses.last().unwrap(), "the step after trim() went wrong: {loss}");
}

#[test]
fn same_kernels_twice_are_bit_identical() {
    let g = gpu();
    let mut r = Lcg(14);
    let (rows, cols) = (256usize, 384usize);
    let x = r.vec(rows * cols);
    let w = r.vec(cols * cols);
    let run = |g: &Rc<Gpu>| {
        let (gx, gw) = (g.upload(&x), g.upload(&w));
        let (y, ones, zeros) = (g.alloc(rows * cols), g.upload(&vec![1.0; cols]), g.upload(&vec![0.0; cols]));
        g.matmul(&gx, &gw, &y, &dims(1, rows, cols, cols, false, true));
        let (ln, mean, rstd) = (g.alloc(rows * cols), g.alloc(rows), g.alloc(rows));
        g.layernorm_forward(&y, &ones, &zeros, &ln, &mean, &rstd, rows, cols);
        let (colsum, total) = (g.alloc(cols), g.alloc(1));
        g.sum_rows(&ln, &colsum, rows, cols);
        g.sum_squares(&y, &total, rows * cols);
        // attention over (B=2, T=64, C=128) read from y, and a loss over its rows
        let (b, t, c, nh) = (2usize, 64usize, 128usize, 4usize);
        let (att_out, att) = (g.alloc(b * t * c), g.alloc(b * nh * t * t));
        g.attention_forward(&y, &att_out, &att, b, t, c, nh);
        let dqkv = g.alloc(b * t * 3 * c);
        g.attention_backward(&att_out, &y, &att, &dqkv, b, t, c, nh);
        let targets = g.upload_u32(&(0..rows as u32).map(|i| i * 7 % cols as u32).collect::<Vec<_>>());
        let (losses, probs, correct) = (g.alloc(rows), g.alloc(rows * cols), g.alloc(rows));
        g.cross_entropy_forward(&y, &targets, &losses, &probs, &correct, rows, cols);
        read(g, &[&y, &ln, &colsum, &total, &att_out, &dqkv, &losses, &probs])
    };
    let first = run(&g);
    let second = run(&g);
    let other_device = run(&gpu());
    for (i, ((a, b), c)) in first.iter().zip(&second).zip(&other_device).enumerate() {
        let bits = |v: &Vec<f32>| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(a), bits(b), "output {i} differs between two runs");
        assert_eq!(bits(a), bits(c), "output {i} differs on a second device of the same adapter");
    }
}

#[test]
fn more_dispatches_than_the_uniform_arena_holds() {
    // 10000 dispatches without a read: the 4096-slot uniform arena fills, the backend flushes
    // early and starts the arena over, and every dispatch must still see its own parameters
    // (a dispatch reading another's slot would scale by 2 or 0.5 twice and break the count).
    let g = gpu();
    let (a, b, one) = (g.upload(&[0.0; 3]), g.alloc(3), g.upload(&[1.0; 3]));
    for _ in 0..2500 {
        g.scale(&a, 2.0, &b, 3);
        g.scale(&b, 0.5, &a, 3);
        g.add(&a, &one, &b, 3);
        g.scale(&b, 1.0, &a, 3); // a += 1
    }
    assert_eq!(read1(&g, &a), vec![2500.0; 3]);
    let s = g.stats();
    assert_eq!(s.dispatches, 10_000);
    assert!(s.submissions >= 3, "10000 dispatches cannot share one 4096-slot arena: {s:?}");
}

#[test]
fn dropout_mask_is_bit_identical_to_cpu() {
    // The mask is integer hashing of (seed, i) on both sides, and a kept unit is one f32 product:
    // the GPU must agree exactly, past 65535 workgroups of 256 (so the grid splits over y).
    let g = gpu();
    let n = 65_536 * 256 + 1000;
    let mut r = Lcg(9);
    let x = r.vec(n);
    for (p, seed) in [(0.1, 1), (0.5, 123_456_789)] {
        let mask = DropoutMask::new(p, seed);
        let mut want = vec![0.0; n];
        cpu::dropout(&x, &mut want, &mask);
        let y = g.alloc(n);
        g.dropout(&g.upload(&x), &y, n, &mask);
        let got = read1(&g, &y);
        let first_diff = got.iter().zip(&want).position(|(a, b)| a.to_bits() != b.to_bits());
        assert_eq!(first_diff, None, "dropout p = {p}: gpu and cpu differ at {first_diff:?}");
        let dropped = want.iter().filter(|&&v| v == 0.0).count() as f32 / n as f32;
        assert!((dropped - p).abs() < 0.01, "dropped share {dropped} at p = {p}");
    }
}

#[test]
fn grad_filter_ema_matches_cpu() {
    let g = gpu();
    let mut r = Lcg(13);
    let n = 10_001;
    let (grad, ema) = (r.vec(n), r.vec(n));
    let (gg, ge, gh, go) = (g.upload(&grad), g.upload(&ema), g.alloc(n), g.alloc(n));
    g.grad_filter_ema(&gg, &ge, &gh, &go, n, 0.98, 2.0);
    let (mut h, mut out) = (vec![0.0; n], vec![0.0; n]);
    cpu::grad_filter_ema(&grad, &ema, &mut h, &mut out, 0.98, 2.0);
    let back = read(&g, &[&gh, &go]);
    check("grad_filter_ema ema_out", &back[0], &h);
    check("grad_filter_ema out", &back[1], &out);
}

#[test]
fn log_softmax_forward_and_backward_match_cpu() {
    let g = gpu();
    let mut r = Lcg(12);
    for (n, v) in [(1usize, 1usize), (5, 5), (70, 9), (130, 300)] {
        let x = r.vec_in(n * v, -20.0, 20.0);
        let dy = r.vec(n * v);
        let (gx, gdy, gy, gdx) = (g.upload(&x), g.upload(&dy), g.alloc(n * v), g.alloc(n * v));
        g.log_softmax_forward(&gx, &gy, n, v);
        g.log_softmax_backward(&gy, &gdy, &gdx, n, v);
        let (mut y, mut dx) = (vec![0.0; n * v], vec![0.0; n * v]);
        cpu::log_softmax_forward(&x, &mut y, v);
        cpu::log_softmax_backward(&y, &dy, &mut dx, v);
        let back = read(&g, &[&gy, &gdx]);
        check(&format!("log_softmax_forward {n}x{v}"), &back[0], &y);
        check(&format!("log_softmax_backward {n}x{v}"), &back[1], &dx);
    }
}

#[test]
fn linear_attention_forward_and_backward_match_cpu() {
    let g = gpu();
    let mut r = Lcg(14);
    // (b, t, c, nh, f): a single step, heads and features past one workgroup's 64 threads, the
    // largest supported F and hs.
    for (b, t, c, nh, f) in [(1usize, 1usize, 4usize, 1usize, 4usize), (2, 17, 32, 2, 32), (1, 40, 128, 1, 128), (2, 9, 64, 4, 70)] {
        let d = cpu::LinearDims { b, t, c, nh, f };
        let nf = b * t * nh * f;
        let (fq, fk) = (r.vec_in(nf, 0.05, 1.5), r.vec_in(nf, 0.05, 1.5));
        let (v, dout) = (r.vec(b * t * c), r.vec(b * t * c));
        let (gq, gk, gv, gdout) = (g.upload(&fq), g.upload(&fk), g.upload(&v), g.upload(&dout));
        let (gout, gden) = (g.alloc(b * t * c), g.alloc(b * nh * t));
        let (gdq, gdk, gdv) = (g.alloc(nf), g.alloc(nf), g.alloc(b * t * c));
        g.linear_attention_forward(&gq, &gk, &gv, &gout, &gden, d);
        g.linear_attention_backward(&gdout, &gout, &gq, &gk, &gv, &gden, &gdq, &gdk, &gdv, d);
        let (mut out, mut den) = (vec![0.0; b * t * c], vec![0.0; b * nh * t]);
        cpu::linear_attention_forward(&fq, &fk, &v, &mut out, &mut den, d);
        let (mut dq, mut dk, mut dv) = (vec![0.0; nf], vec![0.0; nf], vec![0.0; b * t * c]);
        cpu::linear_attention_backward(&dout, &out, &fq, &fk, &v, &den, &mut dq, &mut dk, &mut dv, d);
        let back = read(&g, &[&gout, &gden, &gdq, &gdk, &gdv]);
        let s = format!("b={b} t={t} c={c} nh={nh} f={f}");
        check(&format!("linear_attention_forward out {s}"), &back[0], &out);
        check(&format!("linear_attention_forward den {s}"), &back[1], &den);
        check(&format!("linear_attention_backward dfq {s}"), &back[2], &dq);
        check(&format!("linear_attention_backward dfk {s}"), &back[3], &dk);
        check(&format!("linear_attention_backward dv {s}"), &back[4], &dv);
    }
}
