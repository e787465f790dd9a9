//! `Linear`: y = x·W + b, the affine layer every model here is made of, initialised as PyTorch's
//! `nn.Linear` (W and b uniform in ±1/√fan_in).

use super::{Param, param, uniform};
use crate::error::Result;
use crate::rng::Rng;
use crate::tensor::{Device, Tensor};

/// y = x·W + b. W: (in, out), b: (out).
pub struct Linear {
    pub w: Tensor,
    pub b: Tensor,
}

impl Linear {
    pub fn new(dev: &Device, rng: &mut Rng, fan_in: usize, fan_out: usize) -> Result<Linear> {
        let bound = 1.0 / (fan_in as f32).sqrt();
        Ok(Linear { w: param(dev, &[fan_in, fan_out], uniform(rng, fan_in * fan_out, bound))?, b: param(dev, &[fan_out], uniform(rng, fan_out, bound))? })
    }
    /// x: (…, in) → (…, out)
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.matmul(&self.w)?.add_bias(&self.b)
    }
    pub(super) fn params(&self, name: &str, out: &mut Vec<Param>) {
        out.push(Param { name: format!("{name}.w"), tensor: self.w.clone() });
        out.push(Param { name: format!("{name}.b"), tensor: self.b.clone() });
    }
}
