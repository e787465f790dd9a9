//! The CPU reference kernels, one function per row of `docs/kernels.md`; the GPU backend
//! (`backend/gpu`, `shaders/*.wgsl`) implements the same list and is tested against these.
//!
//! Deliberate choices that keep a CPU run bit-identical on every machine, native or wasm:
//! every sum runs sequentially in ascending index order starting from 0.0, nothing uses a fused
//! multiply-add, and exp/ln/tanh come from the `libm` crate rather than the platform.
//! Loops are written so that the compiler vectorises across *independent* outputs only,
//! which does not change any result. Outputs are overwritten, never accumulated into.

mod attention;
mod matmul;
mod pool;

pub use attention::{attention_backward, attention_forward};
pub use matmul::matmul;
pub use pool::CpuBuffer;

use super::AdamParams;

/// out = a + b, elementwise. a, b, out: (n)
pub fn add(a: &[f32], b: &[f32], out: &mut [f32]) {
    for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
        *o = x + y;
    }
}

/// out = a · b, elementwise. a, b, out: (n)
pub fn mul(a: &[f32], b: &[f32], out: &mut [f32]) {
    for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
        *o = x * y;
    }
}

/// out = s · a. a, out: (n)
pub fn scale(a: &[f32], s: f32, out: &mut [f32]) {
    for (o, &x) in out.iter_mut().zip(a) {
        *o = s * x;
    }
}

/// x: (rows, cols), bias: (cols) → out: (rows, cols), out[r,c] = x[r,c] + bias[c].
pub fn add_bias(x: &[f32], bias: &[f32], out: &mut [f32]) {
    let cols = bias.len();
    for (orow, xrow) in out.chunks_exact_mut(cols).zip(x.chunks_exact(cols)) {
        add(xrow, bias, orow);
    }
}

/// x: (rows, cols) → out: (cols), out[c] = Σ_r x[r,c], r ascending (the gradient of `add_bias`).
pub fn sum_rows(x: &[f32], out: &mut [f32]) {
    let cols = out.len();
    out.fill(0.0);
    for xrow in x.chunks_exact(cols) {
        for (o, &v) in out.iter_mut().zip(xrow) {
            *o += v;
        }
    }
}

const GELU_K: f32 = 0.797_884_6; // sqrt(2/π)

/// y = 0.5·x·(1 + tanh(√(2/π)(x + 0.044715x³))), the tanh approximation GPT-2 uses. x, y: (n)
pub fn gelu_forward(x: &[f32], y: &mut [f32]) {
    for (o, &v) in y.iter_mut().zip(x) {
        let u = GELU_K * (v + 0.044715 * v * v * v);
        *o = 0.5 * v * (1.0 + libm::tanhf(u));
    }
}

/// dx = dy · gelu'(x). x, dy, dx: (n)
pub fn gelu_backward(x: &[f32], dy: &[f32], dx: &mut [f32]) {
    for ((o, &v), &g) in dx.iter_mut().zip(x).zip(dy) {
        let u = GELU_K * (v + 0.044715 * v * v * v);
        let th = libm::tanhf(u);
        // d/dx [0.5 x (1 + tanh u)] = 0.5 (1 + tanh u) + 0.5 x (1 − tanh² u) u'
        let du = GELU_K * (1.0 + 3.0 * 0.044715 * v * v);
        *o = g * (0.5 * (1.0 + th) + 0.5 * v * (1.0 - th * th) * du);
    }
}

/// y = max(x, 0). x, y: (n)
pub fn relu_forward(x: &[f32], y: &mut [f32]) {
    for (o, &v) in y.iter_mut().zip(x) {
        *o = if v > 0.0 { v } else { 0.0 };
    }
}

/// dx = x > 0 ? dy : 0. x, dy, dx: (n)
pub fn relu_backward(x: &[f32], dy: &[f32], dx: &mut [f32]) {
    for ((o, &v), &g) in dx.iter_mut().zip(x).zip(dy) {
        *o = if v > 0.0 { g } else { 0.0 };
    }
}

pub const LAYERNORM_EPS: f32 = 1e-5;

/// x: (N, C) → y: (N, C). Also saves mean, rstd: (N) for the backward pass.
pub fn layernorm_forward(
    x: &[f32],
    gamma: &[f32],
    beta: &[f32],
    y: &mut [f32],
    mean: &mut [f32],
    rstd: &mut [f32],
) {
    let c = gamma.len();
    for (r, (xr, yr)) in x.chunks_exact(c).zip(y.chunks_exact_mut(c)).enumerate() {
        let mut s = 0.0f32;
        for &v in xr {
            s += v;
        }
        let m = s / c as f32;
        let mut ss = 0.0f32;
        for &v in xr {
            ss += (v - m) * (v - m);
        }
        let rs = 1.0 / (ss / c as f32 + LAYERNORM_EPS).sqrt();
        for i in 0..c {
            yr[i] = (xr[i] - m) * rs * gamma[i] + beta[i];
        }
        mean[r] = m;
        rstd[r] = rs;
    }
}

/// dy: (N, C) → dx: (N, C), dgamma, dbeta: (C) (overwritten; summed over rows in ascending order).
#[allow(clippy::too_many_arguments)]
pub fn layernorm_backward(
    dy: &[f32],
    x: &[f32],
    gamma: &[f32],
    mean: &[f32],
    rstd: &[f32],
    dx: &mut [f32],
    dgamma: &mut [f32],
    dbeta: &mut [f32],
) {
    let c = gamma.len();
    dgamma.fill(0.0);
    dbeta.fill(0.0);
    for r in 0..mean.len() {
        let (xr, dyr) = (&x[r * c..(r + 1) * c], &dy[r * c..(r + 1) * c]);
        let (m, rs) = (mean[r], rstd[r]);
        // dx = rstd·(dxhat − mean(dxhat) − xhat·mean(dxhat·xhat)), with dxhat = dy·gamma
        let (mut sum_d, mut sum_dx) = (0.0f32, 0.0f32);
        for i in 0..c {
            let xhat = (xr[i] - m) * rs;
            let dxhat = dyr[i] * gamma[i];
            sum_d += dxhat;
            sum_dx += dxhat * xhat;
        }
        let (mean_d, mean_dx) = (sum_d / c as f32, sum_dx / c as f32);
        let dxr = &mut dx[r * c..(r + 1) * c];
        for i in 0..c {
            let xhat = (xr[i] - m) * rs;
            let dxhat = dyr[i] * gamma[i];
            dxr[i] = rs * (dxhat - mean_d - xhat * mean_dx);
            dgamma[i] += dyr[i] * xhat;
            dbeta[i] += dyr[i];
        }
    }
}

/// table: (R, C), ids: (N) → out: (N, C), out[j] = table[ids[j]]. Embedding lookup, and
/// "take one position" of a sequence.
pub fn gather_rows(table: &[f32], ids: &[u32], out: &mut [f32], cols: usize) {
    for (orow, &id) in out.chunks_exact_mut(cols).zip(ids) {
        let i = id as usize * cols;
        orow.copy_from_slice(&table[i..i + cols]);
    }
}

/// dy: (N, C) → out: (R, C), out[r] = Σ_{i ∈ offsets[r]..offsets[r+1]} dy[order[i]]: the gradient
/// of `gather_rows` through the CSR inverse of its ids (see `csr_inverse`), so that the GPU can
/// compute it with one thread per output and no atomics, in the same order.
pub fn scatter_rows(dy: &[f32], offsets: &[u32], order: &[u32], out: &mut [f32], cols: usize) {
    for (r, orow) in out.chunks_exact_mut(cols).enumerate() {
        orow.fill(0.0);
        for &j in &order[offsets[r] as usize..offsets[r + 1] as usize] {
            let src = &dy[j as usize * cols..(j as usize + 1) * cols];
            for (o, &v) in orow.iter_mut().zip(src) {
                *o += v;
            }
        }
    }
}

/// The CSR inverse of `ids` over `rows` table rows: for row r, the positions j with ids[j] == r
/// are order[offsets[r]..offsets[r+1]], ascending. Returns (offsets (R+1), order (N)).
pub fn csr_inverse(ids: &[u32], rows: usize) -> (Vec<u32>, Vec<u32>) {
    let mut offsets = vec![0u32; rows + 1];
    for &id in ids {
        offsets[id as usize + 1] += 1;
    }
    for r in 0..rows {
        offsets[r + 1] += offsets[r];
    }
    let mut next: Vec<u32> = offsets[..rows].to_vec();
    let mut order = vec![0u32; ids.len()];
    for (j, &id) in ids.iter().enumerate() {
        order[next[id as usize] as usize] = j as u32;
        next[id as usize] += 1;
    }
    (offsets, order)
}

/// logits: (N, V), targets: (N) → losses: (N), probs: (N, V), correct: (N).
/// loss = max + ln Σ exp(l − max) − l[target]; correct = 1 when the first argmax is the target.
pub fn cross_entropy_forward(
    logits: &[f32],
    targets: &[u32],
    losses: &mut [f32],
    probs: &mut [f32],
    correct: &mut [f32],
) {
    let v = logits.len() / targets.len();
    for (i, &t) in targets.iter().enumerate() {
        let row = &logits[i * v..(i + 1) * v];
        let (mut max, mut arg) = (row[0], 0usize);
        for (j, &l) in row.iter().enumerate().skip(1) {
            if l > max {
                max = l;
                arg = j;
            }
        }
        let prow = &mut probs[i * v..(i + 1) * v];
        let mut sum = 0.0f32;
        for (p, &l) in prow.iter_mut().zip(row) {
            *p = libm::expf(l - max);
            sum += *p;
        }
        let inv = 1.0 / sum;
        for p in prow.iter_mut() {
            *p *= inv;
        }
        losses[i] = max + libm::logf(sum) - row[t as usize];
        correct[i] = if arg == t as usize { 1.0 } else { 0.0 };
    }
}

/// dlogits[i,v] = (probs[i,v] − [v == target_i]) · dloss[0] · scale. probs, dlogits: (N, V)
pub fn cross_entropy_backward(
    probs: &[f32],
    targets: &[u32],
    dloss: &[f32],
    dlogits: &mut [f32],
    scale: f32,
) {
    let v = probs.len() / targets.len();
    let g = dloss[0] * scale;
    for (i, &t) in targets.iter().enumerate() {
        for j in 0..v {
            let onehot = if j == t as usize { 1.0 } else { 0.0 };
            dlogits[i * v + j] = (probs[i * v + j] - onehot) * g;
        }
    }
}

/// out[0] = scale · Σ x, ascending.
pub fn sum(x: &[f32], out: &mut [f32], scale: f32) {
    let mut s = 0.0f32;
    for &v in x {
        s += v;
    }
    out[0] = scale * s;
}

/// out[0] = Σ x², ascending.
pub fn sum_squares(x: &[f32], out: &mut [f32]) {
    let mut s = 0.0f32;
    for &v in x {
        s += v * v;
    }
    out[0] = s;
}

/// AdamW with decoupled weight decay (Loshchilov & Hutter), in place. param, grad, m, v: (n)
pub fn adamw_update(param: &mut [f32], grad: &[f32], m: &mut [f32], v: &mut [f32], p: &AdamParams) {
    for i in 0..param.len() {
        let g = grad[i];
        m[i] = p.beta1 * m[i] + (1.0 - p.beta1) * g;
        v[i] = p.beta2 * v[i] + (1.0 - p.beta2) * g * g;
        let mut w = param[i];
        w -= p.lr * p.weight_decay * w;
        w -= p.lr * (m[i] / p.bc1) / ((v[i] / p.bc2).sqrt() + p.eps);
        param[i] = w;
    }
}

/// Plain SGD with L2 weight decay folded into the gradient, in place. param, grad: (n)
pub fn sgd_update(param: &mut [f32], grad: &[f32], lr: f32, weight_decay: f32) {
    for (w, &g) in param.iter_mut().zip(grad) {
        *w -= lr * (g + weight_decay * *w);
    }
}

/// x: (N, V) → y: (N, V), y = x − max − ln Σ exp(x − max) per row (sums ascending).
pub fn log_softmax_forward(x: &[f32], y: &mut [f32], v: usize) {
    for (xr, yr) in x.chunks(v).zip(y.chunks_mut(v)) {
        let mut max = xr[0];
        for &l in &xr[1..] {
            max = max.max(l);
        }
        let mut sum = 0.0f32;
        for &l in xr {
            sum += libm::expf(l - max);
        }
        let lse = max + libm::logf(sum);
        for (o, &l) in yr.iter_mut().zip(xr) {
            *o = l - lse;
        }
    }
}

/// y, dy: (N, V) → dx: (N, V) = dy − exp(y)·Σ_v dy (row sums ascending).
pub fn log_softmax_backward(y: &[f32], dy: &[f32], dx: &mut [f32], v: usize) {
    for ((yr, dyr), dxr) in y.chunks(v).zip(dy.chunks(v)).zip(dx.chunks_mut(v)) {
        let mut sum = 0.0f32;
        for &d in dyr {
            sum += d;
        }
        for ((o, &yy), &d) in dxr.iter_mut().zip(yr).zip(dyr) {
            *o = d - libm::expf(yy) * sum;
        }
    }
}
