//! Autoregressive sampling from `nn::Transformer`, one generator query at a time.
//!
//! A query (Botta et al. 2025, §2: the generator oracle) asks for the next-token distribution
//! after a prefix. `next_logprobs` answers a batch of queries with one forward pass of the
//! model over the padded prefixes and `Tensor::log_softmax` at each prefix's last position,
//! then reads the rows back. There is no KV cache: the toy sequences are a few dozen tokens.
//! `draw` then picks a token on the host with temperature and top-p (nucleus) truncation:
//! the vocabularies here are a handful of tokens, so a GPU draw would buy nothing.

use crate::error::Result;
use crate::nn::Transformer;
use crate::rng::Rng;
use crate::tensor::{Device, Index};

/// Log-probabilities (V each) of the next token after each prefix. A prefix is the tokens after
/// `bos`, shorter than the model's `seq_len`; the input is `bos`, the prefix, then `bos` padding,
/// which causal attention never lets the read position see.
/// The batch is padded with empty prefixes to a multiple of `BATCH_STEP` rows: both backends
/// pool freed buffers by length, and a batch that shrinks one chain at a time would leave a set
/// of buffers behind for every size it passed through.
pub async fn next_logprobs(model: &Transformer, device: &Device, bos: u32, prefixes: &[&[u32]]) -> Result<Vec<Vec<f32>>> {
    const BATCH_STEP: usize = 16;
    let (t, vocab) = (model.shape.seq_len, model.shape.vocab);
    let n = prefixes.len().div_ceil(BATCH_STEP) * BATCH_STEP;
    let mut ids = Vec::with_capacity(n * t);
    let mut rows = Vec::with_capacity(n);
    for (b, p) in prefixes.iter().chain(std::iter::repeat_n(&(&[] as &[u32]), n - prefixes.len())).enumerate() {
        debug_assert!(p.len() < t, "a prefix of {} tokens leaves no room in {t} positions", p.len());
        ids.push(bos);
        ids.extend_from_slice(p);
        ids.resize((b + 1) * t, bos);
        rows.push((b * t + p.len()) as u32);
    }
    let hidden = model.hidden(&Index::new(device, ids, vocab)?)?;
    let logp = model.logits_at(&hidden, &Index::new(device, rows, n * t)?)?.log_softmax();
    let flat = logp.to_vec().await?;
    Ok(flat.chunks(model.shape.n_out).take(prefixes.len()).map(<[f32]>::to_vec).collect())
}

/// One token drawn from softmax(logp / temperature), restricted to the most likely tokens whose
/// mass first reaches `top_p` (nucleus sampling; top_p = 1 keeps them all). In f64 with `libm`,
/// ties broken by the lower token id, so a draw is the same on every target.
pub fn draw(logp: &[f32], temperature: f64, top_p: f64, rng: &mut Rng) -> u32 {
    let max = logp.iter().fold(f64::NEG_INFINITY, |m, &l| m.max(l as f64));
    let mut p: Vec<(u32, f64)> = logp.iter().enumerate().map(|(i, &l)| (i as u32, libm::exp((l as f64 - max) / temperature))).collect();
    let total: f64 = p.iter().map(|x| x.1).sum();
    p.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let (mut kept, mut mass) = (0, 0.0);
    while kept < p.len() && (kept == 0 || mass < top_p * total) {
        mass += p[kept].1;
        kept += 1;
    }
    let mut u = rng.uniform() as f64 * mass;
    for &(tok, w) in &p[..kept - 1] {
        if u < w {
            return tok;
        }
        u -= w;
    }
    p[kept - 1].0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draw_follows_the_distribution_and_top_p_cuts_the_tail() {
        // p = (0.5, 0.3, 0.2): top_p 1 draws all three in proportion; top_p 0.7 keeps the first two
        // (0.5 < 0.7 ≤ 0.8), renormalised to 0.625 / 0.375.
        let logp: Vec<f32> = [0.5f32, 0.3, 0.2].iter().map(|p| p.ln()).collect();
        for (top_p, want) in [(1.0, [0.5, 0.3, 0.2]), (0.7, [0.625, 0.375, 0.0])] {
            let mut rng = Rng::stream(0, "draw");
            let mut counts = [0.0; 3];
            let n = 20000;
            for _ in 0..n {
                counts[draw(&logp, 1.0, top_p, &mut rng) as usize] += 1.0 / n as f64;
            }
            for (c, w) in counts.iter().zip(want) {
                assert!((c - w).abs() < 0.015, "top_p {top_p}: frequencies {counts:?}, want {want:?}");
            }
        }
        // A low temperature sharpens toward the mode.
        let mut rng = Rng::stream(0, "cold");
        let modal = (0..1000).filter(|_| draw(&logp, 0.05, 1.0, &mut rng) == 0).count();
        assert!(modal > 990, "temperature 0.05 drew the mode {modal}/1000 times");
    }
}
