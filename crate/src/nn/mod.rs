//! Layers built from `Tensor` ops, one family per file: `linear` (y = x·W + b), `layernorm`,
//! `mlp` (the ReLU MLP of the modular-arithmetic runs), `attention` (softmax, elu+1 and Hedgehog
//! attention), `transformer` (the pre-LN block and a small decoder-only transformer in GPT-2's
//! layout, as in nanoGPT's `model.py`), `lstm`, `dropout` and `loss`. `crate::nn::X` names every
//! layer, whichever file holds it.
//!
//! Initialisation follows PyTorch's defaults: Linear U(±1/√fan_in), Embedding N(0, 1),
//! LayerNorm γ = 1, β = 0, LSTM U(±1/√H); all draws come from the caller's stream.

mod attention;
mod dropout;
mod layernorm;
mod linear;
mod loss;
mod lstm;
mod mlp;
mod transformer;

pub use attention::AttentionKind;
pub use dropout::Dropout;
pub use layernorm::LayerNorm;
pub use linear::Linear;
pub use loss::mse;
pub use lstm::Lstm;
pub use mlp::Mlp;
pub use transformer::{Block, Transformer, TransformerShape};

use crate::error::Result;
use crate::rng::Rng;
use crate::tensor::{Device, Tensor};

/// A named trainable tensor.
#[derive(Clone)]
pub struct Param {
    pub name: String,
    pub tensor: Tensor,
}

fn param(dev: &Device, shape: &[usize], data: Vec<f32>) -> Result<Tensor> {
    Tensor::from_vec(dev, shape, data, true)
}

fn uniform(rng: &mut Rng, n: usize, bound: f32) -> Vec<f32> {
    (0..n).map(|_| (2.0 * rng.uniform() - 1.0) * bound).collect()
}
