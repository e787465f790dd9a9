//! `Mlp`: the ReLU MLP over the two operands of a ∘ b that the modular-arithmetic toys train
//! beside the transformer (Prieto et al. 2025's `models.py`).

use std::rc::Rc;

use super::{Param, param, uniform};
use crate::error::Result;
use crate::rng::Rng;
use crate::tensor::{Device, Index, Tensor};

/// A ReLU MLP over the two operands of a ∘ b, as in Prieto et al. 2025's modular-arithmetic runs
/// (their `models.py`): one-hot(a) ‖ one-hot(b) → `layers` hidden ReLU layers of width `width`
/// → logits, without biases. The one-hot first layer is a lookup: rows a and n + b of W₁, summed.
pub struct Mlp {
    /// W₁: (2n, width), n the operand vocabulary.
    first: Tensor,
    /// The hidden-to-hidden maps, then the read-out (width, n_out).
    rest: Vec<Tensor>,
}

impl Mlp {
    /// PyTorch's Linear initialisation, U(±1/√fan_in), with fan_in = 2n for W₁.
    pub fn new(dev: &Device, rng: &mut Rng, n: usize, width: usize, layers: usize, n_out: usize) -> Result<Mlp> {
        let first = param(dev, &[2 * n, width], uniform(rng, 2 * n * width, 1.0 / (2.0 * n as f32).sqrt()))?;
        let bound = 1.0 / (width as f32).sqrt();
        let mut rest = (1..layers).map(|_| param(dev, &[width, width], uniform(rng, width * width, bound))).collect::<Result<Vec<_>>>()?;
        rest.push(param(dev, &[width, n_out], uniform(rng, width * n_out, bound))?);
        Ok(Mlp { first, rest })
    }

    /// Logits (N, n_out) for operand rows `a` (ids < n) and `b` (ids n + b).
    pub fn forward(&self, a: &Rc<Index>, b: &Rc<Index>) -> Result<Tensor> {
        let mut x = self.first.gather_rows(a)?.add(&self.first.gather_rows(b)?)?.relu();
        let (out, hidden) = self.rest.split_last().expect("a read-out");
        for w in hidden {
            x = x.matmul(w)?.relu();
        }
        x.matmul(out)
    }

    pub fn params(&self) -> Vec<Param> {
        let mut out = vec![Param { name: "w0".into(), tensor: self.first.clone() }];
        out.extend(self.rest.iter().enumerate().map(|(i, w)| Param { name: format!("w{}", i + 1), tensor: w.clone() }));
        out
    }
}
