//! The UNFUSED causal attention on the GPU, the reference that `npm run bench` times against
//! the fused kernels of `shaders/attention.wgsl`: split the heads, S = Q·Kᵀ (batched matmul),
//! masked softmax, Y = P·V, merge the heads, and the backward pass in the same style, as an eager
//! framework runs it (one kernel per op, T×T scores through memory). Training never uses it.
//!
//! Kernels: `shaders/softmax.wgsl` (`softmax_causal_forward` / `_backward`) and
//! `shaders/heads.wgsl` (`split_heads` / `merge_heads`); the products use the tiled matmul.
//! Shapes: qkv, dqkv (B, T, 3C); out, dout (B, T, C); per-head q, k, v, y (B·NH, T, hs);
//! scores and probabilities (B·NH, T, T); hs = C / NH.
//!
//! The formulas are those of `docs/kernels.md` (attention_forward / attention_backward),
//! regrouped: dP = dY·Vᵀ, dV = Pᵀ·dY, dS = scale·P∘(dP − rowsum(P∘dP)), dQ = dS·K, dK = dSᵀ·Q.
//! The scale 1/√hs sits in the softmax kernels; the sums run in another order than the fused
//! kernels', so the two agree to rounding (tested below), not bit for bit.

use std::rc::Rc;

use super::shaders as s;
use super::{Gpu, GpuBuffer, grid_1d};
use crate::backend::MatmulDims;

fn u(x: usize) -> u32 {
    u32::try_from(x).expect("size does not fit in u32")
}

impl Gpu {
    /// x: (rows, t) scores → y: (rows, t) causal softmax of scale·x; row r is position r % t.
    pub fn softmax_causal_forward(&self, x: &GpuBuffer, y: &GpuBuffer, rows: usize, t: usize, scale: f32) {
        assert!(x.len() >= rows * t && y.len() >= rows * t, "softmax_causal_forward: buffers shorter than {rows}×{t}");
        let params = [u(rows), u(t), scale.to_bits()];
        self.dispatch(&s::SOFTMAX_CAUSAL_FORWARD, &params, &[x, y], grid_1d(rows.div_ceil(64)));
    }

    /// y, dy: (rows, t) → dx: (rows, t) = scale·y∘(dy − rowsum(y∘dy)).
    pub fn softmax_causal_backward(&self, y: &GpuBuffer, dy: &GpuBuffer, dx: &GpuBuffer, rows: usize, t: usize, scale: f32) {
        let n = rows * t;
        assert!(y.len() >= n && dy.len() >= n && dx.len() >= n, "softmax_causal_backward: buffers shorter than {rows}×{t}");
        let params = [u(rows), u(t), scale.to_bits()];
        self.dispatch(&s::SOFTMAX_CAUSAL_BACKWARD, &params, &[y, dy, dx], grid_1d(rows.div_ceil(64)));
    }

    /// x: (b, t, width) → heads: (b, nh, t, hs), reading channels offset + h·hs + i.
    #[allow(clippy::too_many_arguments)]
    pub fn split_heads(&self, x: &GpuBuffer, heads: &GpuBuffer, b: usize, t: usize, nh: usize, hs: usize, width: usize, offset: usize) {
        self.heads(&s::SPLIT_HEADS, x, heads, [b, t, nh, hs, width, offset]);
    }

    /// heads: (b, nh, t, hs) → out: (b, t, width), writing only channels offset .. offset + nh·hs.
    #[allow(clippy::too_many_arguments)]
    pub fn merge_heads(&self, heads: &GpuBuffer, out: &GpuBuffer, b: usize, t: usize, nh: usize, hs: usize, width: usize, offset: usize) {
        self.heads(&s::MERGE_HEADS, heads, out, [b, t, nh, hs, width, offset]);
    }

    fn heads(&self, k: &s::Kernel, src: &GpuBuffer, dst: &GpuBuffer, d: [usize; 6]) {
        let [b, t, nh, hs, width, offset] = d;
        let n = b * nh * t * hs;
        assert!(offset + nh * hs <= width, "{}: channels {offset}+{nh}×{hs} exceed width {width}", k.entry);
        let (model, heads) = if k.entry == "split_heads" { (src, dst) } else { (dst, src) };
        assert!(model.len() >= b * t * width && heads.len() >= n, "{}: buffers too short", k.entry);
        self.dispatch(k, &d.map(u), &[src, dst], grid_1d(n.div_ceil(256)));
    }
}

/// The unfused attention's scratch buffers for one shape, allocated once (so a timing loop
/// measures the kernels, not the pool), and its forward and backward passes.
pub struct UnfusedAttention {
    gpu: Rc<Gpu>,
    pub b: usize,
    pub t: usize,
    pub c: usize,
    pub nh: usize,
    q: GpuBuffer,
    k: GpuBuffer,
    v: GpuBuffer,
    /// Scores S = Q·Kᵀ, then probabilities P: (B·NH, T, T).
    s: GpuBuffer,
    p: GpuBuffer,
    y: GpuBuffer,
    dy: GpuBuffer,
    dp: GpuBuffer,
    ds: GpuBuffer,
    dq: GpuBuffer,
    dk: GpuBuffer,
    dv: GpuBuffer,
}

impl UnfusedAttention {
    pub fn new(gpu: &Rc<Gpu>, b: usize, t: usize, c: usize, nh: usize) -> UnfusedAttention {
        assert!(nh > 0 && c.is_multiple_of(nh), "unfused attention: c = {c} is not a multiple of nh = {nh}");
        let (heads, scores) = (b * t * c, b * nh * t * t);
        let a = |n| gpu.alloc(n);
        UnfusedAttention {
            gpu: gpu.clone(),
            b,
            t,
            c,
            nh,
            q: a(heads),
            k: a(heads),
            v: a(heads),
            s: a(scores),
            p: a(scores),
            y: a(heads),
            dy: a(heads),
            dp: a(scores),
            ds: a(scores),
            dq: a(heads),
            dk: a(heads),
            dv: a(heads),
        }
    }

    fn hs(&self) -> usize {
        self.c / self.nh
    }

    /// Batched (B·NH) product of per-head matrices; strides are whole matrices.
    #[allow(clippy::too_many_arguments)]
    fn bmm(&self, a: &GpuBuffer, b: &GpuBuffer, out: &GpuBuffer, m: usize, k: usize, n: usize, a_trans: bool, b_trans: bool) {
        let d = MatmulDims { batch: self.b * self.nh, m, k, n, a_trans, b_trans, a_batch_stride: m * k, b_batch_stride: k * n };
        self.gpu.matmul(a, b, out, &d);
    }

    /// qkv: (B, T, 3C) → out: (B, T, C). Keeps P for the backward pass. Six dispatches.
    pub fn forward(&self, qkv: &GpuBuffer, out: &GpuBuffer) {
        let (g, b, t, c, nh, hs) = (&self.gpu, self.b, self.t, self.c, self.nh, self.hs());
        for (part, dst) in [&self.q, &self.k, &self.v].into_iter().enumerate() {
            g.split_heads(qkv, dst, b, t, nh, hs, 3 * c, part * c);
        }
        self.bmm(&self.q, &self.k, &self.s, t, hs, t, false, true); // S = Q·Kᵀ
        g.softmax_causal_forward(&self.s, &self.p, b * nh * t, t, 1.0 / (hs as f32).sqrt());
        self.bmm(&self.p, &self.v, &self.y, t, t, hs, false, false); // Y = P·V
        g.merge_heads(&self.y, out, b, t, nh, hs, c, 0);
    }

    /// dout: (B, T, C) → dqkv: (B, T, 3C), after `forward` on the same qkv. Nine dispatches.
    pub fn backward(&self, dout: &GpuBuffer, dqkv: &GpuBuffer) {
        let (g, b, t, c, nh, hs) = (&self.gpu, self.b, self.t, self.c, self.nh, self.hs());
        g.split_heads(dout, &self.dy, b, t, nh, hs, c, 0);
        self.bmm(&self.dy, &self.v, &self.dp, t, hs, t, false, true); // dP = dY·Vᵀ
        self.bmm(&self.p, &self.dy, &self.dv, t, t, hs, true, false); // dV = Pᵀ·dY
        g.softmax_causal_backward(&self.p, &self.dp, &self.ds, b * nh * t, t, 1.0 / (hs as f32).sqrt());
        self.bmm(&self.ds, &self.k, &self.dq, t, t, hs, false, false); // dQ = dS·K
        self.bmm(&self.ds, &self.q, &self.dk, t, t, hs, true, false); // dK = dSᵀ·Q
        for (part, src) in [&self.dq, &self.dk, &self.dv].into_iter().enumerate() {
            g.merge_heads(src, dqkv, b, t, nh, hs, 3 * c, part * c);
        }
    }
}

#[cfg(test)]
mod tests {
    //! The unfused reference must compute the fused kernels' function: same out and dqkv as
    //! `attention_forward` / `attention_backward` on the GPU and as the CPU reference.
    use super::*;
    use crate::backend::cpu;

    fn close(name: &str, got: &[f32], want: &[f32]) {
        assert_eq!(got.len(), want.len(), "{name}: lengths differ");
        let (mut worst, mut at) = (0.0f32, 0);
        for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
            let d = (g - w).abs();
            assert!(d <= 1e-5 + 1e-4 * w.abs(), "{name}: at {i}: {g} vs {w} (diff {d:e})");
            if d > worst {
                (worst, at) = (d, i);
            }
        }
        eprintln!("{name}: max |diff| = {worst:e} at {at}");
    }

    #[test]
    fn unfused_attention_matches_fused_on_gpu_and_cpu() {
        let gpu = pollster::block_on(Gpu::new()).unwrap_or_else(|e| panic!("Gpu::new failed: {e}"));
        for (b, t, c, nh) in [(3, 4, 16, 4), (2, 37, 24, 3)] {
            let mut rng = crate::rng::Rng::stream(t as u64, "test");
            let mut rnd = |n: usize| -> Vec<f32> { (0..n).map(|_| 2.0 * rng.uniform() - 1.0).collect() };
            let (qkv, dout) = (rnd(b * t * 3 * c), rnd(b * t * c));
            let (mut out, mut att, mut dqkv) = (vec![0.0; b * t * c], vec![0.0; b * nh * t * t], vec![0.0; b * t * 3 * c]);
            cpu::attention_forward(&qkv, &mut out, &mut att, b, t, c, nh);
            cpu::attention_backward(&dout, &qkv, &att, &mut dqkv, b, t, c, nh);

            let (gqkv, gdout) = (gpu.upload(&qkv), gpu.upload(&dout));
            let (f_out, f_att, f_dqkv) = (gpu.alloc(b * t * c), gpu.alloc(b * nh * t * t), gpu.alloc(b * t * 3 * c));
            gpu.attention_forward(&gqkv, &f_out, &f_att, b, t, c, nh);
            gpu.attention_backward(&gdout, &gqkv, &f_att, &f_dqkv, b, t, c, nh);
            let unfused = UnfusedAttention::new(&gpu, b, t, c, nh);
            let (u_out, u_dqkv) = (gpu.alloc(b * t * c), gpu.alloc(b * t * 3 * c));
            unfused.forward(&gqkv, &u_out);
            unfused.backward(&gdout, &u_dqkv);
            let r = pollster::block_on(gpu.read(&[&f_out, &f_dqkv, &u_out, &u_dqkv])).expect("read");
            let shape = format!("B={b} T={t} C={c} NH={nh}");
            close(&format!("out, unfused vs fused GPU ({shape})"), &r[2], &r[0]);
            close(&format!("dqkv, unfused vs fused GPU ({shape})"), &r[3], &r[1]);
            close(&format!("out, unfused GPU vs CPU ({shape})"), &r[2], &out);
            close(&format!("dqkv, unfused GPU vs CPU ({shape})"), &r[3], &dqkv);
        }
    }
}
