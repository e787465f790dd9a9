//! Compute backends. `cpu` is the reference (ndarray storage, hand-written kernels in a fixed
//! summation order, `libm` math), `gpu` runs the same kernels as WGSL through wgpu.
//! Both implement the kernel list in `cpu/mod.rs` with the same names and argument order;
//! `tensor.rs` picks one by matching on the storage, so toys never name a backend. `unary` is the
//! table of element-wise unary ops that both backends read; the size limits both share are in
//! `crate::limits`.

pub mod cpu;
pub mod gpu;
pub mod unary;

pub use unary::{Saved, UnaryOp};

/// Shape of a (batched) matrix product: out (batch, m, n) = op(a) (m, k) · op(b) (k, n).
/// `a_trans` means `a` is stored as (k, m); `b_trans` means `b` is stored as (n, k).
/// A batch stride of 0 broadcasts that operand over the batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MatmulDims {
    pub batch: usize,
    pub m: usize,
    pub k: usize,
    pub n: usize,
    pub a_trans: bool,
    pub b_trans: bool,
    pub a_batch_stride: usize,
    pub b_batch_stride: usize,
}

/// One AdamW step's scalars. `bc1`, `bc2` are the bias corrections 1 − βᵗ, computed once by the
/// host (with `libm::powf`) so that both backends use the same f32 values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamParams {
    pub lr: f32,
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    pub weight_decay: f32,
    pub bc1: f32,
    pub bc2: f32,
}

/// One dropout call's mask, shared by both backends: unit i is kept when
/// `(pcg_hash(i ^ pcg_hash(seed)) >> 8) >= threshold`, and kept units are multiplied by `scale`.
/// Integer hashing makes the mask identical on CPU and GPU and lets the backward pass redraw it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DropoutMask {
    pub seed: u32,
    /// round(p · 2²⁴): the share p of 24-bit draws below it are dropped.
    pub threshold: u32,
    /// 1 / (1 − p), so that the expected output equals the input (inverted dropout).
    pub scale: f32,
}

impl DropoutMask {
    /// The mask that drops a share `p` in [0, 1) of the units, drawn from `seed`.
    pub fn new(p: f32, seed: u32) -> DropoutMask {
        DropoutMask { seed, threshold: (p * (1u32 << 24) as f32).round() as u32, scale: 1.0 / (1.0 - p) }
    }
}
