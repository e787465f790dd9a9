//! Optimizers that update parameters in place on their device: AdamW with decoupled weight
//! decay (Loshchilov & Hutter, "Decoupled Weight Decay Regularization") and SGD.

use crate::autograd::Grads;
use crate::backend::{cpu, AdamParams};
use crate::error::Result;
use crate::nn::Param;
use crate::tensor::{Device, Tensor};

pub struct AdamW {
    pub lr: f32,
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    pub weight_decay: f32,
    /// ⊥AdamW (Prieto et al. 2025, §5): each gradient loses its component along its own
    /// parameter tensor before the update, so steps can no longer just scale the weights up.
    pub orthogonal: bool,
    t: u32,
    /// First and second moments, one pair per parameter, in the order of `params`.
    moments: Vec<(Tensor, Tensor)>,
}

impl AdamW {
    pub fn new(params: &[Param], lr: f32, weight_decay: f32, beta2: f32) -> AdamW {
        let moments = params
            .iter()
            .map(|p| (Tensor::zeros(p.tensor.device(), p.tensor.shape()), Tensor::zeros(p.tensor.device(), p.tensor.shape())))
            .collect();
        AdamW { lr, beta1: 0.9, beta2, eps: 1e-8, weight_decay, orthogonal: false, t: 0, moments }
    }

    /// One update of every parameter that has a gradient.
    pub fn step(&mut self, params: &[Param], grads: &Grads) -> Result<()> {
        self.t += 1;
        // Bias corrections once on the host, with libm, so both backends use the same f32s.
        let hp = AdamParams {
            lr: self.lr,
            beta1: self.beta1,
            beta2: self.beta2,
            eps: self.eps,
            weight_decay: self.weight_decay,
            bc1: 1.0 - libm::powf(self.beta1, self.t as f32),
            bc2: 1.0 - libm::powf(self.beta2, self.t as f32),
        };
        for (p, (m, v)) in params.iter().zip(&self.moments) {
            let Some(g) = grads.get(&p.tensor) else { continue };
            let g = if self.orthogonal { g.orthogonal_to(&p.tensor)? } else { g.clone() };
            let (mut w, g, mut m, mut v) = (p.tensor.storage_mut(), g.storage(), m.storage_mut(), v.storage_mut());
            match p.tensor.device() {
                Device::Cpu => cpu::adamw_update(w.cpu_mut(), g.cpu(), m.cpu_mut(), v.cpu_mut(), &hp),
                Device::Gpu(gpu) => gpu.adamw_update(w.gpu(), g.gpu(), m.gpu(), v.gpu(), p.tensor.numel(), &hp),
            }
        }
        Ok(())
    }
}

pub struct Sgd {
    pub lr: f32,
    pub weight_decay: f32,
}

impl Sgd {
    pub fn step(&self, params: &[Param], grads: &Grads) -> Result<()> {
        for p in params {
            let Some(g) = grads.get(&p.tensor) else { continue };
            let (mut w, g) = (p.tensor.storage_mut(), g.storage());
            match p.tensor.device() {
                Device::Cpu => cpu::sgd_update(w.cpu_mut(), g.cpu(), self.lr, self.weight_decay),
                Device::Gpu(gpu) => gpu.sgd_update(w.gpu(), g.gpu(), p.tensor.numel(), self.lr, self.weight_decay),
            }
        }
        Ok(())
    }
}

/// √(Σ over params of Σ w²), read back with the other metrics.
pub fn weight_norm_squared(params: &[Param]) -> Vec<Tensor> {
    params.iter().map(|p| p.tensor.sum_squares()).collect()
}
