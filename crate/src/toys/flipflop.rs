//! `flipflop` — Liu, Ash, Goel, Krishnamurthy & Zhang, "Exposing Attention Glitches with
//! Flip-Flop Language Modeling" (2023), https://arxiv.org/abs/2306.00946.
//!
//! Claim: "Transformer FFLMs suffer from a long tail of sporadic reasoning errors, some of which
//! we can eliminate using various regularization techniques." A transformer trained on
//! flip-flop strings (`tasks::flipflop`) reads the register almost perfectly on strings like
//! its training data, yet makes rare read errors ("attention glitches") once the instruction mix
//! shifts: sparse strings (almost only ignores, so the last write is far back) and dense ones
//! (almost no ignores, many competing writes).
//!
//! Setup as in the paper (§3–4): train on FFL(p_i = 0.8) with the next-token loss at every
//! position, count errors only at the deterministic positions (the bit after each `r`), test on
//! FFL(0.8), FFL(0.98) (sparse) and FFL(0.1) (dense). What differs: strings of 64 tokens instead
//! of 512, a 2-layer model of width 32 instead of the paper's larger ones, a few thousand steps,
//! and 512 test strings per distribution where the paper uses up to 10⁵–10⁷ (errors are rare,
//! so small test sets miss some of them). The regularization switch offers three of the paper's
//! interventions for the transformer: dropout, weight decay and attention sharpening (a penalty
//! on the entropy of its attention rows, `Tensor::attention_entropy`). `loss` = reads
//! trains on the read positions only (every other token is a coin flip), which learns the
//! register several times faster than the paper's next-token loss.
//!
//! The recurrent baseline (`recurrent` = lstm): a 1-layer LSTM trained beside the transformer on
//! the very same batches, with plain AdamW (no dropout, no decay), scored on the same test sets.
//! The paper reports that such a small LSTM extrapolates perfectly, with no read errors on the
//! sparse and dense tails: a recurrence carries the last written bit forward in its state, where
//! attention has to find the write among all the earlier tokens. An LSTM rather than a GRU
//! because it is the paper's baseline, and because all four of its gates are functions of one
//! sum xW_x + hW_h, so that one recurrence kernel and one matmul give the whole backward pass
//! (a GRU's reset gate multiplies hW_h inside the candidate, which splits that sum).

use std::rc::Rc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{EvalQueue, LocalFuture, ParamSpec, Toy, ToyEntry, typed, untyped};
use crate::autograd::backward;
use crate::error::{Error, Result};
use crate::figures::{Figure, Heatmap, Table, TableRow};
use crate::metrics::MetricRow;
use crate::nn::{Dropout, Lstm, Param, Transformer, TransformerShape};
use crate::optim::AdamW;
use crate::rng::Rng;
use crate::tasks::flipflop::{Set, VOCAB, W, letter};
use crate::tensor::{Device, Index, Tensor, read_all};

pub const REGULARIZATIONS: &[&str] = &["none", "dropout", "weight_decay", "sharpening"];
pub const LOSSES: &[&str] = &["all", "reads"];
pub const RECURRENT: &[&str] = &["lstm", "none"];

pub const PARAMS: &[ParamSpec] = &[
    ParamSpec::int("seed", 0, u32::MAX as i64, "seeds every random draw: strings, init, dropout masks"),
    ParamSpec::int("seq_len", 16, 256, "tokens per string (even): seq_len/2 instructions"),
    ParamSpec::int("layers", 1, 4, "transformer blocks"),
    ParamSpec::int("d_model", 16, 128, "width of the residual stream"),
    ParamSpec::int("heads", 1, 8, "attention heads (must divide d_model)"),
    ParamSpec::log_float("lr", 1e-4, 1e-1, "AdamW learning rate"),
    ParamSpec::int("batch_size", 8, 256, "fresh FFL(0.8) strings per step"),
    ParamSpec::choice("loss", LOSSES, "next-token loss at every position (all, as in the paper) or only at the reads"),
    ParamSpec::choice(
        "regularization",
        REGULARIZATIONS,
        "none, dropout (rate `dropout`), weight decay (`weight_decay`) or attention sharpening (`sharpening`)",
    ),
    ParamSpec::float("dropout", 0.0, 0.5, "share of units dropped on the embeddings and residual branches, with regularization = dropout"),
    ParamSpec::float("weight_decay", 0.0, 1.0, "AdamW decoupled weight decay, with regularization = weight_decay"),
    ParamSpec::log_float("sharpening", 1e-6, 1.0, "weight of the attention-entropy penalty (mean over layers), with regularization = sharpening"),
    ParamSpec::choice("recurrent", RECURRENT, "train a 1-layer LSTM beside the transformer on the same strings (lstm), or not (none)"),
    ParamSpec::int("lstm_hidden", 8, 128, "hidden units of the LSTM"),
    ParamSpec::log_float("lstm_lr", 1e-4, 1e-1, "the LSTM's AdamW learning rate"),
    ParamSpec::int("test_strings", 32, 8192, "strings in each fixed test set (the paper uses up to 10⁷)"),
    ParamSpec::int("eval_every", 1, 1000, "steps between metric rows"),
];

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Config {
    pub seed: u64,
    pub seq_len: usize,
    pub layers: usize,
    pub d_model: usize,
    pub heads: usize,
    pub lr: f64,
    pub batch_size: usize,
    pub loss: String,
    pub regularization: String,
    pub dropout: f64,
    pub weight_decay: f64,
    pub sharpening: f64,
    pub recurrent: String,
    pub lstm_hidden: usize,
    pub lstm_lr: f64,
    pub test_strings: usize,
    pub eval_every: u64,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            seed: 0,
            seq_len: 64,
            layers: 2,
            d_model: 32,
            heads: 2,
            lr: 3e-3,
            batch_size: 32,
            loss: "all".into(),
            regularization: "none".into(),
            dropout: 0.1,
            weight_decay: 0.1,
            // Pilots at the defaults (seed 0): 1e-4 lowers the glitch rates; 1e-3 and more keep
            // the transformer from learning the task within 3,000 steps.
            sharpening: 1e-4,
            recurrent: "lstm".into(),
            lstm_hidden: 32,
            lstm_lr: 1e-2,
            test_strings: 512,
            eval_every: 100,
        }
    }
}

fn validate(config: &Map<String, Value>) -> Result<()> {
    let c: Config = typed(config)?;
    if c.seq_len % 2 != 0 {
        return Err(Error::msg(format!("seq_len = {} must be even: a string is instruction–bit pairs", c.seq_len)));
    }
    if c.d_model % c.heads != 0 {
        return Err(Error::msg(format!("heads = {} must divide d_model = {}", c.heads, c.d_model)));
    }
    Ok(())
}

pub const ENTRY: ToyEntry = ToyEntry {
    id: "flipflop",
    title: "Attention glitches on flip-flop languages",
    claim: "a transformer reads a 1-bit register almost perfectly in distribution, but makes sporadic read errors on sparse and dense strings; a 1-layer LSTM makes none",
    paper: "Exposing Attention Glitches with Flip-Flop Language Modeling (Liu et al., 2023)",
    paper_url: "https://arxiv.org/abs/2306.00946",
    params: &[PARAMS],
    default_steps: 3000,
    defaults: || untyped(&Config::default()),
    validate,
    build: |config, device| Ok(Box::new(FlipFlop::new(typed(config)?, device)?)),
};

/// The transformer's metrics, then, with `recurrent` = lstm, the LSTM's under `lstm/` (so that
/// the charts put them beside the transformer's).
const METRICS: &[&str] = &["train/loss", "in_dist/read_err", "sparse/read_err", "dense/read_err"];
const METRICS_WITH_LSTM: &[&str] = &[
    "train/loss",
    "in_dist/read_err",
    "sparse/read_err",
    "dense/read_err",
    "lstm/train/loss",
    "lstm/in_dist/read_err",
    "lstm/sparse/read_err",
    "lstm/dense/read_err",
];

/// The test distributions: (name, p_i), as in the paper's §4 (FFL(0.8), FFL(0.98), FFL(0.1)).
const TESTS: [(&str, f32); 3] = [("in_dist", 0.8), ("sparse", 0.98), ("dense", 0.1)];
const TRAIN_P_IGNORE: f32 = 0.8;
/// Glitches listed per test set in the figure.
const GLITCHES_PER_TEST: usize = 4;

/// A fixed test set on the device: its strings, and the read positions with their bits.
struct Probe {
    set: Set,
    tokens: Rc<Index>,
    reads: Rc<Index>,
    bits: Rc<Index>,
}

impl Probe {
    fn new(device: &Device, set: Set) -> Result<Probe> {
        let n = set.tokens.len();
        Ok(Probe {
            tokens: Index::new(device, set.tokens.clone(), VOCAB)?,
            reads: Index::new(device, set.reads.clone(), n)?,
            bits: Index::new(device, set.bits.clone(), VOCAB)?,
            set,
        })
    }
}

/// The models that read the strings.
enum Net {
    Transformer(Transformer),
    Lstm(Lstm),
}

/// One model with its optimizer, trained on the toy's batches.
struct Arm {
    name: &'static str,
    net: Net,
    params: Vec<Param>,
    opt: AdamW,
}

impl Arm {
    fn new(name: &'static str, net: Net, lr: f32, weight_decay: f32) -> Arm {
        let params = match &net {
            Net::Transformer(m) => m.params(),
            Net::Lstm(m) => m.params(),
        };
        let opt = AdamW::new(&params, lr, weight_decay, 0.98);
        Arm { name, net, params, opt }
    }

    /// The logits (rows, VOCAB) at positions `rows` of strings `tokens` of `seq_len` tokens.
    /// Dropout only reaches the transformer.
    fn logits(&self, tokens: &Rc<Index>, seq_len: usize, rows: &Rc<Index>, dropout: Option<&Dropout>) -> Result<Tensor> {
        match &self.net {
            Net::Transformer(m) => m.logits_at(&m.hidden_with(tokens, dropout)?.0, rows),
            Net::Lstm(m) => m.logits_at(&m.hidden(tokens, seq_len)?, rows),
        }
    }
}

/// A training batch on the device: its strings, and the positions the loss reads with their
/// targets (every position but the last of each string, or only the reads with `loss` = reads).
struct Batch {
    tokens: Rc<Index>,
    rows: Rc<Index>,
    targets: Rc<Index>,
}

pub struct FlipFlop {
    config: Config,
    device: Device,
    /// The transformer first, then the LSTM with `recurrent` = lstm.
    arms: Vec<Arm>,
    dropout: Option<Dropout>,
    data: Rng,
    /// Every position but the last of each training string: where the next token is predicted.
    predict_rows: Rc<Index>,
    tests: Vec<Probe>,
    steps: u64,
}

impl FlipFlop {
    pub fn new(config: Config, device: &Device) -> Result<FlipFlop> {
        let (t, b) = (config.seq_len, config.batch_size);
        let shape = TransformerShape { vocab: VOCAB, seq_len: t, d_model: config.d_model, heads: config.heads, layers: config.layers, n_out: VOCAB };
        let model = Transformer::new(device, &mut Rng::stream(config.seed, "init"), shape)?;
        let wd = if config.regularization == "weight_decay" { config.weight_decay as f32 } else { 0.0 };
        let mut arms = vec![Arm::new("transformer", Net::Transformer(model), config.lr as f32, wd)];
        if config.recurrent == "lstm" {
            // A stream of its own, so that the transformer's run is the same with or without it.
            let lstm = Lstm::new(device, &mut Rng::stream(config.seed, "lstm init"), VOCAB, config.lstm_hidden, VOCAB)?;
            arms.push(Arm::new("lstm", Net::Lstm(lstm), config.lstm_lr as f32, 0.0));
        }
        let dropout = (config.regularization == "dropout").then(|| Dropout::new(config.dropout as f32, Rng::stream(config.seed, "dropout")));
        let rows = (0..b * t).filter(|i| i % t != t - 1).map(|i| i as u32).collect();
        let mut test_rng = Rng::stream(config.seed, "test");
        let tests = TESTS.iter().map(|&(_, p)| Probe::new(device, Set::sample(&mut test_rng, config.test_strings, t, p))).collect::<Result<_>>()?;
        Ok(FlipFlop {
            predict_rows: Index::new(device, rows, b * t)?,
            data: Rng::stream(config.seed, "data"),
            config,
            device: device.clone(),
            arms,
            dropout,
            tests,
            steps: 0,
        })
    }

    fn transformer(&self) -> &Transformer {
        match &self.arms[0].net {
            Net::Transformer(m) => m,
            Net::Lstm(_) => unreachable!("the transformer is the first arm"),
        }
    }

    fn batch(&self, set: Set) -> Result<Batch> {
        let t = self.config.seq_len;
        let n = set.tokens.len();
        let (rows, targets) = if self.config.loss == "reads" {
            (Index::new(&self.device, set.reads, n)?, set.bits)
        } else {
            (self.predict_rows.clone(), (0..n).filter(|i| i % t != t - 1).map(|i| set.tokens[i + 1]).collect())
        };
        Ok(Batch { tokens: Index::new(&self.device, set.tokens, VOCAB)?, rows, targets: Index::new(&self.device, targets, VOCAB)? })
    }

    /// Mean next-token cross-entropy of one arm over the batch's loss positions.
    fn loss(&self, arm: &Arm, batch: &Batch, dropout: Option<&Dropout>) -> Result<Tensor> {
        Ok(self.losses(arm, batch, dropout)?.0)
    }

    /// The cross-entropy (for the metrics) and the objective the optimizer follows: the same,
    /// plus for the transformer with regularization = sharpening `sharpening` times the mean
    /// entropy of its attention rows, averaged over the layers (attention sharpening).
    fn losses(&self, arm: &Arm, batch: &Batch, dropout: Option<&Dropout>) -> Result<(Tensor, Tensor)> {
        match (&arm.net, self.config.regularization == "sharpening") {
            (Net::Transformer(m), true) => {
                let (hidden, atts) = m.hidden_with(&batch.tokens, dropout)?;
                let ce = m.logits_at(&hidden, &batch.rows)?.cross_entropy(&batch.targets)?.0;
                let w = self.config.sharpening as f32 / atts.len() as f32;
                let mut objective = ce.clone();
                for att in &atts {
                    objective = objective.add(&att.attention_entropy()?.scale(w))?;
                }
                Ok((ce, objective))
            }
            _ => {
                let ce = arm.logits(&batch.tokens, self.config.seq_len, &batch.rows, dropout)?.cross_entropy(&batch.targets)?.0;
                Ok((ce.clone(), ce))
            }
        }
    }

    /// One AdamW update of every arm on the same fresh FFL(0.8) strings; returns each arm's loss
    /// before it.
    fn train_step(&mut self) -> Result<Vec<Tensor>> {
        let set = Set::sample(&mut self.data, self.config.batch_size, self.config.seq_len, TRAIN_P_IGNORE);
        let batch = self.batch(set)?;
        let mut losses = Vec::with_capacity(self.arms.len());
        for k in 0..self.arms.len() {
            let dropout = if k == 0 { self.dropout.as_ref() } else { None };
            let (loss, objective) = self.losses(&self.arms[k], &batch, dropout)?;
            let grads = backward(&objective)?;
            let arm = &mut self.arms[k];
            arm.opt.step(&arm.params, &grads)?;
            losses.push(Tensor::from_shared(&loss, &[1]));
        }
        self.device.flush();
        self.steps += 1;
        Ok(losses)
    }

    /// One arm's logits (reads, VOCAB) at every read of a test set.
    fn read_logits(&self, arm: &Arm, probe: &Probe) -> Result<Tensor> {
        arm.logits(&probe.tokens, self.config.seq_len, &probe.reads, None)
    }

    /// Per arm, its loss then its read accuracy on each test set, queued on the device.
    fn queue_eval(&self, losses: Vec<Tensor>) -> Result<Vec<Tensor>> {
        let mut out = vec![];
        for (arm, loss) in self.arms.iter().zip(losses) {
            out.push(loss);
            for p in &self.tests {
                out.push(Tensor::from_shared(&self.read_logits(arm, p)?.cross_entropy(&p.bits)?.1, &[1]));
            }
        }
        Ok(out)
    }

    /// Rows are, per arm, [train loss, then the in-distribution, sparse and dense read error
    /// rates]. The loss is that of the step's own batch; at step 0, of a batch from a stream of
    /// its own.
    async fn run(&mut self, n: u64) -> Result<Vec<MetricRow>> {
        let mut queue = EvalQueue::default();
        if self.steps == 0 {
            let first = Set::sample(&mut Rng::stream(self.config.seed, "first batch"), self.config.batch_size, self.config.seq_len, TRAIN_P_IGNORE);
            let batch = self.batch(first)?;
            let losses = self.arms.iter().map(|arm| Ok(Tensor::from_shared(&self.loss(arm, &batch, None)?, &[1]))).collect::<Result<_>>()?;
            queue.push(0, self.queue_eval(losses)?);
        }
        for _ in 0..n {
            let losses = self.train_step()?;
            if self.steps % self.config.eval_every == 0 {
                queue.push(self.steps, self.queue_eval(losses)?);
            }
        }
        let rows = queue.read(&self.device).await?;
        let errors = |v: &[f32]| [v[0], 1.0 - v[1], 1.0 - v[2], 1.0 - v[3]];
        Ok(rows.into_iter().map(|(step, v)| MetricRow { step, values: v.chunks(4).flat_map(errors).collect() }).collect())
    }

    /// A table of error counts per model and test set, and a table of the transformer's glitches
    /// (wrong reads) whose rows open the last layer's attention map of their string, averaged
    /// over heads.
    async fn glitch_figures(&self) -> Result<Vec<Figure>> {
        let logits = self.arms.iter().flat_map(|arm| self.tests.iter().map(move |p| self.read_logits(arm, p))).collect::<Result<Vec<_>>>()?;
        let values = read_all(&logits.iter().collect::<Vec<_>>()).await?;
        let t = self.config.seq_len;
        let mut counts = vec![];
        let mut glitches = vec![]; // the transformer's: (test, flat read position, predicted token)
        for (k, (arm, values)) in self.arms.iter().zip(values.chunks(TESTS.len())).enumerate() {
            for (test, ((&(name, p), probe), v)) in TESTS.iter().zip(&self.tests).zip(values).enumerate() {
                let mut errors = 0;
                for ((row, &at), &bit) in v.chunks(VOCAB).zip(&probe.set.reads).zip(&probe.set.bits) {
                    let predicted = (0..VOCAB).fold(0, |best, j| if row[j] > row[best] { j } else { best }) as u32;
                    if predicted != bit {
                        if k == 0 && errors < GLITCHES_PER_TEST {
                            glitches.push((test, at, predicted));
                        }
                        errors += 1;
                    }
                }
                let reads = probe.set.reads.len();
                let rate = format!("{:.2e}", errors as f64 / reads as f64);
                counts.push(TableRow {
                    cells: vec![arm.name.into(), name.into(), format!("{p}"), probe.set.len().to_string(), reads.to_string(), errors.to_string(), rate],
                    detail: None,
                });
            }
        }
        let maps = self.attention_maps(&glitches).await?;
        let rows = glitches.iter().zip(maps).map(|(&(test, at, predicted), detail)| {
            let set = &self.tests[test].set;
            let (s, pos) = (at as usize / t, at as usize % t);
            let write = (0..pos).step_by(2).rev().find(|&j| set.tokens[s * t + j] == W).expect("strings start with a write");
            let cells = vec![
                TESTS[test].0.into(),
                set.text(s),
                pos.to_string(),
                (pos - write).to_string(),
                letter(set.tokens[at as usize + 1]).into(),
                letter(predicted).into(),
            ];
            TableRow { cells, detail: Some(detail) }
        });
        let columns = |c: &[&str]| c.iter().map(|s| s.to_string()).collect();
        Ok(vec![
            Figure::Table(Table {
                id: "read-errors".into(),
                title: "Read errors on the test sets now".into(),
                columns: columns(&["model", "test", "p_i", "strings", "reads", "errors", "error rate"]),
                rows: counts,
            }),
            Figure::Table(Table {
                id: "glitches".into(),
                title: "Glitches: the transformer's wrong reads (click a row for its last-layer attention)".into(),
                columns: columns(&["test", "string", "read at", "tokens since the write", "expected", "predicted"]),
                rows: rows.collect(),
            }),
        ])
    }

    /// The last block's attention (T × T, mean over heads) of each glitch's string, in one pass.
    async fn attention_maps(&self, glitches: &[(usize, u32, u32)]) -> Result<Vec<Heatmap>> {
        if glitches.is_empty() {
            return Ok(vec![]);
        }
        let (t, nh) = (self.config.seq_len, self.config.heads);
        let tokens: Vec<u32> = glitches
            .iter()
            .flat_map(|&(test, at, _)| {
                let s = at as usize / t;
                self.tests[test].set.tokens[s * t..][..t].iter().copied()
            })
            .collect();
        let (_, atts) = self.transformer().hidden_with(&Index::new(&self.device, tokens.clone(), VOCAB)?, None)?;
        let probs = atts.last().and_then(|a| a.attention_probs()).expect("attention outputs carry their probabilities");
        let probs = probs.to_vec().await?;
        Ok(glitches
            .iter()
            .enumerate()
            .map(|(g, &(test, at, _))| {
                let mut values = vec![0.0f32; t * t];
                for h in 0..nh {
                    for (v, &a) in values.iter_mut().zip(&probs[(g * nh + h) * t * t..][..t * t]) {
                        *v += a / nh as f32;
                    }
                }
                let labels: Vec<String> = tokens[g * t..][..t].iter().enumerate().map(|(i, &tok)| format!("{i}{}", letter(tok))).collect();
                Heatmap {
                    id: format!("attention-{}-{at}", TESTS[test].0),
                    title: format!("Last-layer attention, {} string, read at {}: query rows, key columns", TESTS[test].0, at as usize % t),
                    rows: t,
                    cols: t,
                    values,
                    row_labels: labels.clone(),
                    col_labels: labels,
                }
            })
            .collect())
    }
}

impl Toy for FlipFlop {
    fn metric_names(&self) -> &'static [&'static str] {
        if self.arms.len() > 1 { METRICS_WITH_LSTM } else { METRICS }
    }
    fn steps_done(&self) -> u64 {
        self.steps
    }
    fn step(&mut self, n: u64) -> LocalFuture<'_, Result<Vec<MetricRow>>> {
        Box::pin(self.run(n))
    }
    fn figures(&mut self) -> LocalFuture<'_, Result<Vec<Figure>>> {
        Box::pin(self.glitch_figures())
    }
}
