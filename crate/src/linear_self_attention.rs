//! One layer of linear self-attention (LSA) over an in-context regression prompt, as analysed
//! by Ahn et al. 2023 ("Transformers learn to implement preconditioned gradient descent for
//! in-context learning", §2, eq. 2) and Mahankali et al. 2023 ("One Step of Gradient Descent
//! is Provably the Optimal In-Context Learner with One Layer of Linear Self-Attention", §3):
//!
//! ```text
//! f(Z) = Z + (1/n)·W^{PV}·Z·M·Zᵀ·W^{KQ}·Z,   Z = [[x_1 … x_n x_q], [y_1 … y_n 0]],
//! ```
//!
//! with M = diag(1, …, 1, 0) hiding the query from the keys and values. The prediction is the
//! bottom-right entry of f(Z): ŷ = (1/n)·Σ_i (p·z_i)(z_iᵀ·Q·x_q), where p is the last row of
//! W^{PV} and Q the first d columns of W^{KQ}, the only parts of the two (d+1)² matrices that
//! reach it. With p = (0, …, 0, 1) and Q = [Γᵀ; 0], ŷ = x_qᵀ·Γ·(1/n)Σ y_i x_i: one step of GD
//! from w = 0 preconditioned by Γ. Built from matmul (shared and batched), mul and reshape.

use crate::error::Result;
use crate::nn::Param;
use crate::rng::Rng;
use crate::tensor::{Device, Tensor};

pub struct LinearSelfAttention {
    pub d: usize,
    pub n: usize,
    /// The last row of W^{PV}: (d+1, 1).
    pub p: Tensor,
    /// The first d columns of W^{KQ}: (d+1, d).
    pub q: Tensor,
    /// (n, 1) filled with 1/n: the mean over context points as a matmul.
    mean: Tensor,
}

impl LinearSelfAttention {
    /// Weights drawn U(±1/√(d+1)), like a Linear layer of fan-in d+1.
    pub fn new(dev: &Device, rng: &mut Rng, d: usize, n: usize) -> Result<LinearSelfAttention> {
        let bound = 1.0 / ((d + 1) as f32).sqrt();
        let mut draw = |len: usize| (0..len).map(|_| (2.0 * rng.uniform() - 1.0) * bound).collect();
        let (p, q) = (draw(d + 1), draw((d + 1) * d));
        LinearSelfAttention::from_values(dev, d, n, p, q)
    }

    /// p: (d+1), q: (d+1)·d row-major.
    pub fn from_values(dev: &Device, d: usize, n: usize, p: Vec<f32>, q: Vec<f32>) -> Result<LinearSelfAttention> {
        Ok(LinearSelfAttention {
            d,
            n,
            p: Tensor::from_vec(dev, &[d + 1, 1], p, true)?,
            q: Tensor::from_vec(dev, &[d + 1, d], q, true)?,
            mean: Tensor::from_vec(dev, &[n, 1], vec![1.0 / n as f32; n], false)?,
        })
    }

    /// context: (B, n, d+1) rows z_i = (x_i, y_i); query: (B, d, 1) → ŷ: (B, 1).
    pub fn forward(&self, context: &Tensor, query: &Tensor) -> Result<Tensor> {
        let b = context.shape()[0];
        let values = context.matmul(&self.p)?; // (B, n, 1): p·z_i
        let keys = context.matmul(&self.q)?; // (B, n, d): z_iᵀ·Q
        let scores = keys.matmul(query)?; // (B, n, 1): z_iᵀ·Q·x_q
        values.mul(&scores)?.reshape(&[b, self.n])?.matmul(&self.mean)
    }

    pub fn params(&self) -> Vec<Param> {
        vec![Param { name: "lsa.p".into(), tensor: self.p.clone() }, Param { name: "lsa.q".into(), tensor: self.q.clone() }]
    }

    /// The effective preconditioner Γ = p_y·Q_xᵀ (d×d, row-major) from the weights' values
    /// p: (d+1) and q: (d+1)·d. It is exact when the other entries of p and the label row of Q
    /// are zero, which is what the optimum has (Ahn et al., Theorem 1).
    pub fn gamma(d: usize, p: &[f32], q: &[f32]) -> Vec<f32> {
        let py = p[d];
        (0..d * d).map(|i| py * q[(i % d) * d + i / d]).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tasks::linreg::{Learner, Task};

    #[test]
    fn with_gd_weights_it_predicts_one_step_of_preconditioned_gd() {
        // p = (0, …, 0, 1), Q = [Γ*ᵀ; 0] turn the layer into ŷ = x_qᵀ·Γ*·(1/n)Σ y_i x_i.
        let (d, n, b) = (3, 6, 8);
        let task = Task::new(d, 0.3, crate::tasks::linreg::Covariance::Skewed, 2);
        let prompts = task.sample(&mut Rng::stream(4, "test"), b, n + 1);
        let g = task.best_preconditioner(n);
        let mut p = vec![0.0f32; d + 1];
        p[d] = 1.0;
        let mut q = vec![0.0f32; (d + 1) * d];
        for r in 0..d {
            for c in 0..d {
                q[r * d + c] = g[c * d + r] as f32;
            }
        }
        let lsa = LinearSelfAttention::from_values(&Device::Cpu, d, n, p.clone(), q.clone()).unwrap();
        let pr = &prompts;
        let context: Vec<f32> = (0..b).flat_map(|bi| (0..n).flat_map(move |i| pr.x(bi, i).iter().copied().chain([pr.y(bi, i)]))).collect();
        let query: Vec<f32> = (0..b).flat_map(|bi| prompts.x(bi, n).to_vec()).collect();
        let context = Tensor::from_vec(&Device::Cpu, &[b, n, d + 1], context, false).unwrap();
        let query = Tensor::from_vec(&Device::Cpu, &[b, d, 1], query, false).unwrap();
        let got = pollster::block_on(lsa.forward(&context, &query).unwrap().to_vec()).unwrap();
        for (bi, &y) in got.iter().enumerate() {
            let want = Learner::PreconditionedGd.predict(&task, &prompts, bi, n);
            assert!((y as f64 - want).abs() < 1e-4 * (1.0 + want.abs()), "prompt {bi}: LSA {y}, preconditioned GD {want}");
        }
        // And Γ read back from these weights is Γ*.
        for (got, want) in LinearSelfAttention::gamma(d, &p, &q).iter().zip(&g) {
            assert!((*got as f64 - want).abs() < 1e-6, "Γ {got} vs Γ* {want}");
        }
    }
}
