//! The UNFUSED causal attention on the GPU, the reference that the attention benchmark times
//! against the fused kernels of `shaders/attention.wgsl`: split the heads, S = Q·Kᵀ (batched
//! matmul), masked softmax, Y = P·V, merge the heads, and the backward pass in the same style, as
//! an eager framework runs it (one kernel per op, T×T scores through memory). Training never
//! uses it, so it lives here rather than in the engine, with its own kernel table and uniforms.
//! `tests/gpu_kernels.rs` includes this file to check it against the fused kernels.
//!
//! Kernels: `shaders/softmax.wgsl` (`softmax_causal_forward` / `_backward`) and
//! `shaders/heads.wgsl` (`split_heads` / `merge_heads`); the products use the tiled matmul.
//! Shapes: qkv, dqkv (B, T, 3C); out, dout (B, T, C); per-head q, k, v, y (B·NH, T, hs);
//! scores and probabilities (B·NH, T, T); hs = C / NH.
//!
//! The formulas are those of `docs/kernels.md` (attention_forward / attention_backward),
//! regrouped: dP = dY·Vᵀ, dV = Pᵀ·dY, dS = scale·P∘(dP − rowsum(P∘dP)), dQ = dS·K, dK = dSᵀ·Q.
//! The scale 1/√hs sits in the softmax kernels; the sums run in another order than the fused
//! kernels', so the two agree to rounding, not bit for bit.

use std::rc::Rc;

use Access::{Read as R, ReadWrite as W};
use bytemuck::{Pod, Zeroable};
use papertoys::backend::MatmulDims;
use papertoys::backend::gpu::shaders::{Access, Kernel};
use papertoys::backend::gpu::{Gpu, GpuBuffer, grid_1d};

const SOFTMAX: &str = include_str!("../../../shaders/softmax.wgsl");
const HEADS: &str = include_str!("../../../shaders/heads.wgsl");

const fn kernel(file: &'static str, source: &'static str, entry: &'static str, storage: &'static [Access]) -> Kernel {
    Kernel { file, source, entry, storage }
}

const SOFTMAX_CAUSAL_FORWARD: Kernel = kernel("softmax.wgsl", SOFTMAX, "softmax_causal_forward", &[R, W]);
const SOFTMAX_CAUSAL_BACKWARD: Kernel = kernel("softmax.wgsl", SOFTMAX, "softmax_causal_backward", &[R, R, W]);
const SPLIT_HEADS: Kernel = kernel("heads.wgsl", HEADS, "split_heads", &[R, W]);
const MERGE_HEADS: Kernel = kernel("heads.wgsl", HEADS, "merge_heads", &[R, W]);

/// softmax.wgsl `Dims`.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct SoftmaxDims {
    rows: u32,
    t: u32,
    scale: f32,
}

/// heads.wgsl `Dims`.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct HeadsDims {
    b: u32,
    t: u32,
    nh: u32,
    hs: u32,
    width: u32,
    offset: u32,
}

fn u(x: usize) -> u32 {
    u32::try_from(x).expect("size does not fit in u32")
}

/// x: (rows, t) scores → y: (rows, t) causal softmax of scale·x; row r is position r % t.
fn softmax_causal_forward(gpu: &Gpu, x: &GpuBuffer, y: &GpuBuffer, rows: usize, t: usize, scale: f32) {
    assert!(x.len() >= rows * t && y.len() >= rows * t, "softmax_causal_forward: buffers shorter than {rows}×{t}");
    gpu.dispatch(&SOFTMAX_CAUSAL_FORWARD, &SoftmaxDims { rows: u(rows), t: u(t), scale }, &[x, y], grid_1d(rows.div_ceil(64)));
}

/// y, dy: (rows, t) → dx: (rows, t) = scale·y∘(dy − rowsum(y∘dy)).
fn softmax_causal_backward(gpu: &Gpu, y: &GpuBuffer, dy: &GpuBuffer, dx: &GpuBuffer, rows: usize, t: usize, scale: f32) {
    let n = rows * t;
    assert!(y.len() >= n && dy.len() >= n && dx.len() >= n, "softmax_causal_backward: buffers shorter than {rows}×{t}");
    gpu.dispatch(&SOFTMAX_CAUSAL_BACKWARD, &SoftmaxDims { rows: u(rows), t: u(t), scale }, &[y, dy, dx], grid_1d(rows.div_ceil(64)));
}

/// split_heads: x (b, t, width) → heads (b, nh, t, hs), reading channels offset + h·hs + i;
/// merge_heads: heads → out (b, t, width), writing only channels offset .. offset + nh·hs.
fn heads(gpu: &Gpu, k: &Kernel, src: &GpuBuffer, dst: &GpuBuffer, [b, t, nh, hs, width, offset]: [usize; 6]) {
    let n = b * nh * t * hs;
    assert!(offset + nh * hs <= width, "{}: channels {offset}+{nh}×{hs} exceed width {width}", k.entry);
    let (model, heads) = if k.entry == "split_heads" { (src, dst) } else { (dst, src) };
    assert!(model.len() >= b * t * width && heads.len() >= n, "{}: buffers too short", k.entry);
    let dims = HeadsDims { b: u(b), t: u(t), nh: u(nh), hs: u(hs), width: u(width), offset: u(offset) };
    gpu.dispatch(k, &dims, &[src, dst], grid_1d(n.div_ceil(256)));
}

/// The unfused attention's scratch buffers for one shape, allocated once (so a timing loop
/// measures the kernels, not the pool), and its forward and backward passes.
pub struct UnfusedAttention {
    gpu: Rc<Gpu>,
    b: usize,
    t: usize,
    c: usize,
    nh: usize,
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
        let (per_head, scores) = (b * t * c, b * nh * t * t);
        let a = |n| gpu.alloc(n);
        UnfusedAttention {
            gpu: gpu.clone(),
            b,
            t,
            c,
            nh,
            q: a(per_head),
            k: a(per_head),
            v: a(per_head),
            s: a(scores),
            p: a(scores),
            y: a(per_head),
            dy: a(per_head),
            dp: a(scores),
            ds: a(scores),
            dq: a(per_head),
            dk: a(per_head),
            dv: a(per_head),
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
            heads(g, &SPLIT_HEADS, qkv, dst, [b, t, nh, hs, 3 * c, part * c]);
        }
        self.bmm(&self.q, &self.k, &self.s, t, hs, t, false, true); // S = Q·Kᵀ
        softmax_causal_forward(g, &self.s, &self.p, b * nh * t, t, 1.0 / (hs as f32).sqrt());
        self.bmm(&self.p, &self.v, &self.y, t, t, hs, false, false); // Y = P·V
        heads(g, &MERGE_HEADS, &self.y, out, [b, t, nh, hs, c, 0]);
    }

    /// dout: (B, T, C) → dqkv: (B, T, 3C), after `forward` on the same qkv. Nine dispatches.
    pub fn backward(&self, dout: &GpuBuffer, dqkv: &GpuBuffer) {
        let (g, b, t, c, nh, hs) = (&self.gpu, self.b, self.t, self.c, self.nh, self.hs());
        heads(g, &SPLIT_HEADS, dout, &self.dy, [b, t, nh, hs, c, 0]);
        self.bmm(&self.dy, &self.v, &self.dp, t, hs, t, false, true); // dP = dY·Vᵀ
        self.bmm(&self.p, &self.dy, &self.dv, t, t, hs, true, false); // dV = Pᵀ·dY
        softmax_causal_backward(g, &self.p, &self.dp, &self.ds, b * nh * t, t, 1.0 / (hs as f32).sqrt());
        self.bmm(&self.ds, &self.k, &self.dq, t, t, hs, false, false); // dQ = dS·K
        self.bmm(&self.ds, &self.q, &self.dk, t, t, hs, true, false); // dK = dSᵀ·Q
        for (part, src) in [&self.dq, &self.dk, &self.dv].into_iter().enumerate() {
            heads(g, &MERGE_HEADS, src, dqkv, [b, t, nh, hs, 3 * c, part * c]);
        }
    }
}
