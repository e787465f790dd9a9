//! `LayerNorm` over the last dimension with a learned gain γ (starting at 1) and bias β (at 0), as
//! PyTorch's `nn.LayerNorm`; the kernels are `Tensor::layernorm`'s.

use super::{Param, param};
use crate::error::Result;
use crate::tensor::{Device, Tensor};

pub struct LayerNorm {
    pub gamma: Tensor,
    pub beta: Tensor,
}

impl LayerNorm {
    pub fn new(dev: &Device, c: usize) -> Result<LayerNorm> {
        Ok(LayerNorm { gamma: param(dev, &[c], vec![1.0; c])?, beta: param(dev, &[c], vec![0.0; c])? })
    }
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.layernorm(&self.gamma, &self.beta)
    }
    pub(super) fn params(&self, name: &str, out: &mut Vec<Param>) {
        out.push(Param { name: format!("{name}.gamma"), tensor: self.gamma.clone() });
        out.push(Param { name: format!("{name}.beta"), tensor: self.beta.clone() });
    }
}
