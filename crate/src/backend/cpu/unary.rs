//! The element-wise unary ops on the CPU: each op's function of one f32 and its backward, which
//! the table in `backend/unary.rs` names, and the loops that apply them to a whole tensor.
//!
//! Each backward is written as the kernel computes dx from (x or y, dy), not as dy times a
//! derivative, so that its f32 operations, and so its bits, are the ones the engine always had.

use super::{tanh, threads};

const GELU_K: f32 = 0.797_884_6; // sqrt(2/π)

/// 0.5·x·(1 + tanh(√(2/π)(x + 0.044715x³))), the tanh approximation GPT-2 uses.
#[inline(always)]
pub fn gelu(x: f32) -> f32 {
    let u = GELU_K * (x + 0.044715 * x * x * x);
    0.5 * x * (1.0 + tanh(u))
}

/// dy · gelu'(x).
#[inline(always)]
pub fn gelu_backward(x: f32, dy: f32) -> f32 {
    let th = tanh(GELU_K * (x + 0.044715 * x * x * x));
    // d/dx [0.5 x (1 + tanh u)] = 0.5 (1 + tanh u) + 0.5 x (1 − tanh² u) u'
    let du = GELU_K * (1.0 + 3.0 * 0.044715 * x * x);
    dy * (0.5 * (1.0 + th) + 0.5 * x * (1.0 - th * th) * du)
}

/// max(x, 0).
#[inline(always)]
pub fn relu(x: f32) -> f32 {
    if x > 0.0 { x } else { 0.0 }
}

/// x > 0 ? dy : 0.
#[inline(always)]
pub fn relu_backward(x: f32, dy: f32) -> f32 {
    if x > 0.0 { dy } else { 0.0 }
}

/// elu(x) + 1 = x + 1 for x > 0, exp(x) for x ≤ 0: positive, the feature map of Katharopoulos et
/// al. 2020 (§3.2).
#[inline(always)]
pub fn elu_plus_one(x: f32) -> f32 {
    if x > 0.0 { x + 1.0 } else { libm::expf(x) }
}

/// dy · (x > 0 ? 1 : exp(x)).
#[inline(always)]
pub fn elu_plus_one_backward(x: f32, dy: f32) -> f32 {
    if x > 0.0 { dy } else { dy * libm::expf(x) }
}

/// exp(x), from `libm` on every target (deliberate: the platform's expf differs from wasm's).
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    libm::expf(x)
}

/// dy · y from the forward's output y = exp(x).
#[inline(always)]
pub fn exp_backward(y: f32, dy: f32) -> f32 {
    y * dy
}

/// y[i] = f(x[i]). x, y: (n). `work` is one element's cost in units of `threads::parts`.
/// Generic over `f`, so that each op's function inlines and the loop vectorises.
#[inline(always)]
pub(crate) fn map(x: &[f32], y: &mut [f32], work: usize, f: impl Fn(f32) -> f32 + Sync) {
    let part = y.len().div_ceil(threads::parts(work * y.len())).max(1);
    threads::run(y.chunks_mut(part).zip(x.chunks(part)), |(y, x)| {
        for (o, &v) in y.iter_mut().zip(x) {
            *o = f(v);
        }
    });
}

/// dx[i] = f(v[i], dy[i]), v being x or y as the op's backward reads. v, dy, dx: (n)
#[inline(always)]
pub(crate) fn map_backward(v: &[f32], dy: &[f32], dx: &mut [f32], work: usize, f: impl Fn(f32, f32) -> f32 + Sync) {
    let part = dx.len().div_ceil(threads::parts(work * dx.len())).max(1);
    threads::run(dx.chunks_mut(part).zip(v.chunks(part)).zip(dy.chunks(part)), |((dx, v), dy)| {
        for ((o, &a), &g) in dx.iter_mut().zip(v).zip(dy) {
            *o = f(a, g);
        }
    });
}
