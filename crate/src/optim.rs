//! Optimizers that update parameters in place on their device: AdamW with decoupled weight
//! decay (Loshchilov & Hutter, "Decoupled Weight Decay Regularization"), and Grokfast's
//! slow-gradient filter, which rewrites gradients before the optimizer sees them.

use crate::autograd::Grads;
use crate::backend::{AdamParams, cpu};
use crate::error::Result;
use crate::nn::Param;
use crate::tensor::{Device, Tensor, run_kernel};

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
        let moments = params.iter().map(|p| (Tensor::zeros(p.tensor.device(), p.tensor.shape()), Tensor::zeros(p.tensor.device(), p.tensor.shape()))).collect();
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

/// Grokfast's low-pass gradient filter (Lee et al., "Grokfast: Accelerated Grokking by
/// Amplifying Slow Gradients", 2024, Algorithm 2): each gradient g becomes g + λ·h, where h is
/// the exponential moving average of that parameter's past gradients, before the optimizer
/// sees it. As in the paper's code, h starts at the first gradient.
pub struct SlowGradientFilter {
    pub alpha: f32,
    pub lamb: f32,
    /// h per parameter, in the order of `params`.
    ema: Vec<Tensor>,
    started: bool,
}

impl SlowGradientFilter {
    pub fn new(params: &[Param], alpha: f32, lamb: f32) -> SlowGradientFilter {
        let ema = params.iter().map(|p| Tensor::zeros(p.tensor.device(), p.tensor.shape())).collect();
        SlowGradientFilter { alpha, lamb, ema, started: false }
    }

    /// Replaces every parameter's gradient by its filtered one.
    pub fn apply(&mut self, params: &[Param], grads: &mut Grads) {
        // α = 0 on the first step sets h to the first gradient.
        let alpha = if self.started { self.alpha } else { 0.0 };
        self.started = true;
        let lamb = self.lamb;
        for (p, ema) in params.iter().zip(&mut self.ema) {
            let Some(g) = grads.get(&p.tensor) else { continue };
            let (n, device) = (g.numel(), p.tensor.device());
            let [h, out] = run_kernel(
                device,
                [&*g.storage(), &*ema.storage()],
                [n, n],
                |[g, e], [h, o]| cpu::grad_filter_ema(g, e, h, o, alpha, lamb),
                |gpu, [g, e], [h, o]| gpu.grad_filter_ema(g, e, h, o, n, alpha, lamb),
            );
            *ema = Tensor::from_storage(device, p.tensor.shape(), h);
            let filtered = Tensor::from_storage(device, p.tensor.shape(), out);
            grads.set(&p.tensor, filtered);
        }
    }
}
