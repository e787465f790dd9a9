//! `Lstm`: a 1-layer LSTM over token ids with a linear head, the recurrent baseline of the
//! flip-flop toy (Liu et al. 2023); the recurrence is `Tensor::lstm`, one kernel per pass.

use std::rc::Rc;

use super::{Linear, Param, param, uniform};
use crate::error::Result;
use crate::rng::Rng;
use crate::tensor::{Device, Index, Tensor};

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
