//! A `Learner`: a model with its optimizer, the one "arm" type of every toy. `update(loss)`
//! takes the gradients of a loss and applies the optimizer pipeline the learner was built with:
//! Grokfast's slow-gradient filter, weight decay folded into the gradient (L2) instead of AdamW's
//! decoupled decay, a linear learning-rate warm-up, then (⊥)AdamW.

use crate::autograd::backward;
use crate::error::Result;
use crate::linear_self_attention::LinearSelfAttention;
use crate::nn::{Lstm, Mlp, Param, Transformer};
use crate::optim::{AdamW, SlowGradientFilter};
use crate::tensor::Tensor;

/// Something with trainable parameters.
pub trait Module {
    fn params(&self) -> Vec<Param>;
}

impl Module for Transformer {
    fn params(&self) -> Vec<Param> {
        Transformer::params(self)
    }
}

impl Module for Mlp {
    fn params(&self) -> Vec<Param> {
        Mlp::params(self)
    }
}

impl Module for Lstm {
    fn params(&self) -> Vec<Param> {
        Lstm::params(self)
    }
}

impl Module for LinearSelfAttention {
    fn params(&self) -> Vec<Param> {
        LinearSelfAttention::params(self)
    }
}

pub struct Learner<M> {
    pub model: M,
    params: Vec<Param>,
    opt: AdamW,
    /// The learning rate after warm-up.
    lr: f32,
    warmup: u64,
    filter: Option<SlowGradientFilter>,
    /// Weight decay added to the gradient (PyTorch's `Adam(weight_decay=…)`); 0 when decoupled.
    l2: f32,
    updates: u64,
}

impl<M: Module> Learner<M> {
    /// AdamW with β1 = 0.9, the given β2 and decoupled weight decay.
    pub fn adamw(model: M, lr: f64, weight_decay: f64, beta2: f32) -> Learner<M> {
        let params = model.params();
        let opt = AdamW::new(&params, lr as f32, weight_decay as f32, beta2);
        Learner { model, params, opt, lr: lr as f32, warmup: 0, filter: None, l2: 0.0, updates: 0 }
    }

    /// The learning rate grows linearly over the first `steps` updates.
    pub fn with_warmup(mut self, steps: u64) -> Learner<M> {
        self.warmup = steps;
        self
    }

    /// Filters every gradient with Grokfast's slow-gradient amplifier before the optimizer.
    pub fn with_filter(mut self, alpha: f32, lamb: f32) -> Learner<M> {
        self.filter = Some(SlowGradientFilter::new(&self.params, alpha, lamb));
        self
    }

    /// Adam with the weight decay folded into the gradient (after any filter), as PyTorch's
    /// `Adam(weight_decay=…)` does, instead of AdamW's decoupled decay. Adam then normalises the
    /// decay term too, so once the data gradient is small it shrinks weights much faster.
    pub fn with_l2_decay(mut self) -> Learner<M> {
        self.l2 = self.opt.weight_decay;
        self.opt.weight_decay = 0.0;
        self
    }

    /// ⊥AdamW (Prieto et al. 2025, §5).
    pub fn orthogonal(mut self) -> Learner<M> {
        self.opt.orthogonal = true;
        self
    }

    pub fn params(&self) -> &[Param] {
        &self.params
    }

    /// One optimizer step down the gradient of `loss`.
    pub fn update(&mut self, loss: &Tensor) -> Result<()> {
        let mut grads = backward(loss)?;
        if let Some(filter) = &mut self.filter {
            filter.apply(&self.params, &mut grads);
        }
        if self.l2 > 0.0 {
            for p in &self.params {
                let Some(g) = grads.get(&p.tensor) else { continue };
                let decayed = g.add(&p.tensor.scale(self.l2))?;
                grads.set(&p.tensor, decayed);
            }
        }
        if self.warmup > 0 {
            self.opt.lr = self.lr * ((self.updates + 1) as f32 / self.warmup as f32).min(1.0);
        }
        self.opt.step(&self.params, &grads)?;
        self.updates += 1;
        Ok(())
    }

    /// Σw² per parameter tensor, on the device: with `metrics::norm_of` they give ‖θ‖₂.
    pub fn squared_norms(&self) -> Vec<Tensor> {
        self.params.iter().map(|p| p.tensor.sum_squares()).collect()
    }
}

/// √(Σ of the read-back Σw² values), summed in order in f32 (the digest depends on the order).
pub fn norm_of(parts: &[Vec<f32>]) -> f32 {
    let mut sq = 0.0f32;
    for p in parts {
        sq += p[0];
    }
    sq.sqrt()
}
