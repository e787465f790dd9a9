//! The kernels' size limits, each declared once for both backends, and one check per kernel
//! family.
//!
//! The limits come from the GPU: WGSL has no dynamically sized private or workgroup arrays, so a
//! kernel that keeps per-thread or per-workgroup state sizes it for a maximum, and every tensor
//! is one storage buffer, which WebGPU's default limits cap at 128 MiB. The tensor ops run these
//! checks on both backends before they dispatch, so that a CPU run refuses what a GPU run would
//! (a shared link behaves the same on both) and a bad size is an error, not an assert that traps
//! the wasm instance. A toy's `validate` can call the same functions on its config and name its
//! own key: `Exceeded` says which quantity, its value and the maximum.

use std::fmt;

use crate::backend::MatmulDims;
use crate::backend::cpu::LinearDims;
use crate::error::Error;

/// WebGPU's default `maxStorageBufferBindingSize`, which every device offers: one tensor's bytes.
pub const MAX_BUFFER_BYTES: usize = 128 << 20;
/// f32 (or u32) values in one tensor.
pub const MAX_ELEMENTS: usize = MAX_BUFFER_BYTES / 4;
/// WebGPU's default `maxComputeWorkgroupsPerDimension`.
pub const MAX_WORKGROUPS_PER_DIMENSION: usize = 65535;

/// Longest sequence T of softmax attention: attention_backward keeps one f32 per row of a
/// (batch, head) pair in workgroup memory (`MAX_T` in shaders/attention.wgsl).
pub const ATTENTION_MAX_T: usize = 1024;
/// Most features F per head of linear attention: each thread carries a column of the F × hs scan
/// state in a private array (`MAX_F` in shaders/linear_attention.wgsl).
pub const LINEAR_ATTENTION_MAX_F: usize = 128;
/// Largest head size hs of linear attention: the backward's threads carry rows of hs values
/// (`MAX_HS` in shaders/linear_attention.wgsl).
pub const LINEAR_ATTENTION_MAX_HS: usize = 128;
/// Widest LSTM hidden size H: a thread owns 4 of the units and the backward shares 4·H floats in
/// workgroup memory (`MAX_H` in shaders/lstm.wgsl).
pub const LSTM_MAX_H: usize = 256;
/// Largest m, k or n of a matmul: the tiled kernel runs one workgroup per 64 × 64 output tile
/// along m and n, and the backward passes make k an output dimension too.
pub const MATMUL_MAX_DIM: usize = 64 * MAX_WORKGROUPS_PER_DIMENSION;
/// Most matrices in a batched matmul: one workgroup row per batch entry.
pub const MATMUL_MAX_BATCH: usize = MAX_WORKGROUPS_PER_DIMENSION;

/// A size past a kernel family's limit: which family, which quantity, its value and the maximum.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exceeded {
    pub kernel: &'static str,
    pub quantity: &'static str,
    pub value: u64,
    pub max: u64,
}

impl fmt::Display for Exceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} = {} exceeds the kernels' maximum of {}", self.kernel, self.quantity, self.value, self.max)
    }
}

impl From<Exceeded> for Error {
    fn from(e: Exceeded) -> Error {
        Error(e.to_string())
    }
}

/// The product of sizes, saturating rather than wrapping (usize is 32 bits in wasm).
fn product(sizes: &[usize]) -> u64 {
    sizes.iter().fold(1u64, |p, &s| p.saturating_mul(s as u64))
}

fn at_most(kernel: &'static str, quantity: &'static str, value: u64, max: usize) -> Result<(), Exceeded> {
    if value > max as u64 { Err(Exceeded { kernel, quantity, value, max: max as u64 }) } else { Ok(()) }
}

/// One tensor of `sizes` (its dimensions, multiplied) must fit one storage buffer.
pub fn buffer(kernel: &'static str, quantity: &'static str, sizes: &[usize]) -> Result<(), Exceeded> {
    at_most(kernel, quantity, product(sizes), MAX_ELEMENTS)
}

/// `Tensor::matmul` and its backward passes: out (batch, m, n) = (m, k) · (k, n).
pub fn matmul(d: &MatmulDims) -> Result<(), Exceeded> {
    let k = "matmul";
    at_most(k, "batch", d.batch as u64, MATMUL_MAX_BATCH)?;
    at_most(k, "rows m", d.m as u64, MATMUL_MAX_DIM)?;
    at_most(k, "inner size k", d.k as u64, MATMUL_MAX_DIM)?;
    at_most(k, "columns n", d.n as u64, MATMUL_MAX_DIM)?;
    buffer(k, "output values batch·m·n", &[d.batch, d.m, d.n])
}

/// `Tensor::attention`: causal softmax attention over qkv (B, T, 3C) with NH heads.
pub fn attention(b: usize, t: usize, c: usize, nh: usize) -> Result<(), Exceeded> {
    at_most("attention", "sequence length T", t as u64, ATTENTION_MAX_T)?;
    buffer("attention", "qkv values B·T·3C", &[b, t, 3, c])?;
    buffer("attention", "attention weights B·NH·T·T", &[b, nh, t, t])
}

/// `Tensor::linear_attention`: φq, φk (B, T, NH·F), v (B, T, C).
pub fn linear_attention(d: &LinearDims) -> Result<(), Exceeded> {
    at_most("linear_attention", "features per head F", d.f as u64, LINEAR_ATTENTION_MAX_F)?;
    at_most("linear_attention", "head size C/NH", (d.c / d.nh.max(1)) as u64, LINEAR_ATTENTION_MAX_HS)?;
    buffer("linear_attention", "feature values B·T·NH·F", &[d.b, d.t, d.nh, d.f])?;
    buffer("linear_attention", "values B·T·C", &[d.b, d.t, d.c])
}

/// `Tensor::lstm`: xw and the saved gates (B, T, 4H).
pub fn lstm(b: usize, t: usize, h: usize) -> Result<(), Exceeded> {
    at_most("lstm", "hidden size H", h as u64, LSTM_MAX_H)?;
    buffer("lstm", "gate values B·T·4H", &[b, t, 4, h])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_quantity_the_value_and_the_maximum() {
        let e = attention(1, 2048, 64, 4).unwrap_err();
        assert_eq!(e.to_string(), "attention: sequence length T = 2048 exceeds the kernels' maximum of 1024");
        // 64·8·1024·1024 = 2³⁶ weights: more than one 128 MiB buffer holds.
        let e = attention(64, 1024, 64, 8).unwrap_err();
        assert_eq!((e.quantity, e.value, e.max), ("attention weights B·NH·T·T", 1 << 29, 1 << 25));
        assert_eq!(lstm(1, 1, 257).unwrap_err().quantity, "hidden size H");
        assert!(attention(512, 4, 64, 4).is_ok() && lstm(32, 64, 256).is_ok());
        // Saturates instead of wrapping, so a huge size is refused on 32-bit targets too.
        assert_eq!(buffer("t", "x", &[usize::MAX, usize::MAX]).unwrap_err().value, u64::MAX);
    }

    #[test]
    fn the_buffer_and_grid_limits_are_webgpus_defaults() {
        let webgpu = wgpu::Limits::default();
        assert_eq!(MAX_BUFFER_BYTES as u64, webgpu.max_storage_buffer_binding_size);
        assert_eq!(MAX_WORKGROUPS_PER_DIMENSION as u32, webgpu.max_compute_workgroups_per_dimension);
    }
}
