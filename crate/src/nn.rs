//! Layers built from `Tensor` ops: Linear, LayerNorm, a pre-LN transformer block, a small
//! decoder-only transformer (GPT-2's layout, as in nanoGPT's `model.py`) whose attention is
//! softmax or linear (elu+1 or Hedgehog feature maps), a ReLU MLP and a 1-layer LSTM.
//! Initialisation follows PyTorch's defaults: Linear U(±1/√fan_in), Embedding N(0, 1),
//! LayerNorm γ = 1, β = 0, LSTM U(±1/√H); all draws come from the caller's stream.

use crate::backend::DropoutMask;
use crate::error::Result;
use crate::rng::Rng;
use crate::tensor::{Device, Index, Tensor};
use std::cell::RefCell;
use std::rc::Rc;

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
    fn params(&self, name: &str, out: &mut Vec<Param>) {
        out.push(Param { name: format!("{name}.w"), tensor: self.w.clone() });
        out.push(Param { name: format!("{name}.b"), tensor: self.b.clone() });
    }
}

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
    fn params(&self, name: &str, out: &mut Vec<Param>) {
        out.push(Param { name: format!("{name}.gamma"), tensor: self.gamma.clone() });
        out.push(Param { name: format!("{name}.beta"), tensor: self.beta.clone() });
    }
}

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
struct HedgehogMap {
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

/// How a block mixes positions.
enum Mixer {
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

/// x + attn(ln1(x)), then + mlp(ln2(x)), with a 4·C GELU MLP.
pub struct Block {
    ln1: LayerNorm,
    mixer: Mixer,
    proj: Linear,
    ln2: LayerNorm,
    fc: Linear,
    fc_proj: Linear,
    heads: usize,
}

impl Block {
    pub fn new(dev: &Device, rng: &mut Rng, c: usize, heads: usize) -> Result<Block> {
        Block::with_attention(dev, rng, c, heads, AttentionKind::Softmax)
    }

    pub fn with_attention(dev: &Device, rng: &mut Rng, c: usize, heads: usize, kind: AttentionKind) -> Result<Block> {
        let ln1 = LayerNorm::new(dev, c)?;
        let mixer = match kind {
            AttentionKind::Softmax => Mixer::Softmax { qkv: Linear::new(dev, rng, c, 3 * c)? },
            _ => Mixer::Linear {
                q: Linear::new(dev, rng, c, c)?,
                k: Linear::new(dev, rng, c, c)?,
                v: Linear::new(dev, rng, c, c)?,
                hedgehog: (kind == AttentionKind::Hedgehog).then(|| HedgehogMap::new(dev, c / heads)).transpose()?,
            },
        };
        Ok(Block {
            ln1,
            mixer,
            proj: Linear::new(dev, rng, c, c)?,
            ln2: LayerNorm::new(dev, c)?,
            fc: Linear::new(dev, rng, c, 4 * c)?,
            fc_proj: Linear::new(dev, rng, 4 * c, c)?,
            heads,
        })
    }
    /// x: (B, T, C) → (B, T, C)
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(self.forward_with(x, None)?.0)
    }

    /// x: (B, T, C) → (B, T, C) and the attention output (B, T, C), whose `attention_probs`
    /// (softmax) or `attention_weights` (either kind) are this block's attention map. With
    /// `dropout`, both residual branches are dropped out before they are added (GPT-2's
    /// residual dropout).
    pub fn forward_with(&self, x: &Tensor, dropout: Option<&Dropout>) -> Result<(Tensor, Tensor)> {
        let h = self.ln1.forward(x)?;
        let att = match &self.mixer {
            Mixer::Softmax { qkv } => qkv.forward(&h)?.attention(self.heads)?,
            Mixer::Linear { q, k, v, hedgehog } => {
                let (q, k) = (q.forward(&h)?, k.forward(&h)?);
                let (fq, fk) = match hedgehog {
                    Some(m) => (m.apply(&q, &m.q)?, m.apply(&k, &m.k)?),
                    None => (q.elu_plus_one(), k.elu_plus_one()),
                };
                fq.linear_attention(&fk, &v.forward(&h)?, self.heads)?
            }
        };
        let x = x.add(&maybe_drop(self.proj.forward(&att)?, dropout))?;
        let h = self.fc.forward(&self.ln2.forward(&x)?)?.gelu();
        Ok((x.add(&maybe_drop(self.fc_proj.forward(&h)?, dropout))?, att))
    }
    fn params(&self, name: &str, out: &mut Vec<Param>) {
        self.ln1.params(&format!("{name}.ln1"), out);
        match &self.mixer {
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
        self.proj.params(&format!("{name}.attn.proj"), out);
        self.ln2.params(&format!("{name}.ln2"), out);
        self.fc.params(&format!("{name}.mlp.fc"), out);
        self.fc_proj.params(&format!("{name}.mlp.proj"), out);
    }
}

#[derive(Clone, Copy, Debug)]
pub struct TransformerShape {
    /// Token ids, or the width of each input vector for `Transformer::for_vectors`.
    pub vocab: usize,
    pub seq_len: usize,
    pub d_model: usize,
    pub heads: usize,
    pub layers: usize,
    pub n_out: usize,
}

/// How inputs enter the residual stream.
enum ReadIn {
    /// Token ids through an embedding table (vocab, C).
    Tokens(Tensor),
    /// Real vectors (…, vocab) through a linear map, as in Garg et al. 2022's in-context regression.
    Vectors(Linear),
}

/// Token (or vector) + position embeddings, `layers` blocks, a final LayerNorm and a linear head.
pub struct Transformer {
    pub shape: TransformerShape,
    read_in: ReadIn,
    pos_emb: Tensor,
    blocks: Vec<Block>,
    ln_f: LayerNorm,
    head: Linear,
}

impl Transformer {
    /// A transformer over token ids.
    pub fn new(dev: &Device, rng: &mut Rng, s: TransformerShape) -> Result<Transformer> {
        Transformer::with_attention(dev, rng, s, AttentionKind::Softmax)
    }

    /// A transformer over token ids whose blocks run `kind` attention.
    pub fn with_attention(dev: &Device, rng: &mut Rng, s: TransformerShape, kind: AttentionKind) -> Result<Transformer> {
        let tok_emb = param(dev, &[s.vocab, s.d_model], (0..s.vocab * s.d_model).map(|_| rng.normal()).collect())?;
        Transformer::with_read_in(dev, rng, s, ReadIn::Tokens(tok_emb), kind)
    }

    /// A transformer over real vectors of width `s.vocab`, read in by a Linear layer.
    pub fn for_vectors(dev: &Device, rng: &mut Rng, s: TransformerShape) -> Result<Transformer> {
        let read_in = Linear::new(dev, rng, s.vocab, s.d_model)?;
        Transformer::with_read_in(dev, rng, s, ReadIn::Vectors(read_in), AttentionKind::Softmax)
    }

    fn with_read_in(dev: &Device, rng: &mut Rng, s: TransformerShape, read_in: ReadIn, kind: AttentionKind) -> Result<Transformer> {
        let c = s.d_model;
        let pos_emb = param(dev, &[s.seq_len * c], (0..s.seq_len * c).map(|_| rng.normal()).collect())?;
        let blocks = (0..s.layers).map(|_| Block::with_attention(dev, rng, c, s.heads, kind)).collect::<Result<_>>()?;
        Ok(Transformer { shape: s, read_in, pos_emb, blocks, ln_f: LayerNorm::new(dev, c)?, head: Linear::new(dev, rng, c, s.n_out)? })
    }

    /// Hidden states of every position. ids: (B·T) token ids → (B, T, C).
    pub fn hidden(&self, ids: &Rc<Index>) -> Result<Tensor> {
        Ok(self.hidden_with(ids, None)?.0)
    }

    /// Hidden states (B, T, C) and each block's attention output (see `Block::forward_with`),
    /// with dropout on the embeddings and the residual branches when `dropout` is given.
    pub fn hidden_with(&self, ids: &Rc<Index>, dropout: Option<&Dropout>) -> Result<(Tensor, Vec<Tensor>)> {
        let ReadIn::Tokens(tok_emb) = &self.read_in else { unreachable!("built by Transformer::new") };
        self.blocks_over(&tok_emb.gather_rows(ids)?, dropout)
    }

    /// Hidden states of every position. x: (B, T, vocab) input vectors → (B, T, C).
    pub fn hidden_vectors(&self, x: &Tensor) -> Result<Tensor> {
        let ReadIn::Vectors(read_in) = &self.read_in else { unreachable!("built by Transformer::for_vectors") };
        Ok(self.blocks_over(&read_in.forward(x)?, None)?.0)
    }

    /// Adds the position embeddings to the read-in (B·T, C) and runs the blocks → hidden states
    /// (B, T, C) and each block's attention output.
    fn blocks_over(&self, x: &Tensor, dropout: Option<&Dropout>) -> Result<(Tensor, Vec<Tensor>)> {
        let (t, c) = (self.shape.seq_len, self.shape.d_model);
        let b = x.numel() / (t * c);
        let x = x.reshape(&[b, t * c])?.add_bias(&self.pos_emb)?;
        let mut x = maybe_drop(x.reshape(&[b, t, c])?, dropout);
        let mut atts = Vec::with_capacity(self.blocks.len());
        for block in &self.blocks {
            let (y, att) = block.forward_with(&x, dropout)?;
            x = y;
            atts.push(att);
        }
        Ok((x, atts))
    }

    /// Logits at the positions `rows` of the flattened (B·T) hidden states: (N, n_out).
    pub fn logits_at(&self, hidden: &Tensor, rows: &Rc<Index>) -> Result<Tensor> {
        let c = self.shape.d_model;
        let h = hidden.reshape(&[hidden.numel() / c, c])?.gather_rows(rows)?;
        self.head.forward(&self.ln_f.forward(&h)?)
    }

    pub fn params(&self) -> Vec<Param> {
        let mut out = vec![];
        match &self.read_in {
            ReadIn::Tokens(t) => out.push(Param { name: "tok_emb".into(), tensor: t.clone() }),
            ReadIn::Vectors(l) => l.params("read_in", &mut out),
        }
        out.push(Param { name: "pos_emb".into(), tensor: self.pos_emb.clone() });
        for (i, b) in self.blocks.iter().enumerate() {
            b.params(&format!("h{i}"), &mut out);
        }
        self.ln_f.params("ln_f", &mut out);
        self.head.params("head", &mut out);
        out
    }
}

/// A 1-layer LSTM over token ids with a linear head (the recurrent baseline of Liu et al. 2023).
/// For one-hot tokens the input projection x·W_x + b of every step is a row lookup, so it is an
/// embedding table of width 4H (`Tensor::lstm`'s xw); the recurrence then runs in one kernel.
pub struct Lstm {
    /// (vocab, 4H): each token's gate pre-activations, W_x's row plus the bias.
    xw_table: Tensor,
    /// (H, 4H), gates i, f, g, o.
    w_h: Tensor,
    head: Linear,
    hidden: usize,
}

impl Lstm {
    pub fn new(dev: &Device, rng: &mut Rng, vocab: usize, hidden: usize, n_out: usize) -> Result<Lstm> {
        let bound = 1.0 / (hidden as f32).sqrt();
        Ok(Lstm {
            xw_table: param(dev, &[vocab, 4 * hidden], uniform(rng, vocab * 4 * hidden, bound))?,
            w_h: param(dev, &[hidden, 4 * hidden], uniform(rng, hidden * 4 * hidden, bound))?,
            head: Linear::new(dev, rng, hidden, n_out)?,
            hidden,
        })
    }

    /// Hidden states of every position. ids: (B·T) token ids of strings of `seq_len` → (B, T, H).
    pub fn hidden(&self, ids: &Rc<Index>, seq_len: usize) -> Result<Tensor> {
        let xw = self.xw_table.gather_rows(ids)?;
        xw.reshape(&[ids.len() / seq_len, seq_len, 4 * self.hidden])?.lstm(&self.w_h)
    }

    /// Logits at the positions `rows` of the flattened (B·T) hidden states: (N, n_out).
    pub fn logits_at(&self, hidden: &Tensor, rows: &Rc<Index>) -> Result<Tensor> {
        let h = hidden.reshape(&[hidden.numel() / self.hidden, self.hidden])?.gather_rows(rows)?;
        self.head.forward(&h)
    }

    pub fn params(&self) -> Vec<Param> {
        let mut out = vec![Param { name: "lstm.xw".into(), tensor: self.xw_table.clone() }, Param { name: "lstm.w_h".into(), tensor: self.w_h.clone() }];
        self.head.params("head", &mut out);
        out
    }
}

/// Inverted dropout for training: each call draws a fresh mask seed from the run's stream, so a
/// run stays a pure function of its seed and both backends drop the same units.
pub struct Dropout {
    pub p: f32,
    seeds: RefCell<Rng>,
}

impl Dropout {
    pub fn new(p: f32, seeds: Rng) -> Dropout {
        Dropout { p, seeds: RefCell::new(seeds) }
    }
    pub fn apply(&self, x: &Tensor) -> Tensor {
        x.dropout(DropoutMask::new(self.p, self.seeds.borrow_mut().next_u32()))
    }
}

fn maybe_drop(x: Tensor, dropout: Option<&Dropout>) -> Tensor {
    match dropout {
        Some(d) => d.apply(&x),
        None => x,
    }
}

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
