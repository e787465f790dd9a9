//! Losses built from ops: `mse`, the mean squared error of the in-context regression toy. (The
//! classification losses are ops: `Tensor::cross_entropy` and `cross_entropy_with`.)

use crate::error::Result;
use crate::tensor::Tensor;

/// Mean of (pred − target)² over all values; target is data (no gradient). Composed from
/// existing ops: the sum of squares is the row-times-column product diffᵀ·diff, which keeps it
/// in the graph. pred, target: any shape with N values → (1).
pub fn mse(pred: &Tensor, target: &Tensor) -> Result<Tensor> {
    let n = pred.numel();
    let diff = pred.add(&target.reshape(pred.shape())?.scale(-1.0))?;
    Ok(diff.reshape(&[1, n])?.matmul(&diff.reshape(&[n, 1])?)?.reshape(&[1])?.scale(1.0 / n as f32))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autograd::backward;
    use crate::tensor::Device;

    #[test]
    fn mse_and_its_gradient() {
        // L = mean (p − t)² = ((1 − 0)² + (−1 − 1)²) / 2 = 2.5; dL/dp = 2(p − t)/N = (1, −2).
        let dev = Device::Cpu;
        let p = Tensor::from_vec(&dev, &[2, 1], vec![1.0, -1.0], true).unwrap();
        let t = Tensor::from_vec(&dev, &[2], vec![0.0, 1.0], false).unwrap();
        let loss = mse(&p, &t).unwrap();
        assert_eq!(loss.storage().cpu(), &[2.5]);
        let g = backward(&loss).unwrap();
        assert_eq!(g.get(&p).unwrap().storage().cpu(), &[1.0, -2.0]);
    }
}
