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

use crate::error::{Error, Result};
use crate::rng::Rng;
use crate::tensor::{Device, Tensor, read_all};

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

/// Copies each parameter of `from` into the parameter of `to` with the same name and shape (the
/// others of `to`, such as a feature map `from` lacks, keep their values): to start one model
/// from another's weights, e.g. a fine-tuned copy of a base model.
pub async fn copy_params(from: &[Param], to: &[Param]) -> Result<()> {
    let values = read_all(&from.iter().map(|p| &p.tensor).collect::<Vec<_>>()).await?;
    for (src, data) in from.iter().zip(&values) {
        let Some(dst) = to.iter().find(|p| p.name == src.name) else { continue };
        if dst.tensor.shape() != src.tensor.shape() {
            return Err(Error::msg(format!("copy_params: {} is {:?} here and {:?} there", src.name, src.tensor.shape(), dst.tensor.shape())));
        }
        dst.tensor.overwrite(data)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A model started from another's weights computes what that one does; a model with a
    /// parameter of another shape is refused.
    #[test]
    fn copied_params_give_the_same_outputs() {
        let dev = Device::Cpu;
        let shape = TransformerShape { vocab: 6, seq_len: 4, d_model: 8, heads: 2, layers: 1, n_out: 6 };
        let a = Transformer::new(&dev, &mut Rng::stream(1, "init"), shape).unwrap();
        let b = Transformer::new(&dev, &mut Rng::stream(2, "init"), shape).unwrap();
        let ids = crate::tensor::Index::new(&dev, vec![0, 1, 2, 3, 5, 4, 3, 2], 6).unwrap();
        let out = |m: &Transformer| pollster::block_on(m.hidden(&ids).unwrap().to_vec()).unwrap();
        assert_ne!(out(&a), out(&b));
        pollster::block_on(copy_params(&a.params(), &b.params())).unwrap();
        assert_eq!(out(&a), out(&b));
        let wide = Transformer::new(&dev, &mut Rng::stream(3, "init"), TransformerShape { d_model: 16, ..shape }).unwrap();
        assert!(pollster::block_on(copy_params(&a.params(), &wide.params())).is_err());
    }
}
