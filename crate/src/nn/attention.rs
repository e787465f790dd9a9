//! The attention kinds a transformer block can run: causal softmax attention (the fused
//! `Tensor::attention`), and linear attention (`Tensor::linear_attention`, Katharopoulos et al.
//! 2020) with the elu+1 feature map or Hedgehog's learned one (Zhang et al. 2024), each with its
//! q, k, v projections.

use super::{Linear, Param, param};
use crate::error::Result;
use crate::rng::Rng;
use crate::tensor::{Device, Tensor};

/// Which attention a block runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttentionKind {
    /// Causal softmax attention (the fused `attention` op).
    Softmax,
    /// Linear attention with φ(x) = elu(x) + 1 (Katharopoulos et al. 2020, §3.2).
    EluLinear,
    /// Linear attention with Hedgehog's learned feature map (Zhang et al. 2024; `HedgehogMap`).
    Hedgehog,
}

/// Hedgehog's feature map of one head vector x (hs): φ(x) = [softmax(xW + b), softmax(−(xW + b))]
/// over the features, 2·hs of them. The paper writes it as [exp(xW + b), exp(−xW − b)]; the
/// authors' code (HazyResearch/lolcats, `src/model/feature_map.py`, `SoftmaxDim`)
/// normalises each half with a softmax, which keeps exp from overflowing, and we do the same.
/// W starts as the identity and b at 0, as in flash-linear-attention's `HedgehogFeatureMap`, so
/// φ starts as a fixed function of the head vector. One map per layer for queries and one for
/// keys, shared by the heads (the authors' code learns one per head).
pub(super) struct HedgehogMap {
    q: Linear,
    k: Linear,
    /// (hs, 2·hs) = [I | −I], no gradient: z·signs = [z, −z].
    signs: Tensor,
}

impl HedgehogMap {
    fn new(dev: &Device, hs: usize) -> Result<HedgehogMap> {
        let eye: Vec<f32> = (0..hs * hs).map(|i| if i / hs == i % hs { 1.0 } else { 0.0 }).collect();
        let linear = || Ok::<_, crate::Error>(Linear { w: param(dev, &[hs, hs], eye.clone())?, b: param(dev, &[hs], vec![0.0; hs])? });
        let signs = (0..hs * 2 * hs).map(|i| {
            let (r, c) = (i / (2 * hs), i % (2 * hs));
            if c == r {
                1.0
            } else if c == r + hs {
                -1.0
            } else {
                0.0
            }
        });
        Ok(HedgehogMap { q: linear()?, k: linear()?, signs: Tensor::from_vec(dev, &[hs, 2 * hs], signs.collect(), false)? })
    }

    /// x: (B, T, NH·hs) → φ(x): (B, T, NH·2hs), with the query map or the key map.
    fn apply(&self, x: &Tensor, map: &Linear) -> Result<Tensor> {
        let (&[b, t, c], hs) = (x.shape(), self.signs.shape()[0]) else { unreachable!("(B, T, C) from a Linear") };
        let nh = c / hs;
        let z = map.forward(&x.reshape(&[b * t * nh, hs])?)?.matmul(&self.signs)?;
        z.reshape(&[b * t * nh * 2, hs])?.log_softmax().exp().reshape(&[b, t, nh * 2 * hs])
    }
}

/// How a block mixes positions: its attention, with its projections.
pub(super) enum Mixer {
    Softmax {
        qkv: Linear,
    },
    /// q, k, v projections, then φ on q and k (elu+1 when `hedgehog` is None) and `linear_attention`.
    Linear {
        q: Linear,
        k: Linear,
        v: Linear,
        hedgehog: Option<HedgehogMap>,
    },
}

impl Mixer {
    /// The projections of `kind` attention over C = `c` channels in `heads` heads.
    pub(super) fn new(dev: &Device, rng: &mut Rng, c: usize, heads: usize, kind: AttentionKind) -> Result<Mixer> {
        Ok(match kind {
            AttentionKind::Softmax => Mixer::Softmax { qkv: Linear::new(dev, rng, c, 3 * c)? },
            _ => Mixer::Linear {
                q: Linear::new(dev, rng, c, c)?,
                k: Linear::new(dev, rng, c, c)?,
                v: Linear::new(dev, rng, c, c)?,
                hedgehog: (kind == AttentionKind::Hedgehog).then(|| HedgehogMap::new(dev, c / heads)).transpose()?,
            },
        })
    }

    /// h: (B, T, C) → the attention output (B, T, C), before the output projection.
    pub(super) fn forward(&self, h: &Tensor, heads: usize) -> Result<Tensor> {
        match self {
            Mixer::Softmax { qkv } => qkv.forward(h)?.attention(heads),
            Mixer::Linear { q, k, v, hedgehog } => {
                let (q, k) = (q.forward(h)?, k.forward(h)?);
                let (fq, fk) = match hedgehog {
                    Some(m) => (m.apply(&q, &m.q)?, m.apply(&k, &m.k)?),
                    None => (q.elu_plus_one(), k.elu_plus_one()),
                };
                fq.linear_attention(&fk, &v.forward(h)?, heads)
            }
        }
    }

    /// The parameters of block `name`'s attention, as `{name}.attn.*`.
    pub(super) fn params(&self, name: &str, out: &mut Vec<Param>) {
        match self {
            Mixer::Softmax { qkv } => qkv.params(&format!("{name}.attn.qkv"), out),
            Mixer::Linear { q, k, v, hedgehog } => {
                q.params(&format!("{name}.attn.q"), out);
                k.params(&format!("{name}.attn.k"), out);
                v.params(&format!("{name}.attn.v"), out);
                if let Some(m) = hedgehog {
                    m.q.params(&format!("{name}.attn.phi_q"), out);
                    m.k.params(&format!("{name}.attn.phi_k"), out);
                }
            }
        }
    }
}
