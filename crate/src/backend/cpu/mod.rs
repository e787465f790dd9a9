//! The CPU reference kernels, one function per row of `docs/kernels.md`; the GPU backend
//! (`backend/gpu`, `shaders/*.wgsl`) implements the same list and is tested against these.
//!
//! Deliberate choices that keep a CPU run bit-identical on every machine, native or wasm:
//! every sum runs sequentially in ascending index order starting from 0.0, nothing uses a fused
//! multiply-add, exp/ln come from the `libm` crate rather than the platform, and tanh is a
//! rational function of plain f32 operations (`tanh`). The element-wise unary ops (GELU, ReLU,
//! elu+1, exp) are `unary_forward` / `unary_backward`, generated from `backend/unary.rs`'s table.
//! Loops are written so that the compiler vectorises across *independent* outputs only,
//! which does not change any result. Outputs are overwritten, never accumulated into.

mod attention;
mod linear_attention;
mod lstm;
mod matmul;
mod pool;
mod threads;
pub mod unary;

pub use super::unary::{unary_backward, unary_forward};
pub use attention::{attention_backward, attention_backward_with, attention_entropy_backward, attention_entropy_forward, attention_forward};
pub use linear_attention::{LINEAR_ATTENTION_EPS, LinearDims, linear_attention_backward, linear_attention_forward, linear_attention_weights};
pub use lstm::{lstm_backward, lstm_forward};
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

/// tanh(u) as the odd rational minimax p(u)/q(u) of degrees 13/6 that Eigen and XLA use, written
/// in plain f32 multiplies, adds and one division in a fixed order (no libm call, no FMA), so
/// that the GELU loops vectorise natively and in wasm and give the same bits on both (libm's
/// tanhf was a third of a training step). Relative error ≤ 4e-7 (7 ulp near ±1; `tests/ops.rs`
/// checks it against f64); beyond |u| = 7.905 tanh rounds to ±1 in f32, so u is clamped there.
#[inline(always)]
pub fn tanh(u: f32) -> f32 {
    const CLAMP: f32 = 7.905_311;
    let u = u.clamp(-CLAMP, CLAMP);
    let u2 = u * u;
    let mut p = -2.760_768_4e-16f32;
    p = p * u2 + 2.000_188e-13;
    p = p * u2 + -8.604_672e-11;
    p = p * u2 + 5.122_297_3e-8;
    p = p * u2 + 1.485_722_35e-5;
    p = p * u2 + 6.372_619_5e-4;
    p = p * u2 + 4.893_524_6e-3;
    let mut q = 1.198_258_4e-6f32;
    q = q * u2 + 1.185_347_1e-4;
    q = q * u2 + 2.268_434_7e-3;
    q = q * u2 + 4.893_525e-3;
    u * p / q
}

pub const LAYERNORM_EPS: f32 = 1e-5;

/// x: (N, C) → y: (N, C). Also saves mean, rstd: (N) for the backward pass.
pub fn layernorm_forward(x: &[f32], gamma: &[f32], beta: &[f32], y: &mut [f32], mean: &mut [f32], rstd: &mut [f32]) {
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
pub fn layernorm_backward(dy: &[f32], x: &[f32], gamma: &[f32], mean: &[f32], rstd: &[f32], dx: &mut [f32], dgamma: &mut [f32], dbeta: &mut [f32]) {
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
pub fn cross_entropy_forward(logits: &[f32], targets: &[u32], losses: &mut [f32], probs: &mut [f32], correct: &mut [f32]) {
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
/// With `stablemax_logits` (StableMax's forward, Prieto et al. 2025, §4) each entry is further
/// divided by 1 + |logits[i,v]|: d/dl [ln Σ s − ln s_t] = s'(l_v)/Σ s − [v = t]·s'(l_t)/s(l_t),
/// and s'(x)/s(x) = 1/(1 + |x|) on both branches of s.
pub fn cross_entropy_backward(probs: &[f32], targets: &[u32], dloss: &[f32], dlogits: &mut [f32], scale: f32, stablemax_logits: Option<&[f32]>) {
    let v = probs.len() / targets.len();
    let g = dloss[0] * scale;
    for (i, &t) in targets.iter().enumerate() {
        for j in 0..v {
            let onehot = if j == t as usize { 1.0 } else { 0.0 };
            let k = i * v + j;
            let d = (probs[k] - onehot) * g;
            dlogits[k] = match stablemax_logits {
                Some(l) => d / (1.0 + l[k].abs()),
                None => d,
            };
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

/// PCG's output permutation ("RXS M XS") as a 32-bit hash; `shaders/dropout.wgsl` has the same.
fn pcg_hash(v: u32) -> u32 {
    let state = v.wrapping_mul(747_796_405).wrapping_add(2_891_336_453);
    let word = ((state >> ((state >> 28) + 4)) ^ state).wrapping_mul(277_803_737);
    (word >> 22) ^ word
}

/// y[i] = keep(i) ? scale·x[i] : 0 with the mask of `DropoutMask`. x, y: (n). Also the backward
/// pass (applied to dy), since y = x·m gives dx = dy·m.
pub fn dropout(x: &[f32], y: &mut [f32], mask: &super::DropoutMask) {
    let seed = pcg_hash(mask.seed);
    for (i, (o, &v)) in y.iter_mut().zip(x).enumerate() {
        let keep = (pcg_hash(i as u32 ^ seed) >> 8) >= mask.threshold;
        *o = if keep { mask.scale * v } else { 0.0 };
    }
}

/// StableMax's stand-in for exp (Prieto et al. 2025, §4): s(x) = x + 1 for x ≥ 0, 1/(1 − x) for
/// x < 0. It grows linearly rather than exponentially, so large logits do not absorb the rest.
pub fn stablemax_s(x: f32) -> f32 {
    if x >= 0.0 { x + 1.0 } else { 1.0 / (1.0 - x) }
}

/// logits: (N, V), targets: (N) → losses: (N), probs: (N, V), correct: (N), as
/// `cross_entropy_forward` with StableMax in place of softmax: probs = s(l) / Σ s(l) (no max to
/// subtract: s never overflows), loss = ln Σ s(l) − ln s(l[target]).
pub fn stablemax_cross_entropy_forward(logits: &[f32], targets: &[u32], losses: &mut [f32], probs: &mut [f32], correct: &mut [f32]) {
    let v = logits.len() / targets.len();
    for (i, &t) in targets.iter().enumerate() {
        let row = &logits[i * v..(i + 1) * v];
        let prow = &mut probs[i * v..(i + 1) * v];
        let (mut max, mut arg, mut sum) = (row[0], 0usize, 0.0f32);
        for (j, (p, &l)) in prow.iter_mut().zip(row).enumerate() {
            if l > max {
                max = l;
                arg = j;
            }
            *p = stablemax_s(l);
            sum += *p;
        }
        let s_target = prow[t as usize];
        let inv = 1.0 / sum;
        for p in prow.iter_mut() {
            *p *= inv;
        }
        losses[i] = libm::logf(sum) - libm::logf(s_target);
        correct[i] = if arg == t as usize { 1.0 } else { 0.0 };
    }
}

/// out[0] = scale · #{i : x[i] == 0} (the share of training examples whose loss is exactly 0
/// with scale = 1/n). Counts in f32 are exact below 2²⁴.
pub fn count_zeros(x: &[f32], out: &mut [f32], scale: f32) {
    let mut c = 0.0f32;
    for &v in x {
        if v == 0.0 {
            c += 1.0;
        }
    }
    out[0] = scale * c;
}

/// out = g − (g·w / w·w)·w: the gradient g of one parameter tensor w with its component along w
/// removed (⊥Grad, Prieto et al. 2025, §5); out = g when w = 0. Dots ascending. w, g, out: (n)
pub fn orthogonal_grad(w: &[f32], g: &[f32], out: &mut [f32]) {
    let (mut gw, mut ww) = (0.0f32, 0.0f32);
    for (&a, &b) in g.iter().zip(w) {
        gw += a * b;
        ww += b * b;
    }
    let c = if ww > 0.0 { gw / ww } else { 0.0 };
    for ((o, &a), &b) in out.iter_mut().zip(g).zip(w) {
        *o = a - c * b;
    }
}

/// Grokfast's slow-gradient filter (Lee et al. 2024, Algorithm 2), one step:
/// ema_out = alpha·ema + (1−alpha)·grad, then out = grad + lamb·ema_out.
/// grad, ema, ema_out, out: (n)
pub fn grad_filter_ema(grad: &[f32], ema: &[f32], ema_out: &mut [f32], out: &mut [f32], alpha: f32, lamb: f32) {
    for i in 0..grad.len() {
        let g = grad[i];
        let e = alpha * ema[i] + (1.0 - alpha) * g;
        ema_out[i] = e;
        out[i] = g + lamb * e;
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
