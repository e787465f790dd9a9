//! The uniform structs the kernels read at `@group(0) @binding(0)`: one `#[repr(C)]` Rust struct
//! per WGSL struct, with the WGSL's field names in its order, so that `Gpu::dispatch` can copy
//! the bytes as they are. Every field is a 4-byte u32 or f32, which WGSL lays out at consecutive
//! 4-byte offsets as C does, so no padding field is needed (a vec3 or a nested struct would need
//! one); a flag is a u32 0 or 1. Each struct names the shader file and struct it mirrors.

use bytemuck::{Pod, Zeroable};

/// matmul.wgsl `Dims`: see `backend::MatmulDims`.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub struct Matmul {
    pub batch: u32,
    pub m: u32,
    pub k: u32,
    pub n: u32,
    pub a_trans: u32,
    pub b_trans: u32,
    pub a_batch_stride: u32,
    pub b_batch_stride: u32,
}

/// elementwise.wgsl `Dims`: add, mul and the unary ops.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub struct Elementwise {
    pub n: u32,
}

/// elementwise.wgsl `ScaleDims`.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub struct Scale {
    pub n: u32,
    pub s: f32,
}

/// elementwise.wgsl `BiasDims`.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub struct Bias {
    pub rows: u32,
    pub cols: u32,
}

/// reduce.wgsl `Dims`: sum, sum_squares (which ignores `scale`), count_zeros.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub struct Reduce {
    pub n: u32,
    pub scale: f32,
}

/// reduce.wgsl `RowsDims`: sum_rows.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub struct Rows {
    pub rows: u32,
    pub cols: u32,
}

/// optim.wgsl `AdamDims`: see `backend::AdamParams`.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub struct Adam {
    pub n: u32,
    pub lr: f32,
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    pub weight_decay: f32,
    pub bc1: f32,
    pub bc2: f32,
}

/// optim.wgsl `OrthoDims`.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub struct Ortho {
    pub n: u32,
}

/// layernorm.wgsl `Dims`.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub struct Layernorm {
    pub rows: u32,
    pub cols: u32,
}

/// attention.wgsl `Dims`; `has_datt` is read by the backward only.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub struct Attention {
    pub b: u32,
    pub t: u32,
    pub c: u32,
    pub nh: u32,
    pub has_datt: u32,
}

/// attention_entropy.wgsl `Dims`: the forward reads n (rows) and t, the backward n (elements)
/// and scale.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub struct AttentionEntropy {
    pub n: u32,
    pub t: u32,
    pub scale: f32,
}

/// linear_attention.wgsl `Dims`: see `cpu::LinearDims`.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub struct LinearAttention {
    pub b: u32,
    pub t: u32,
    pub c: u32,
    pub nh: u32,
    pub f: u32,
}

/// cross_entropy.wgsl `Dims`: both forwards.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub struct CrossEntropy {
    pub n: u32,
    pub v: u32,
}

/// cross_entropy.wgsl `BwDims`: both backwards.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub struct CrossEntropyBackward {
    pub n: u32,
    pub v: u32,
    pub scale: f32,
}

/// embedding.wgsl `GatherDims`.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub struct Gather {
    pub n_ids: u32,
    pub cols: u32,
}

/// embedding.wgsl `ScatterDims`.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub struct Scatter {
    pub rows: u32,
    pub cols: u32,
}

/// dropout.wgsl `Dims`: see `backend::DropoutMask`.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub struct Dropout {
    pub n: u32,
    pub seed: u32,
    pub threshold: u32,
    pub scale: f32,
}

/// grad_filter.wgsl `FilterDims`.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub struct Filter {
    pub n: u32,
    pub alpha: f32,
    pub lamb: f32,
}

/// log_softmax.wgsl `Dims`.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub struct LogSoftmax {
    pub n: u32,
    pub v: u32,
}

/// lstm.wgsl `Dims`.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub struct Lstm {
    pub b: u32,
    pub t: u32,
    pub h: u32,
}
