//! Autoregressive sampling from `nn::Transformer`, one generator query at a time.
//!
//! A query (Botta et al. 2025, §2: the generator oracle) asks for the next-token distribution
//! after a prefix. `next_logprobs` answers a batch of queries with one forward pass of the
//! model over the padded prefixes and `Tensor::log_softmax` at each prefix's last position,
//! then reads the rows back. There is no KV cache: the toy sequences are a few dozen tokens.
//! `draw` then picks a token on the host with temperature and top-p (nucleus) truncation:
//! the vocabularies here are a handful of tokens, so a GPU draw would buy nothing.
//! `complete` extends many prefixes by a fixed number of tokens this way and returns each
//! completion with its log-likelihood; `score` gives log π(y|x) of given completions with one
//! teacher-forced pass (the self-reward of Huang et al. 2024, "The Sharpening Mechanism").

pub mod compare;
pub mod constrained;

use crate::error::Result;
use crate::nn::Transformer;
use crate::rng::Rng;
use crate::tensor::{ClassLoss, Device, Index, Normalizer};

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

/// The most likely token (the lowest id among ties).
pub fn argmax(logp: &[f32]) -> u32 {
    let mut best = 0;
    for (i, &l) in logp.iter().enumerate() {
        if l > logp[best] {
            best = i;
        }
    }
    best as u32
}

/// A continuation of a prefix and its log-likelihood Σ log π(token | everything before it).
#[derive(Clone, Debug)]
pub struct Completion {
    pub tokens: Vec<u32>,
    pub logp: f64,
}

/// Extends every prefix by `len` tokens, one batched query per position; `pick` chooses each
/// token from its log-probabilities (`draw` for ancestral sampling, `argmax` for greedy). The
/// log-likelihood is summed in f64 in token order, so it is the same on every target.
pub async fn complete(
    model: &Transformer,
    device: &Device,
    bos: u32,
    prefixes: &[Vec<u32>],
    len: usize,
    mut pick: impl FnMut(&[f32]) -> u32,
) -> Result<Vec<Completion>> {
    let mut seqs: Vec<Vec<u32>> = prefixes.to_vec();
    let mut out: Vec<Completion> = prefixes.iter().map(|_| Completion { tokens: Vec::with_capacity(len), logp: 0.0 }).collect();
    for _ in 0..len {
        let views: Vec<&[u32]> = seqs.iter().map(Vec::as_slice).collect();
        let logps = next_logprobs(model, device, bos, &views).await?;
        for ((seq, c), logp) in seqs.iter_mut().zip(&mut out).zip(&logps) {
            let t = pick(logp);
            seq.push(t);
            c.tokens.push(t);
            c.logp += logp[t as usize] as f64;
        }
    }
    Ok(out)
}

/// The next-token loss of completions `ys[i]` teacher-forced after their prefixes `xs[i]` (all
/// prefixes of one length, all completions of one length): the input is `bos`, x, y and `bos`
/// padding; y[j] is predicted at the position of the token before it. Its `losses` are the
/// per-token −log π, completion by completion; its `loss`, their mean, trains on the ys (SFT).
pub fn teacher_forced(model: &Transformer, device: &Device, bos: u32, xs: &[Vec<u32>], ys: &[Vec<u32>]) -> Result<ClassLoss> {
    let t = model.shape.seq_len;
    let (px, py) = (xs.first().map_or(0, Vec::len), ys.first().map_or(0, Vec::len));
    debug_assert!(px + py <= t, "{px} + {py} tokens do not fit in {t} positions");
    let mut ids = Vec::with_capacity(xs.len() * t);
    let (mut rows, mut targets) = (vec![], vec![]);
    for (b, (x, y)) in xs.iter().zip(ys).enumerate() {
        ids.push(bos);
        ids.extend_from_slice(x);
        ids.extend_from_slice(&y[..py - 1]);
        ids.resize((b + 1) * t, bos);
        rows.extend((0..py).map(|j| (b * t + px + j) as u32));
        targets.extend_from_slice(y);
    }
    let hidden = model.hidden(&Index::new(device, ids, model.shape.vocab)?)?;
    let logits = model.logits_at(&hidden, &Index::new(device, rows, xs.len() * t)?)?;
    logits.cross_entropy_with(&Index::new(device, targets, model.shape.n_out)?, Normalizer::Softmax)
}

/// log π(y|x) of each completion `ys[i]` after its prefix `xs[i]` (as in `teacher_forced`): the
/// per-token losses read back and summed in f64, completion by completion.
pub async fn score(model: &Transformer, device: &Device, bos: u32, xs: &[Vec<u32>], ys: &[Vec<u32>]) -> Result<Vec<f64>> {
    let py = ys.first().map_or(1, Vec::len).max(1);
    let nll = teacher_forced(model, device, bos, xs, ys)?.losses.to_vec().await?;
    Ok(nll.chunks(py).map(|c| -c.iter().map(|&l| l as f64).sum::<f64>()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::TransformerShape;

    #[test]
    fn score_agrees_with_the_likelihood_complete_accumulates() {
        // log π(y|x) = Σ_j log π(y_j | x, y_<j): once token by token, once teacher-forced.
        let shape = TransformerShape { vocab: 6, seq_len: 4, d_model: 16, heads: 2, layers: 1, n_out: 6 };
        let model = Transformer::new(&Device::Cpu, &mut Rng::stream(0, "init"), shape).unwrap();
        let xs = vec![vec![1], vec![2], vec![3]];
        let mut rng = Rng::stream(0, "draw");
        let done = pollster::block_on(complete(&model, &Device::Cpu, 0, &xs, 3, |lp| draw(lp, 1.0, 1.0, &mut rng))).unwrap();
        let ys: Vec<Vec<u32>> = done.iter().map(|c| c.tokens.clone()).collect();
        let scored = pollster::block_on(score(&model, &Device::Cpu, 0, &xs, &ys)).unwrap();
        for (c, s) in done.iter().zip(&scored) {
            assert!((c.logp - s).abs() < 1e-5, "{:?}: complete {} vs score {s}", c.tokens, c.logp);
        }
    }

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
