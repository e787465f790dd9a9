//! The transformer: a pre-LN block (x + attn(ln1(x)), then + mlp(ln2(x))) and a small
//! decoder-only transformer in GPT-2's layout, as in nanoGPT's `model.py`: token (or vector) and
//! position embeddings, the blocks, a final LayerNorm and a linear head. The attention a block
//! runs is in `attention.rs`.

use std::rc::Rc;

use super::attention::Mixer;
use super::dropout::maybe_drop;
use super::{AttentionKind, Dropout, LayerNorm, Linear, Param, param};
use crate::error::Result;
use crate::rng::Rng;
use crate::tensor::{Device, Index, Tensor};

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
    /// A block over C = `c` channels whose attention is `kind`, in `heads` heads.
    pub fn with_attention(dev: &Device, rng: &mut Rng, c: usize, heads: usize, kind: AttentionKind) -> Result<Block> {
        let ln1 = LayerNorm::new(dev, c)?;
        let mixer = Mixer::new(dev, rng, c, heads, kind)?;
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

    /// x: (B, T, C) → (B, T, C) and the attention output (B, T, C), whose `attention_probs`
    /// (softmax) or `attention_weights` (either kind) are this block's attention map. With
    /// `dropout`, both residual branches are dropped out before they are added (GPT-2's
    /// residual dropout).
    pub fn forward_with(&self, x: &Tensor, dropout: Option<&Dropout>) -> Result<(Tensor, Tensor)> {
        let h = self.ln1.forward(x)?;
        let att = self.mixer.forward(&h, self.heads)?;
        let x = x.add(&maybe_drop(self.proj.forward(&att)?, dropout))?;
        let h = self.fc.forward(&self.ln2.forward(&x)?)?.gelu();
        Ok((x.add(&maybe_drop(self.fc_proj.forward(&h)?, dropout))?, att))
    }

    fn params(&self, name: &str, out: &mut Vec<Param>) {
        self.ln1.params(&format!("{name}.ln1"), out);
        self.mixer.params(name, out);
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
