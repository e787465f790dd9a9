//! `hedgehog` — Zhang, Bhatia, Kumbong & Ré, "The Hedgehog & the Porcupine: Expressive Linear
//! Attentions with Softmax Mimicry" (ICLR 2024), https://arxiv.org/abs/2402.04347.
//!
//! Claim: linear attentions replace softmax's exp(q·k) by a dot product of feature maps
//! φ(q)·φ(k), which makes attention linear in the sequence length but loses softmax's "spiky"
//! (low-entropy) weights, and with them quality; Hedgehog learns a feature map (a linear layer
//! followed by exp of both signs) whose weights are spiky like softmax's, recovering most of the
//! quality at linear cost.
//!
//! The toy trains three copies of one small transformer side by side on the same batches of
//! multi-query associative recall (`tasks::mqar`), a task that needs sharp lookups: softmax
//! attention, linear attention with φ = elu+1 (Katharopoulos et al. 2020), and linear attention
//! with Hedgehog's learned map (`nn::AttentionKind`). Both linear arms run the scan kernel
//! (`linear_attention`), never forming the T × T weights; the figures form them on demand. It
//! reports recall accuracy and loss on a fixed test set, and the mean entropy of the attention
//! rows. What differs from the paper: all three models are trained from scratch on the task
//! itself, with no attention distillation from a softmax teacher (the paper's main recipe for
//! conversion), at a tiny scale, and the feature map is shared by the heads of a layer.

use std::rc::Rc;

use super::{About, Experiment, Paper, Theme};
use crate::error::{Error, Result};
use crate::figures::{Figure, Heatmap, Lines, Series, Table, TableRow};
use crate::learner::Learner;
use crate::metrics::{ACC, Arm, History, LOSS, Metrics, Quantity, Scale, TEST, Verdict, name, percent};
use crate::nn::{AttentionKind, Transformer, TransformerShape};
use crate::rng::Rng;
use crate::schema::{Optim, Run, Shape};
use crate::tasks::mqar::Set;
use crate::tensor::{Device, Index, Tensor, Weights, read_all};

crate::config! {
    pub struct Config {
        group run: Run = Run { seed: 0, eval_every: 50 },
        vocab: usize = 64, int(8, 256), "tokens: keys from the first half, values from the second",
        pairs: usize = 8, int(1, 32), "key–value pairs per sequence (at most vocab/2)",
        queries: usize = 8, int(1, 32), "keys asked for again per sequence (at most pairs)",
        group shape: Shape = Shape { layers: 2, d_model: 32, heads: 1 },
        group optim: Optim = Optim { lr: 3e-3, weight_decay: 0.0, batch_size: 32 },
        test_sequences: usize = 256, int(16, 4096), "sequences in the fixed test set",
    }
}

impl Config {
    fn seq_len(&self) -> usize {
        2 * (self.pairs + self.queries)
    }
}

/// The arms: who they are, and their attention.
const ARMS: [(Arm, AttentionKind); 3] = [
    (Arm::new("softmax", "softmax"), AttentionKind::Softmax),
    (Arm::new("linear", "linear, elu+1"), AttentionKind::EluLinear),
    (Arm::new("hedgehog", "linear, Hedgehog"), AttentionKind::Hedgehog),
];
const ENTROPY: Quantity = Quantity::new("entropy", "mean entropy of attention rows", "nats", Scale::Linear);

/// Test sequences whose attention rows give the entropy metric and the histogram.
const PROBE: usize = 16;
/// Bins of the row-entropy histogram, in nats.
const BINS: usize = 20;

/// Sequences on the device: tokens, query positions, answers.
struct Batch {
    set: Set,
    tokens: Rc<Index>,
    queries: Rc<Index>,
    answers: Rc<Index>,
}

impl Batch {
    fn new(device: &Device, set: Set, vocab: usize) -> Result<Batch> {
        let n = set.tokens.len();
        Ok(Batch {
            tokens: Index::new(device, set.tokens.clone(), vocab)?,
            queries: Index::new(device, set.queries.clone(), n)?,
            answers: Index::new(device, set.answers.clone(), vocab)?,
            set,
        })
    }
}

pub struct Hedgehog {
    config: Config,
    device: Device,
    arms: Vec<Learner<Transformer>>,
    data: Rng,
    test: Batch,
    /// The first `PROBE` test sequences.
    probe: Rc<Index>,
}

impl Experiment for Hedgehog {
    type Config = Config;
    const ABOUT: About = About {
        id: "hedgehog",
        title: "Hedgehog: linear attention that mimics softmax",
        claim: "linear attention (elu+1) loses softmax's spiky weights and fails at associative recall; Hedgehog's learned feature map recovers low-entropy weights and most of the accuracy at linear cost",
        theme: Theme::Attention,
        papers: &[Paper {
            title: "The Hedgehog & the Porcupine: Expressive Linear Attentions with Softmax Mimicry",
            authors: "Zhang, Bhatia, Kumbong & Ré",
            year: 2024,
            url: "https://arxiv.org/abs/2402.04347",
        }],
        default_steps: 1000,
    };

    fn validate(c: &Config) -> Result<()> {
        if c.pairs > c.vocab / 2 {
            return Err(Error::msg(format!("pairs = {} needs distinct keys: at most vocab/2 = {}", c.pairs, c.vocab / 2)));
        }
        if c.queries > c.pairs {
            return Err(Error::msg(format!("queries = {} must not exceed pairs = {}: each query asks for a different key", c.queries, c.pairs)));
        }
        c.shape.check()?;
        if c.shape.d_model / c.shape.heads > 64 {
            return Err(Error::msg(format!(
                "heads = {} must divide d_model = {} into heads of at most 64 channels (Hedgehog's 2·64 features are the kernel's limit)",
                c.shape.heads, c.shape.d_model
            )));
        }
        Ok(())
    }

    fn build(config: Config, device: &Device) -> Result<Hedgehog> {
        let (v, t, s) = (config.vocab, config.seq_len(), &config.shape);
        let shape = TransformerShape { vocab: v, seq_len: t, d_model: s.d_model, heads: s.heads, layers: s.layers, n_out: v };
        let arms = ARMS
            .iter()
            .map(|&(_, kind)| {
                // The same init stream for every arm: embeddings start equal, the blocks as their kind allows.
                let model = Transformer::with_attention(device, &mut Rng::stream(config.run.seed, "init"), shape, kind)?;
                Ok(Learner::adamw(model, config.optim.lr, config.optim.weight_decay, 0.98))
            })
            .collect::<Result<_>>()?;
        let test = Set::sample(&mut Rng::stream(config.run.seed, "test"), config.test_sequences, v, config.pairs, config.queries);
        let probe = Index::new(device, test.tokens[..PROBE.min(config.test_sequences) * t].to_vec(), v)?;
        Ok(Hedgehog { test: Batch::new(device, test, v)?, probe, data: Rng::stream(config.run.seed, "data"), config, device: device.clone(), arms })
    }

    /// One AdamW update of every arm on the same fresh batch.
    async fn train_step(&mut self, _step: u64) -> Result<()> {
        let c = &self.config;
        let batch = Batch::new(&self.device, Set::sample(&mut self.data, c.optim.batch_size, c.vocab, c.pairs, c.queries), c.vocab)?;
        for arm in &mut self.arms {
            let (loss, _) = recall(&arm.model, &batch)?;
            arm.update(&loss)?;
        }
        Ok(())
    }

    /// Per arm: test recall accuracy and loss, and the mean entropy of the probe's attention rows.
    async fn eval(&mut self, m: &mut Metrics) -> Result<()> {
        let t = self.config.seq_len();
        for ((arm, _), learner) in ARMS.iter().zip(&self.arms) {
            let (loss, acc) = recall(&learner.model, &self.test)?;
            m.scalar(*arm, TEST, ACC, &acc);
            m.scalar(*arm, TEST, LOSS, &loss);
            let (sources, from) = self.attention(&learner.model)?;
            m.derived(*arm, TEST, ENTROPY, &sources, move |v| {
                let e = row_entropies(&layer_weights(&from, v), t);
                (e.iter().sum::<f64>() / e.len() as f64) as f32
            });
        }
        Ok(())
    }

    /// Per arm and layer, the attention map of the first test sequence (mean over heads); the
    /// histogram of row entropies over the probe; a table of accuracy now.
    /// Softmax learns to recall; Hedgehog recovers most of it (at least half of softmax's recall,
    /// and clearly above elu+1's) with rows spikier than elu+1's.
    fn verdict(_: &Config, h: &History, _: &[Figure]) -> Verdict {
        let [soft, lin, hh] = ARMS.map(|(a, _)| h.last(&name(a, TEST, ACC)));
        let [_, h_lin, h_hh] = ARMS.map(|(a, _)| h.last(&name(a, TEST, ENTROPY)));
        let line = format!("recall: softmax {}, Hedgehog {} ({} of softmax's), elu+1 {}", percent(soft), percent(hh), percent(hh / soft), percent(lin));
        if soft < 0.9 {
            return Verdict::new(false, format!("{line}: softmax has not learnt to recall yet; try more steps"));
        }
        Verdict::new(hh >= 0.5 * soft && hh >= lin + 0.2 && h_hh < h_lin, line)
    }

    async fn figures(&mut self) -> Result<Vec<Figure>> {
        let t = self.config.seq_len();
        let mut scalars = vec![];
        let mut parts = vec![];
        for learner in &self.arms {
            let (loss, acc) = recall(&learner.model, &self.test)?;
            scalars.extend([acc, loss]);
            parts.push(self.attention(&learner.model)?);
        }
        let reads: Vec<&Tensor> = scalars.iter().chain(parts.iter().flat_map(|p| &p.0)).collect();
        let values = read_all(&reads).await?;
        let (scalars, mut rest) = values.split_at(scalars.len());
        let labels: Vec<String> = self.test.set.tokens[..t]
            .iter()
            .enumerate()
            .map(|(i, &tok)| format!("{i}:{}{tok}", if (tok as usize) < self.config.vocab / 2 { "k" } else { "v" }))
            .collect();
        let (mut maps, mut hist, mut rows) = (vec![], vec![], vec![]);
        let width = libm::log(t as f64) / BINS as f64;
        for (a, ((arm, _), (_, from))) in ARMS.iter().zip(&parts).enumerate() {
            let (mine, tail) = rest.split_at(from.iter().map(Weights::sources).sum());
            rest = tail;
            let layers = layer_weights(from, mine);
            for (l, w) in layers.iter().enumerate() {
                let nh = w.len() / (PROBE.min(self.config.test_sequences) * t * t);
                let title = format!("{}: layer {} attention on a test sequence (query rows, key columns)", arm.label, l + 1);
                maps.push(Figure::Heatmap(Heatmap::attention(format!("attention-{}-layer{}", arm.id, l + 1), title, &w[..nh * t * t], nh, labels.clone())));
            }
            let entropies = row_entropies(&layers, t);
            let mut counts = vec![0.0f64; BINS];
            for &e in &entropies {
                counts[((e / width) as usize).min(BINS - 1)] += 1.0 / entropies.len() as f64;
            }
            hist.push(Series::of(*arm, counts));
            let mean = entropies.iter().sum::<f64>() / entropies.len() as f64;
            let acc = scalars[2 * a][0];
            let of_softmax = 100.0 * acc / scalars[0][0].max(f32::MIN_POSITIVE);
            let cells = vec![
                arm.label.to_string(),
                format!("{:.1}%", 100.0 * acc),
                format!("{of_softmax:.0}%"),
                format!("{:.3}", scalars[2 * a + 1][0]),
                format!("{mean:.3}"),
            ];
            rows.push(TableRow::new(cells));
        }
        let columns = ["attention", "recall accuracy", "of softmax's", "loss", "mean row entropy (nats)"];
        let mut figures = vec![Figure::Table(Table::new("recall", "Recall on the test set now", &columns, rows))];
        figures.extend(maps);
        let title = format!("Entropy of attention rows, all layers, {} test sequences (share of rows)", PROBE.min(self.config.test_sequences));
        let x = (0..BINS).map(|i| (i as f64 + 0.5) * width).collect();
        figures.push(Figure::Lines(Lines::new("entropy-histogram", title, "row entropy (nats)", "share of rows", x, hist)));
        Ok(figures)
    }
}

impl Hedgehog {
    /// The probe's attention in every layer of `model`: the tensors to read, and per layer how
    /// its weights come from them.
    fn attention(&self, model: &Transformer) -> Result<(Vec<Tensor>, Vec<Weights>)> {
        let (_, atts) = model.hidden_with(&self.probe, None)?;
        let parts: Vec<_> = atts.iter().map(|a| a.attention_parts().expect("attention outputs have weights")).collect();
        Ok((parts.iter().flat_map(|p| p.0.iter().cloned()).collect(), parts.iter().map(|p| p.1).collect()))
    }
}

/// Mean cross-entropy and accuracy (outside the graph) at the query positions of `b`.
fn recall(model: &Transformer, b: &Batch) -> Result<(Tensor, Tensor)> {
    model.logits_at(&model.hidden(&b.tokens)?, &b.queries)?.cross_entropy(&b.answers)
}

/// Each layer's attention weights (B, NH, T, T) from the read-back values of its sources.
fn layer_weights(layers: &[Weights], mut values: &[Vec<f32>]) -> Vec<Vec<f32>> {
    layers
        .iter()
        .map(|w| {
            let (mine, rest) = values.split_at(w.sources());
            values = rest;
            w.weights(mine)
        })
        .collect()
}

/// The entropy −Σ_s a_ts ln a_ts (nats) of every attention row of every layer, head and
/// sequence, in f64 with libm's log so that it is the same on every machine.
fn row_entropies(layers: &[Vec<f32>], t: usize) -> Vec<f64> {
    layers.iter().flat_map(|w| w.chunks(t).map(|row| -row.iter().filter(|&&a| a > 0.0).map(|&a| a as f64 * libm::log(a as f64)).sum::<f64>())).collect()
}
