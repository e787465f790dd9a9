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

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{EvalQueue, LocalFuture, ParamSpec, Toy, ToyEntry, typed, untyped};
use crate::autograd::backward;
use crate::error::{Error, Result};
use crate::figures::{Figure, Heatmap, Lines, Series, Table, TableRow};
use crate::metrics::MetricRow;
use crate::nn::{AttentionKind, Param, Transformer, TransformerShape};
use crate::optim::AdamW;
use crate::rng::Rng;
use crate::tasks::mqar::Set;
use crate::tensor::{Device, Index, Tensor};

pub const PARAMS: &[ParamSpec] = &[
    ParamSpec::int("seed", 0, u32::MAX as i64, "seeds every random draw: sequences and the three models' initialisation"),
    ParamSpec::int("vocab", 8, 256, "tokens: keys from the first half, values from the second"),
    ParamSpec::int("pairs", 1, 32, "key–value pairs per sequence (at most vocab/2)"),
    ParamSpec::int("queries", 1, 32, "keys asked for again per sequence (at most pairs)"),
    ParamSpec::int("layers", 1, 4, "transformer blocks"),
    ParamSpec::int("d_model", 16, 128, "width of the residual stream"),
    ParamSpec::int("heads", 1, 8, "attention heads (must divide d_model, with d_model/heads ≤ 64)"),
    ParamSpec::log_float("lr", 1e-4, 1e-1, "AdamW learning rate, the same for all three arms"),
    ParamSpec::int("batch_size", 8, 256, "fresh sequences per step, the same for all three arms"),
    ParamSpec::int("test_sequences", 16, 4096, "sequences in the fixed test set"),
    ParamSpec::int("eval_every", 1, 1000, "steps between metric rows"),
];

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Config {
    pub seed: u64,
    pub vocab: usize,
    pub pairs: usize,
    pub queries: usize,
    pub layers: usize,
    pub d_model: usize,
    pub heads: usize,
    pub lr: f64,
    pub batch_size: usize,
    pub test_sequences: usize,
    pub eval_every: u64,
}

/// Chosen by pilots on this project's 2-core CPU (seed 0): softmax finds its recall circuit
/// around step 550 and then answers ~100% of queries, Hedgehog levels off near 77% by step 700
/// and elu+1 near 20%, well inside the default steps.
impl Default for Config {
    fn default() -> Config {
        Config { seed: 0, vocab: 64, pairs: 8, queries: 8, layers: 2, d_model: 32, heads: 1, lr: 3e-3, batch_size: 32, test_sequences: 256, eval_every: 50 }
    }
}

impl Config {
    fn seq_len(&self) -> usize {
        2 * (self.pairs + self.queries)
    }
}

fn validate(config: &Map<String, Value>) -> Result<()> {
    let c: Config = typed(config)?;
    if c.pairs > c.vocab / 2 {
        return Err(Error::msg(format!("pairs = {} needs distinct keys: at most vocab/2 = {}", c.pairs, c.vocab / 2)));
    }
    if c.queries > c.pairs {
        return Err(Error::msg(format!("queries = {} must not exceed pairs = {}: each query asks for a different key", c.queries, c.pairs)));
    }
    if !c.d_model.is_multiple_of(c.heads) || c.d_model / c.heads > 64 {
        return Err(Error::msg(format!(
            "heads = {} must divide d_model = {} into heads of at most 64 channels (Hedgehog's 2·64 features are the kernel's limit)",
            c.heads, c.d_model
        )));
    }
    Ok(())
}

pub const ENTRY: ToyEntry = ToyEntry {
    id: "hedgehog",
    title: "Hedgehog: linear attention that mimics softmax",
    claim: "linear attention (elu+1) loses softmax's spiky weights and fails at associative recall; Hedgehog's learned feature map recovers low-entropy weights and most of the accuracy at linear cost",
    paper: "The Hedgehog & the Porcupine: Expressive Linear Attentions with Softmax Mimicry (Zhang, Bhatia, Kumbong & Ré, 2024)",
    paper_url: "https://arxiv.org/abs/2402.04347",
    params: &[PARAMS],
    default_steps: 1000,
    defaults: || untyped(&Config::default()),
    validate,
    build: |config, device| Ok(Box::new(Hedgehog::new(typed(config)?, device)?)),
};

/// The arms: metric prefix, attention, label.
const ARMS: [(&str, AttentionKind, &str); 3] = [
    ("softmax", AttentionKind::Softmax, "softmax"),
    ("linear", AttentionKind::EluLinear, "linear, elu+1"),
    ("hedgehog", AttentionKind::Hedgehog, "linear, Hedgehog"),
];

/// Per arm, in `ARMS` order; the charts group them by the part after `/`.
const METRICS: &[&str] = &[
    "softmax/recall_acc",
    "softmax/loss",
    "softmax/entropy",
    "linear/recall_acc",
    "linear/loss",
    "linear/entropy",
    "hedgehog/recall_acc",
    "hedgehog/loss",
    "hedgehog/entropy",
];

/// Test sequences whose attention rows give the entropy metric and the histogram.
const PROBE: usize = 16;
/// Bins of the row-entropy histogram, in nats.
const BINS: usize = 20;

struct Arm {
    model: Transformer,
    params: Vec<Param>,
    opt: AdamW,
}

/// A fixed set of sequences on the device: tokens, query positions, answers.
struct Probe {
    set: Set,
    tokens: Rc<Index>,
    queries: Rc<Index>,
    answers: Rc<Index>,
}

impl Probe {
    fn new(device: &Device, set: Set, vocab: usize) -> Result<Probe> {
        let n = set.tokens.len();
        Ok(Probe {
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
    arms: Vec<Arm>,
    data: Rng,
    test: Probe,
    /// The first `PROBE` test sequences.
    probe: Rc<Index>,
    steps: u64,
}

impl Hedgehog {
    pub fn new(config: Config, device: &Device) -> Result<Hedgehog> {
        let (v, t) = (config.vocab, config.seq_len());
        let shape = TransformerShape { vocab: v, seq_len: t, d_model: config.d_model, heads: config.heads, layers: config.layers, n_out: v };
        let arms = ARMS
            .iter()
            .map(|&(_, kind, _)| {
                // The same init stream for every arm: embeddings start equal, the blocks as their kind allows.
                let model = Transformer::with_attention(device, &mut Rng::stream(config.seed, "init"), shape, kind)?;
                let params = model.params();
                let opt = AdamW::new(&params, config.lr as f32, 0.0, 0.98);
                Ok(Arm { model, params, opt })
            })
            .collect::<Result<_>>()?;
        let test = Set::sample(&mut Rng::stream(config.seed, "test"), config.test_sequences, v, config.pairs, config.queries);
        let probe = Index::new(device, test.tokens[..PROBE.min(config.test_sequences) * t].to_vec(), v)?;
        Ok(Hedgehog { test: Probe::new(device, test, v)?, probe, data: Rng::stream(config.seed, "data"), config, device: device.clone(), arms, steps: 0 })
    }

    /// Mean cross-entropy and accuracy (outside the graph) at the query positions of `p`.
    fn recall(arm: &Arm, p: &Probe) -> Result<(Tensor, Tensor)> {
        arm.model.logits_at(&arm.model.hidden(&p.tokens)?, &p.queries)?.cross_entropy(&p.answers)
    }

    /// One AdamW update of every arm on the same fresh batch.
    fn train_step(&mut self) -> Result<()> {
        let c = &self.config;
        let batch = Probe::new(&self.device, Set::sample(&mut self.data, c.batch_size, c.vocab, c.pairs, c.queries), c.vocab)?;
        for arm in &mut self.arms {
            let (loss, _) = Hedgehog::recall(arm, &batch)?;
            let grads = backward(&loss)?;
            arm.opt.step(&arm.params, &grads)?;
        }
        self.device.flush();
        self.steps += 1;
        Ok(())
    }

    /// Every arm's test accuracy and loss, queued on the device, and its probe attention
    /// outputs (one per layer), whose weights are read at the end.
    fn queue_eval(&self) -> Result<(Vec<Tensor>, Vec<Vec<Tensor>>)> {
        let mut scalars = vec![];
        let mut atts = vec![];
        for arm in &self.arms {
            let (loss, acc) = Hedgehog::recall(arm, &self.test)?;
            scalars.extend([acc, Tensor::from_shared(&loss, &[1])]);
            atts.push(arm.model.hidden_with(&self.probe, None)?.1);
        }
        Ok((scalars, atts))
    }

    /// Rows are [recall accuracy, loss, mean row entropy] per arm, in `ARMS` order.
    async fn run(&mut self, n: u64) -> Result<Vec<MetricRow>> {
        let mut queue = EvalQueue::default();
        let mut atts = vec![];
        let mut eval = |me: &Hedgehog, queue: &mut EvalQueue| -> Result<()> {
            let (s, a) = me.queue_eval()?;
            queue.push(me.steps, s);
            atts.push(a);
            Ok(())
        };
        if self.steps == 0 {
            eval(self, &mut queue)?;
        }
        for _ in 0..n {
            self.train_step()?;
            if self.steps.is_multiple_of(self.config.eval_every) {
                eval(self, &mut queue)?;
            }
        }
        let rows = queue.read(&self.device).await?;
        let mut out = Vec::with_capacity(rows.len());
        for ((step, v), arms) in rows.into_iter().zip(atts) {
            let mut values = vec![];
            for (arm, layers) in arms.iter().enumerate() {
                let entropies = row_entropies(layers, self.config.seq_len()).await?;
                values.extend([v[2 * arm], v[2 * arm + 1], (entropies.iter().sum::<f64>() / entropies.len() as f64) as f32]);
            }
            out.push(MetricRow { step, values });
        }
        Ok(out)
    }

    /// Per arm and layer, the attention map of the first test sequence (mean over heads); the
    /// histogram of row entropies over the probe; a table of accuracy now.
    async fn figures_now(&self) -> Result<Vec<Figure>> {
        let t = self.config.seq_len();
        let (scalars, atts) = self.queue_eval()?;
        let values = crate::tensor::read_all(&scalars.iter().collect::<Vec<_>>()).await?;
        let labels: Vec<String> = self.test.set.tokens[..t]
            .iter()
            .enumerate()
            .map(|(i, &tok)| format!("{i}:{}{tok}", if (tok as usize) < self.config.vocab / 2 { "k" } else { "v" }))
            .collect();
        let mut maps = vec![];
        let mut hist = vec![];
        let mut rows = vec![];
        let edges = libm::log((t) as f64) / BINS as f64;
        for (a, ((name, _, label), layers)) in ARMS.iter().zip(&atts).enumerate() {
            for (l, att) in layers.iter().enumerate() {
                let w = att.attention_weights().await?.expect("attention outputs have weights");
                let nh = w.len() / (PROBE.min(self.config.test_sequences) * t * t);
                let mut map = vec![0.0f32; t * t];
                for h in 0..nh {
                    for (m, &x) in map.iter_mut().zip(&w[h * t * t..][..t * t]) {
                        *m += x / nh as f32;
                    }
                }
                maps.push(Figure::Heatmap(Heatmap {
                    id: format!("attention-{name}-layer{}", l + 1),
                    title: format!("{label}: layer {} attention on a test sequence (query rows, key columns)", l + 1),
                    rows: t,
                    cols: t,
                    values: map,
                    row_labels: labels.clone(),
                    col_labels: labels.clone(),
                }));
            }
            let entropies = row_entropies(layers, t).await?;
            let mut counts = vec![0.0f64; BINS];
            for &e in &entropies {
                counts[((e / edges) as usize).min(BINS - 1)] += 1.0 / entropies.len() as f64;
            }
            hist.push(Series { name: label.to_string(), y: counts });
            let mean = entropies.iter().sum::<f64>() / entropies.len() as f64;
            let acc = values[2 * a][0];
            let of_softmax = 100.0 * acc / values[0][0].max(f32::MIN_POSITIVE);
            rows.push(TableRow {
                cells: vec![
                    label.to_string(),
                    format!("{:.1}%", 100.0 * acc),
                    format!("{of_softmax:.0}%"),
                    format!("{:.3}", values[2 * a + 1][0]),
                    format!("{mean:.3}"),
                ],
                detail: None,
            });
        }
        let mut figures = vec![Figure::Table(Table {
            id: "recall".into(),
            title: "Recall on the test set now".into(),
            columns: ["attention", "recall accuracy", "of softmax's", "loss", "mean row entropy (nats)"].iter().map(|s| s.to_string()).collect(),
            rows,
        })];
        figures.extend(maps);
        figures.push(Figure::Lines(Lines {
            id: "entropy-histogram".into(),
            title: format!("Entropy of attention rows, all layers, {} test sequences (share of rows)", PROBE.min(self.config.test_sequences)),
            x_label: "row entropy (nats)".into(),
            y_label: "share of rows".into(),
            log_x: false,
            log_y: false,
            x: (0..BINS).map(|i| (i as f64 + 0.5) * edges).collect(),
            series: hist,
        }));
        Ok(figures)
    }
}

/// The entropy −Σ_s a_ts ln a_ts (nats) of every attention row of every layer, head and
/// sequence, in f64 with libm's log so that it is the same on every machine.
async fn row_entropies(layers: &[Tensor], t: usize) -> Result<Vec<f64>> {
    let mut out = vec![];
    for att in layers {
        let w = att.attention_weights().await?.expect("attention outputs have weights");
        out.extend(w.chunks(t).map(|row| -row.iter().filter(|&&a| a > 0.0).map(|&a| a as f64 * libm::log(a as f64)).sum::<f64>()));
    }
    Ok(out)
}

impl Toy for Hedgehog {
    fn metric_names(&self) -> &'static [&'static str] {
        METRICS
    }
    fn steps_done(&self) -> u64 {
        self.steps
    }
    fn step(&mut self, n: u64) -> LocalFuture<'_, Result<Vec<MetricRow>>> {
        Box::pin(self.run(n))
    }
    fn figures(&mut self) -> LocalFuture<'_, Result<Vec<Figure>>> {
        Box::pin(self.figures_now())
    }
}
