//! The kernel list of `docs/kernels.md` on the GPU: one method per kernel, with the CPU
//! reference's names and argument order (inputs, then outputs, then sizes and scalars).
//! Outputs are caller-allocated and fully overwritten.
//!
//! Each method checks the buffer lengths against the sizes (a short buffer would otherwise read
//! or write out of bounds, which WebGPU clamps silently), fills its shader's uniform struct
//! (`uniforms.rs`), and records one dispatch (two for layernorm_backward) with the grid the
//! shader's header comment asks for. Nothing is submitted here.

use super::shaders as s;
use super::uniforms as wgsl;
use super::{Gpu, GpuBuffer, grid_1d};
use crate::backend::cpu::LinearDims;
use crate::backend::{AdamParams, DropoutMask, MatmulDims, UnaryOp};
use crate::limits;

/// A size as the u32 the uniform structs hold. A tensor holds far fewer than 2³² values (one
/// buffer is at most 128 MiB), so this only catches a direct caller's mistake.
fn u(x: usize) -> u32 {
    u32::try_from(x).expect("size does not fit in u32")
}

/// Panics with the kernel and argument name when a buffer is too short.
#[track_caller]
fn need(kernel: &str, name: &str, buf: &GpuBuffer, len: usize) {
    assert!(buf.len() >= len, "{kernel}: {name} has {} elements, needs {len}", buf.len());
}

/// Panics with `limits`' message when a size is past a kernel's limit. The tensor ops run the
/// same check first, on both backends, and return it as an error; this catches direct callers.
#[track_caller]
fn within(check: Result<(), limits::Exceeded>) {
    if let Err(e) = check {
        panic!("{e}");
    }
}

/// Grid for one thread per element with `per_group` threads per workgroup.
fn grid_threads(n: usize, per_group: usize) -> [u32; 3] {
    grid_1d(n.div_ceil(per_group))
}

impl Gpu {
    /// out (batch, m, n) = op(a) (m, k) · op(b) (k, n); see `MatmulDims`. Tiled 64×64 kernel.
    pub fn matmul(&self, a: &GpuBuffer, b: &GpuBuffer, out: &GpuBuffer, d: &MatmulDims) {
        self.matmul_with(&s::MATMUL_TILED, 64, a, b, out, d);
    }

    /// The same product with one thread per output: the readable reference the tiled kernel is
    /// tested against, and a baseline for benchmarks.
    pub fn matmul_naive(&self, a: &GpuBuffer, b: &GpuBuffer, out: &GpuBuffer, d: &MatmulDims) {
        self.matmul_with(&s::MATMUL_NAIVE, 16, a, b, out, d);
    }

    fn matmul_with(&self, k: &s::Kernel, tile: usize, a: &GpuBuffer, b: &GpuBuffer, out: &GpuBuffer, d: &MatmulDims) {
        let last = d.batch.saturating_sub(1);
        need(k.entry, "a", a, last * d.a_batch_stride + d.m * d.k);
        need(k.entry, "b", b, last * d.b_batch_stride + d.k * d.n);
        need(k.entry, "out", out, d.batch * d.m * d.n);
        let dims = wgsl::Matmul {
            batch: u(d.batch),
            m: u(d.m),
            k: u(d.k),
            n: u(d.n),
            a_trans: d.a_trans.into(),
            b_trans: d.b_trans.into(),
            a_batch_stride: u(d.a_batch_stride),
            b_batch_stride: u(d.b_batch_stride),
        };
        let groups = [u(d.n.div_ceil(tile)), u(d.m.div_ceil(tile)), u(d.batch)];
        self.dispatch(k, &dims, &[a, b, out], groups);
    }

    /// out = a + b. a, b, out: (n)
    pub fn add(&self, a: &GpuBuffer, b: &GpuBuffer, out: &GpuBuffer, n: usize) {
        self.binary(&s::ADD, a, b, out, n);
    }

    /// out = a · b. a, b, out: (n)
    pub fn mul(&self, a: &GpuBuffer, b: &GpuBuffer, out: &GpuBuffer, n: usize) {
        self.binary(&s::MUL, a, b, out, n);
    }

    fn binary(&self, k: &s::Kernel, a: &GpuBuffer, b: &GpuBuffer, out: &GpuBuffer, n: usize) {
        need(k.entry, "a", a, n);
        need(k.entry, "b", b, n);
        need(k.entry, "out", out, n);
        self.dispatch(k, &wgsl::Elementwise { n: u(n) }, &[a, b, out], grid_threads(n, 256));
    }

    /// out = s · a. a, out: (n)
    pub fn scale(&self, a: &GpuBuffer, s: f32, out: &GpuBuffer, n: usize) {
        need("scale", "a", a, n);
        need("scale", "out", out, n);
        self.dispatch(&s::SCALE, &wgsl::Scale { n: u(n), s }, &[a, out], grid_threads(n, 256));
    }

    /// x: (rows, cols), bias: (cols) → out: (rows, cols), out[r,c] = x[r,c] + bias[c].
    pub fn add_bias(&self, x: &GpuBuffer, bias: &GpuBuffer, out: &GpuBuffer, rows: usize, cols: usize) {
        need("add_bias", "x", x, rows * cols);
        need("add_bias", "bias", bias, cols);
        need("add_bias", "out", out, rows * cols);
        self.dispatch(&s::ADD_BIAS, &wgsl::Bias { rows: u(rows), cols: u(cols) }, &[x, bias, out], grid_threads(rows * cols, 256));
    }

    /// x: (rows, cols) → out: (cols), out[c] = Σ_r x[r,c] (fixed tree of 16 row lanes).
    pub fn sum_rows(&self, x: &GpuBuffer, out: &GpuBuffer, rows: usize, cols: usize) {
        need("sum_rows", "x", x, rows * cols);
        need("sum_rows", "out", out, cols);
        self.dispatch(&s::SUM_ROWS, &wgsl::Rows { rows: u(rows), cols: u(cols) }, &[x, out], grid_threads(cols, 16));
    }

    /// y = f(x) for `op`, with the entry point its row of `backend::UnaryOp`'s table names. x, y: (n)
    pub fn unary_forward(&self, op: UnaryOp, x: &GpuBuffer, y: &GpuBuffer, n: usize) {
        let [k, _] = s::unary(op);
        need(k.entry, "x", x, n);
        need(k.entry, "y", y, n);
        self.dispatch(&k, &wgsl::Elementwise { n: u(n) }, &[x, y], grid_threads(n, 256));
    }

    /// dx = dy·f'(x) for `op`, from v = x or y as `op.saved()` says. v, dy, dx: (n)
    pub fn unary_backward(&self, op: UnaryOp, v: &GpuBuffer, dy: &GpuBuffer, dx: &GpuBuffer, n: usize) {
        let [_, k] = s::unary(op);
        self.binary(&k, v, dy, dx, n);
    }

    /// x: (rows, cols) → y: (rows, cols); also mean, rstd: (rows) for the backward pass.
    #[allow(clippy::too_many_arguments)]
    pub fn layernorm_forward(
        &self,
        x: &GpuBuffer,
        gamma: &GpuBuffer,
        beta: &GpuBuffer,
        y: &GpuBuffer,
        mean: &GpuBuffer,
        rstd: &GpuBuffer,
        rows: usize,
        cols: usize,
    ) {
        let e = "layernorm_forward";
        need(e, "x", x, rows * cols);
        need(e, "gamma", gamma, cols);
        need(e, "beta", beta, cols);
        need(e, "y", y, rows * cols);
        need(e, "mean", mean, rows);
        need(e, "rstd", rstd, rows);
        let bufs = [x, gamma, beta, y, mean, rstd];
        self.dispatch(&s::LAYERNORM_FORWARD, &wgsl::Layernorm { rows: u(rows), cols: u(cols) }, &bufs, grid_1d(rows));
    }

    /// dy: (rows, cols) → dx: (rows, cols), dgamma, dbeta: (cols) (overwritten). Two dispatches:
    /// dx with one workgroup per row, then dgamma/dbeta with one thread per column.
    #[allow(clippy::too_many_arguments)]
    pub fn layernorm_backward(
        &self,
        dy: &GpuBuffer,
        x: &GpuBuffer,
        gamma: &GpuBuffer,
        mean: &GpuBuffer,
        rstd: &GpuBuffer,
        dx: &GpuBuffer,
        dgamma: &GpuBuffer,
        dbeta: &GpuBuffer,
        rows: usize,
        cols: usize,
    ) {
        let e = "layernorm_backward";
        need(e, "dy", dy, rows * cols);
        need(e, "x", x, rows * cols);
        need(e, "gamma", gamma, cols);
        need(e, "mean", mean, rows);
        need(e, "rstd", rstd, rows);
        need(e, "dx", dx, rows * cols);
        need(e, "dgamma", dgamma, cols);
        need(e, "dbeta", dbeta, cols);
        let bufs = [dy, x, gamma, mean, rstd, dx, dgamma, dbeta];
        let dims = wgsl::Layernorm { rows: u(rows), cols: u(cols) };
        self.dispatch(&s::LAYERNORM_BACKWARD_DX, &dims, &bufs, grid_1d(rows));
        self.dispatch(&s::LAYERNORM_BACKWARD_DPARAMS, &dims, &bufs, grid_threads(cols, 64));
    }

    /// table: (R, cols), ids: (n_ids) u32 → out: (n_ids, cols), out[j] = table[ids[j]].
    /// Every id must be < R (not checked here: the ids live on the GPU).
    pub fn gather_rows(&self, table: &GpuBuffer, ids: &GpuBuffer, out: &GpuBuffer, n_ids: usize, cols: usize) {
        need("gather_rows", "ids", ids, n_ids);
        need("gather_rows", "out", out, n_ids * cols);
        let groups = grid_threads(n_ids * cols, 64);
        self.dispatch(&s::GATHER_ROWS, &wgsl::Gather { n_ids: u(n_ids), cols: u(cols) }, &[table, ids, out], groups);
    }

    /// dy: (N, cols), offsets: (rows + 1) u32, order: (N) u32 → out: (rows, cols), the gradient
    /// of gather_rows through the CSR inverse of its ids (`cpu::csr_inverse`).
    #[allow(clippy::too_many_arguments)]
    pub fn scatter_rows(&self, dy: &GpuBuffer, offsets: &GpuBuffer, order: &GpuBuffer, out: &GpuBuffer, rows: usize, cols: usize) {
        need("scatter_rows", "offsets", offsets, rows + 1);
        need("scatter_rows", "out", out, rows * cols);
        let groups = grid_threads(rows * cols, 64);
        self.dispatch(&s::SCATTER_ROWS, &wgsl::Scatter { rows: u(rows), cols: u(cols) }, &[dy, offsets, order, out], groups);
    }

    /// qkv: (b, t, 3c) → out: (b, t, c), att: (b, nh, t, t). Causal softmax attention, one
    /// workgroup per (batch, head).
    #[allow(clippy::too_many_arguments)]
    pub fn attention_forward(&self, qkv: &GpuBuffer, out: &GpuBuffer, att: &GpuBuffer, b: usize, t: usize, c: usize, nh: usize) {
        assert!(nh > 0 && c.is_multiple_of(nh), "attention_forward: c = {c} is not a multiple of nh = {nh}");
        need("attention_forward", "qkv", qkv, b * t * 3 * c);
        need("attention_forward", "out", out, b * t * c);
        need("attention_forward", "att", att, b * nh * t * t);
        let dims = wgsl::Attention { b: u(b), t: u(t), c: u(c), nh: u(nh), has_datt: 0 };
        self.dispatch(&s::ATTENTION_FORWARD, &dims, &[qkv, out, att], grid_1d(b * nh));
    }

    /// dout: (b, t, c), qkv: (b, t, 3c), att: (b, nh, t, t) → dqkv: (b, t, 3c) (overwritten).
    /// t ≤ `limits::ATTENTION_MAX_T`.
    #[allow(clippy::too_many_arguments)]
    pub fn attention_backward(&self, dout: &GpuBuffer, qkv: &GpuBuffer, att: &GpuBuffer, dqkv: &GpuBuffer, b: usize, t: usize, c: usize, nh: usize) {
        self.attention_backward_with(dout, qkv, att, None, dqkv, b, t, c, nh);
    }

    /// `attention_backward` with an extra gradient on the probabilities, datt: (b, nh, t, t),
    /// added to dout_t·v_u before the softmax Jacobian (`cpu::attention_backward_with`).
    #[allow(clippy::too_many_arguments)]
    pub fn attention_backward_with(
        &self,
        dout: &GpuBuffer,
        qkv: &GpuBuffer,
        att: &GpuBuffer,
        datt: Option<&GpuBuffer>,
        dqkv: &GpuBuffer,
        b: usize,
        t: usize,
        c: usize,
        nh: usize,
    ) {
        let e = "attention_backward";
        assert!(nh > 0 && c.is_multiple_of(nh), "{e}: c = {c} is not a multiple of nh = {nh}");
        within(limits::attention(b, t, c, nh));
        need(e, "dout", dout, b * t * c);
        need(e, "qkv", qkv, b * t * 3 * c);
        need(e, "att", att, b * nh * t * t);
        need(e, "dqkv", dqkv, b * t * 3 * c);
        if let Some(d) = datt {
            need(e, "datt", d, b * nh * t * t);
        }
        // Without datt the kernel never reads binding 5; att stands in for it.
        let dims = wgsl::Attention { b: u(b), t: u(t), c: u(c), nh: u(nh), has_datt: datt.is_some().into() };
        let bufs = [dout, qkv, att, dqkv, datt.unwrap_or(att)];
        self.dispatch(&s::ATTENTION_BACKWARD, &dims, &bufs, grid_1d(b * nh));
    }

    /// fq, fk: (b, t, nh·f), v: (b, t, c) → out: (b, t, c), den: (b, nh, t). Causal linear
    /// attention as a scan, one workgroup per (batch, head). f ≤ `limits::LINEAR_ATTENTION_MAX_F`,
    /// c/nh ≤ `limits::LINEAR_ATTENTION_MAX_HS`.
    #[allow(clippy::too_many_arguments)]
    pub fn linear_attention_forward(&self, fq: &GpuBuffer, fk: &GpuBuffer, v: &GpuBuffer, out: &GpuBuffer, den: &GpuBuffer, d: LinearDims) {
        let e = "linear_attention_forward";
        assert!(d.nh > 0 && d.c.is_multiple_of(d.nh), "{e}: c = {} is not a multiple of nh = {}", d.c, d.nh);
        within(limits::linear_attention(&d));
        let nf = d.b * d.t * d.nh * d.f;
        need(e, "fq", fq, nf);
        need(e, "fk", fk, nf);
        need(e, "v", v, d.b * d.t * d.c);
        need(e, "out", out, d.b * d.t * d.c);
        need(e, "den", den, d.b * d.nh * d.t);
        let dims = wgsl::LinearAttention { b: u(d.b), t: u(d.t), c: u(d.c), nh: u(d.nh), f: u(d.f) };
        self.dispatch(&s::LINEAR_ATTENTION_FORWARD, &dims, &[fq, fk, v, out, den], grid_1d(d.b * d.nh));
    }

    /// dout, out: (b, t, c), fq, fk: (b, t, nh·f), v: (b, t, c), den: (b, nh, t) →
    /// dfq, dfk: (b, t, nh·f), dv: (b, t, c) (overwritten). Two dispatches: dfq by a forward
    /// scan, then dfk and dv by a reverse one.
    #[allow(clippy::too_many_arguments)]
    pub fn linear_attention_backward(
        &self,
        dout: &GpuBuffer,
        out: &GpuBuffer,
        fq: &GpuBuffer,
        fk: &GpuBuffer,
        v: &GpuBuffer,
        den: &GpuBuffer,
        dfq: &GpuBuffer,
        dfk: &GpuBuffer,
        dv: &GpuBuffer,
        d: LinearDims,
    ) {
        let e = "linear_attention_backward";
        assert!(d.nh > 0 && d.c.is_multiple_of(d.nh), "{e}: c = {} is not a multiple of nh = {}", d.c, d.nh);
        within(limits::linear_attention(&d));
        let (nc, nf) = (d.b * d.t * d.c, d.b * d.t * d.nh * d.f);
        for (name, buf, len) in [
            ("dout", dout, nc),
            ("out", out, nc),
            ("fq", fq, nf),
            ("fk", fk, nf),
            ("v", v, nc),
            ("den", den, d.b * d.nh * d.t),
            ("dfq", dfq, nf),
            ("dfk", dfk, nf),
            ("dv", dv, nc),
        ] {
            need(e, name, buf, len);
        }
        let dims = wgsl::LinearAttention { b: u(d.b), t: u(d.t), c: u(d.c), nh: u(d.nh), f: u(d.f) };
        let groups = grid_1d(d.b * d.nh);
        self.dispatch(&s::LINEAR_ATTENTION_BACKWARD_Q, &dims, &[dout, out, fq, fk, v, den, dfq], groups);
        self.dispatch(&s::LINEAR_ATTENTION_BACKWARD_KV, &dims, &[dout, out, fq, fk, v, den, dfk, dv], groups);
    }

    /// logits: (n, v), targets: (n) u32 → losses: (n), probs: (n, v), correct: (n).
    #[allow(clippy::too_many_arguments)]
    pub fn cross_entropy_forward(
        &self,
        logits: &GpuBuffer,
        targets: &GpuBuffer,
        losses: &GpuBuffer,
        probs: &GpuBuffer,
        correct: &GpuBuffer,
        n: usize,
        v: usize,
    ) {
        let e = "cross_entropy_forward";
        need(e, "logits", logits, n * v);
        need(e, "targets", targets, n);
        need(e, "losses", losses, n);
        need(e, "probs", probs, n * v);
        need(e, "correct", correct, n);
        let bufs = [logits, targets, losses, probs, correct];
        self.dispatch(&s::CROSS_ENTROPY_FORWARD, &wgsl::CrossEntropy { n: u(n), v: u(v) }, &bufs, grid_1d(n));
    }

    /// probs: (n, v), targets: (n), dloss: (1) → dlogits: (n, v) = (probs − onehot)·dloss·scale,
    /// each entry further divided by 1 + |logit| when StableMax passes its logits (n, v), as in
    /// `cpu::cross_entropy_backward`.
    #[allow(clippy::too_many_arguments)]
    pub fn cross_entropy_backward(
        &self,
        probs: &GpuBuffer,
        targets: &GpuBuffer,
        dloss: &GpuBuffer,
        dlogits: &GpuBuffer,
        n: usize,
        v: usize,
        scale: f32,
        stablemax_logits: Option<&GpuBuffer>,
    ) {
        let e = "cross_entropy_backward";
        need(e, "probs", probs, n * v);
        need(e, "targets", targets, n);
        need(e, "dloss", dloss, 1);
        need(e, "dlogits", dlogits, n * v);
        let groups = grid_threads(n * v, 64);
        let params = wgsl::CrossEntropyBackward { n: u(n), v: u(v), scale };
        match stablemax_logits {
            None => self.dispatch(&s::CROSS_ENTROPY_BACKWARD, &params, &[probs, targets, dloss, dlogits], groups),
            Some(logits) => {
                need(e, "logits", logits, n * v);
                self.dispatch(&s::STABLEMAX_CROSS_ENTROPY_BACKWARD, &params, &[logits, probs, targets, dloss, dlogits], groups);
            }
        }
    }

    /// out[0] = scale · Σ x. x: (n). One workgroup, fixed tree.
    pub fn sum(&self, x: &GpuBuffer, out: &GpuBuffer, n: usize, scale: f32) {
        need("sum", "x", x, n);
        need("sum", "out", out, 1);
        self.dispatch(&s::SUM, &wgsl::Reduce { n: u(n), scale }, &[x, out], [1, 1, 1]);
    }

    /// out[0] = Σ x². x: (n). One workgroup, fixed tree.
    pub fn sum_squares(&self, x: &GpuBuffer, out: &GpuBuffer, n: usize) {
        need("sum_squares", "x", x, n);
        need("sum_squares", "out", out, 1);
        self.dispatch(&s::SUM_SQUARES, &wgsl::Reduce { n: u(n), scale: 1.0 }, &[x, out], [1, 1, 1]);
    }

    /// AdamW step in place. param, grad, m, v: (n)
    pub fn adamw_update(&self, param: &GpuBuffer, grad: &GpuBuffer, m: &GpuBuffer, v: &GpuBuffer, n: usize, p: &AdamParams) {
        for (name, buf) in [("param", param), ("grad", grad), ("m", m), ("v", v)] {
            need("adamw_update", name, buf, n);
        }
        let params = wgsl::Adam { n: u(n), lr: p.lr, beta1: p.beta1, beta2: p.beta2, eps: p.eps, weight_decay: p.weight_decay, bc1: p.bc1, bc2: p.bc2 };
        self.dispatch(&s::ADAMW_UPDATE, &params, &[param, grad, m, v], grid_threads(n, 256));
    }

    /// y = keep(seed, i) ? scale·x : 0 (inverted dropout; also its own backward, on dy). x, y: (n)
    pub fn dropout(&self, x: &GpuBuffer, y: &GpuBuffer, n: usize, mask: &DropoutMask) {
        need("dropout", "x", x, n);
        need("dropout", "y", y, n);
        let params = wgsl::Dropout { n: u(n), seed: mask.seed, threshold: mask.threshold, scale: mask.scale };
        self.dispatch(&s::DROPOUT_MASK, &params, &[x, y], grid_threads(n, 256));
    }

    /// As `cross_entropy_forward`, with StableMax in place of softmax.
    #[allow(clippy::too_many_arguments)]
    pub fn stablemax_cross_entropy_forward(
        &self,
        logits: &GpuBuffer,
        targets: &GpuBuffer,
        losses: &GpuBuffer,
        probs: &GpuBuffer,
        correct: &GpuBuffer,
        n: usize,
        v: usize,
    ) {
        let e = "stablemax_cross_entropy_forward";
        need(e, "logits", logits, n * v);
        need(e, "targets", targets, n);
        need(e, "losses", losses, n);
        need(e, "probs", probs, n * v);
        need(e, "correct", correct, n);
        let bufs = [logits, targets, losses, probs, correct];
        self.dispatch(&s::STABLEMAX_CROSS_ENTROPY_FORWARD, &wgsl::CrossEntropy { n: u(n), v: u(v) }, &bufs, grid_1d(n));
    }

    /// out[0] = scale · #{x == 0}. x: (n). One workgroup, fixed tree.
    pub fn count_zeros(&self, x: &GpuBuffer, out: &GpuBuffer, n: usize, scale: f32) {
        need("count_zeros", "x", x, n);
        need("count_zeros", "out", out, 1);
        self.dispatch(&s::COUNT_ZEROS, &wgsl::Reduce { n: u(n), scale }, &[x, out], [1, 1, 1]);
    }

    /// out = g − (g·w / w·w)·w (⊥Grad). w, g, out: (n). One workgroup, fixed tree.
    pub fn orthogonal_grad(&self, w: &GpuBuffer, g: &GpuBuffer, out: &GpuBuffer, n: usize) {
        for (name, buf) in [("w", w), ("g", g), ("out", out)] {
            need("orthogonal_grad", name, buf, n);
        }
        self.dispatch(&s::ORTHOGONAL_GRAD, &wgsl::Ortho { n: u(n) }, &[w, g, out], [1, 1, 1]);
    }

    /// Grokfast's slow-gradient filter: ema_out = alpha·ema + (1−alpha)·grad, then
    /// out = grad + lamb·ema_out. grad, ema, ema_out, out: (n)
    #[allow(clippy::too_many_arguments)]
    pub fn grad_filter_ema(&self, grad: &GpuBuffer, ema: &GpuBuffer, ema_out: &GpuBuffer, out: &GpuBuffer, n: usize, alpha: f32, lamb: f32) {
        for (name, buf) in [("grad", grad), ("ema", ema), ("ema_out", ema_out), ("out", out)] {
            need("grad_filter_ema", name, buf, n);
        }
        self.dispatch(&s::GRAD_FILTER_EMA, &wgsl::Filter { n: u(n), alpha, lamb }, &[grad, ema, ema_out, out], grid_threads(n, 256));
    }

    /// x: (n, v) → y: (n, v) = row-wise log-softmax. One thread per row.
    pub fn log_softmax_forward(&self, x: &GpuBuffer, y: &GpuBuffer, n: usize, v: usize) {
        need("log_softmax_forward", "x", x, n * v);
        need("log_softmax_forward", "y", y, n * v);
        self.dispatch(&s::LOG_SOFTMAX_FORWARD, &wgsl::LogSoftmax { n: u(n), v: u(v) }, &[x, y], grid_threads(n, 64));
    }

    /// y, dy: (n, v) → dx: (n, v) = dy − exp(y)·rowsum(dy). One thread per row.
    pub fn log_softmax_backward(&self, y: &GpuBuffer, dy: &GpuBuffer, dx: &GpuBuffer, n: usize, v: usize) {
        let e = "log_softmax_backward";
        need(e, "y", y, n * v);
        need(e, "dy", dy, n * v);
        need(e, "dx", dx, n * v);
        self.dispatch(&s::LOG_SOFTMAX_BACKWARD, &wgsl::LogSoftmax { n: u(n), v: u(v) }, &[y, dy, dx], grid_threads(n, 64));
    }

    /// xw: (b, t, 4h), w_h: (h, 4h) → out: (b, t, h); also gates: (b, t, 4h), c, hprev:
    /// (b, t, h) for the backward pass. One workgroup per sequence; h ≤ `limits::LSTM_MAX_H`.
    #[allow(clippy::too_many_arguments)]
    pub fn lstm_forward(
        &self,
        xw: &GpuBuffer,
        w_h: &GpuBuffer,
        out: &GpuBuffer,
        gates: &GpuBuffer,
        c: &GpuBuffer,
        hprev: &GpuBuffer,
        b: usize,
        t: usize,
        h: usize,
    ) {
        let e = "lstm_forward";
        within(limits::lstm(b, t, h));
        need(e, "xw", xw, b * t * 4 * h);
        need(e, "w_h", w_h, h * 4 * h);
        need(e, "out", out, b * t * h);
        need(e, "gates", gates, b * t * 4 * h);
        need(e, "c", c, b * t * h);
        need(e, "hprev", hprev, b * t * h);
        self.dispatch(&s::LSTM_FORWARD, &wgsl::Lstm { b: u(b), t: u(t), h: u(h) }, &[xw, w_h, out, gates, c, hprev], grid_1d(b));
    }

    /// dh: (b, t, h), gates: (b, t, 4h), c: (b, t, h), w_h: (h, 4h) → dpre: (b, t, 4h), the
    /// gradient of the gate pre-activations, by backpropagation through time.
    #[allow(clippy::too_many_arguments)]
    pub fn lstm_backward(&self, dh: &GpuBuffer, gates: &GpuBuffer, c: &GpuBuffer, w_h: &GpuBuffer, dpre: &GpuBuffer, b: usize, t: usize, h: usize) {
        let e = "lstm_backward";
        within(limits::lstm(b, t, h));
        need(e, "dh", dh, b * t * h);
        need(e, "gates", gates, b * t * 4 * h);
        need(e, "c", c, b * t * h);
        need(e, "w_h", w_h, h * 4 * h);
        need(e, "dpre", dpre, b * t * 4 * h);
        self.dispatch(&s::LSTM_BACKWARD, &wgsl::Lstm { b: u(b), t: u(t), h: u(h) }, &[dh, gates, c, w_h, dpre], grid_1d(b));
    }

    /// att: (rows, t) attention rows → ent: (rows), each row's entropy −Σ a·ln a.
    pub fn attention_entropy_forward(&self, att: &GpuBuffer, ent: &GpuBuffer, rows: usize, t: usize) {
        need("attention_entropy_forward", "att", att, rows * t);
        need("attention_entropy_forward", "ent", ent, rows);
        self.dispatch(&s::ATTENTION_ENTROPY_FORWARD, &wgsl::AttentionEntropy { n: u(rows), t: u(t), scale: 0.0 }, &[att, ent], grid_threads(rows, 64));
    }

    /// att: (n) probabilities, dloss: (1) → datt: (n) = −dloss·scale·(ln a + 1) where a > 0, else 0.
    pub fn attention_entropy_backward(&self, att: &GpuBuffer, dloss: &GpuBuffer, datt: &GpuBuffer, n: usize, scale: f32) {
        need("attention_entropy_backward", "att", att, n);
        need("attention_entropy_backward", "dloss", dloss, 1);
        need("attention_entropy_backward", "datt", datt, n);
        self.dispatch(&s::ATTENTION_ENTROPY_BACKWARD, &wgsl::AttentionEntropy { n: u(n), t: 0, scale }, &[att, dloss, datt], grid_threads(n, 64));
    }
}
