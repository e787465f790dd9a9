//! `grokking` — Power et al., "Grokking: Generalization Beyond Overfitting on Small Algorithmic
//! Datasets" (2022), https://arxiv.org/abs/2201.02177.
//!
//! Claim: a small transformer trained on part of the table of a ∘ b (mod p) fits its training
//! equations early, while its accuracy on the held-out equations stays near chance for a long
//! stretch; then, "well past the point of overfitting", validation accuracy climbs to ~100%.
//! Weight decay is the decisive knob: without it the same budget does not generalise.
//!
//! Setup as in the paper (§2, appendix A.1): tokens `a ∘ b =`, the answer predicted at the last
//! position, a decoder-only transformer, AdamW with β2 = 0.98 and a 10-step warm-up, minibatches
//! of at most 512.
//! What differs: the paper uses p = 97, 2 layers of width 128 and 10⁵ steps; the defaults here
//! are smaller and use a larger learning rate so that the effect appears in a few minutes on
//! one CPU core (see `Config::default`).

use std::rc::Rc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{EvalQueue, LocalFuture, ParamSpec, Toy, ToyEntry, typed, untyped};
use crate::autograd::backward;
use crate::error::{Error, Result};
use crate::figures::{Figure, Heatmap};
use crate::metrics::MetricRow;
use crate::nn::{Mlp, Param, Transformer, TransformerShape};
use crate::optim::{AdamW, SlowGradientFilter, weight_norm_squared};
use crate::rng::Rng;
use crate::tasks::modular::{self, SEQ_LEN, Split};
use crate::tensor::{ClassLoss, Device, Index, Normalizer, Tensor, read_all};

const MODELS: &[&str] = &["transformer", "mlp"];

pub const PARAMS: &[ParamSpec] = &[
    ParamSpec::int("seed", 0, u32::MAX as i64, "seeds every random draw: data split, init, batches"),
    ParamSpec::int("p", 5, 113, "the prime modulus of a ∘ b (mod p)"),
    ParamSpec::choice("op", modular::OPS, "the operation: a+b, a−b, a·b, a÷b, a²+ab+b², a³+b³"),
    ParamSpec::float("train_fraction", 0.05, 0.95, "share of the p² equations used for training"),
    ParamSpec::choice("model", MODELS, "a decoder-only transformer over `a ∘ b =` (Power et al.), or a ReLU MLP over one-hot a and b (Prieto et al.)"),
    ParamSpec::int("layers", 1, 4, "transformer blocks, or the MLP's hidden layers"),
    ParamSpec::int("d_model", 16, 256, "width of the residual stream, or of the MLP's hidden layers"),
    ParamSpec::int("heads", 1, 8, "attention heads (must divide d_model; the MLP has none)"),
    ParamSpec::log_float("lr", 1e-5, 1e-1, "Adam learning rate, reached after a 10-step warm-up"),
    ParamSpec::float("weight_decay", 0.0, 10.0, "weight decay (AdamW's decoupled decay unless the toy says otherwise): the knob that makes grokking happen"),
    ParamSpec::int("batch_size", 16, 4096, "equations per step (capped at the training set: full batch)"),
    ParamSpec::int("eval_every", 1, 1000, "steps between metric rows"),
];

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Config {
    pub seed: u64,
    pub p: u64,
    pub op: String,
    pub train_fraction: f64,
    pub model: String,
    pub layers: usize,
    pub d_model: usize,
    pub heads: usize,
    pub lr: f64,
    pub weight_decay: f64,
    pub batch_size: usize,
    pub eval_every: u64,
}

impl Default for Config {
    /// Tuned on this project's 2-core CPU to grok within ~3 minutes of the native CLI;
    /// the paper's own values are p = 97, 2 layers, d = 128, lr = 1e-3.
    fn default() -> Config {
        Config {
            seed: 0,
            p: 47,
            op: "add".into(),
            train_fraction: 0.5,
            model: "transformer".into(),
            layers: 1,
            d_model: 64,
            heads: 4,
            lr: 3e-3,
            weight_decay: 1.0,
            batch_size: 512,
            eval_every: 10,
        }
    }
}

pub(crate) fn validate(config: &Map<String, Value>) -> Result<()> {
    let c: Config = typed(config)?;
    if !modular::is_prime(c.p) {
        return Err(Error::msg(format!("p = {} is not prime (the table needs a field, e.g. 47, 59, 97, 113)", c.p)));
    }
    if c.model == "transformer" && c.d_model % c.heads != 0 {
        return Err(Error::msg(format!("heads = {} must divide d_model = {}", c.heads, c.d_model)));
    }
    Ok(())
}

pub const ENTRY: ToyEntry = ToyEntry {
    id: "grokking",
    title: "Grokking: generalization long after overfitting",
    claim: "train accuracy reaches ~100% long before validation accuracy jumps; without weight decay it never does",
    paper: "Grokking: Generalization Beyond Overfitting on Small Algorithmic Datasets (Power et al., 2022)",
    paper_url: "https://arxiv.org/abs/2201.02177",
    params: &[PARAMS],
    default_steps: 1500,
    defaults: || untyped(&Config::default()),
    validate,
    build: |config, device| Ok(Box::new(Grokking(ModularRun::new(typed(config)?, device)?))),
};

const WARMUP_STEPS: u64 = 10;

const METRICS: &[&str] = &["train/loss", "train/acc", "val/loss", "val/acc", "model/weight_norm"];

/// The model a run trains: what `Config::model` names.
enum Model {
    Transformer(Transformer),
    Mlp(Mlp),
}

/// A batch's inputs in the form its run's model reads.
enum Inputs {
    /// Token ids of `a ∘ b =` and the last position of every sequence.
    Sequences { tokens: Rc<Index>, last: Rc<Index> },
    /// The rows of a and of p + b in the MLP's one-hot first layer.
    Operands { a: Rc<Index>, b: Rc<Index> },
}

/// A batch's inputs and answers, on the device.
struct Batch {
    inputs: Inputs,
    targets: Rc<Index>,
}

impl Batch {
    fn new(device: &Device, model: &Model, tokens: Vec<u32>, targets: Vec<u32>, p: usize) -> Result<Batch> {
        let n = targets.len();
        let inputs = match model {
            Model::Transformer(_) => {
                let last = (0..n as u32).map(|i| i * SEQ_LEN as u32 + SEQ_LEN as u32 - 1).collect();
                Inputs::Sequences { tokens: Index::new(device, tokens, p + 2)?, last: Index::new(device, last, n * SEQ_LEN)? }
            }
            Model::Mlp(_) => {
                let operand = |k: usize, offset: u32| tokens.chunks(SEQ_LEN).map(|t| t[k] + offset).collect();
                Inputs::Operands { a: Index::new(device, operand(0, 0), 2 * p)?, b: Index::new(device, operand(2, p as u32), 2 * p)? }
            }
        };
        Ok(Batch { inputs, targets: Index::new(device, targets, p)? })
    }
}

/// One model trained on one modular table: the engine of `grokking`, kept apart from the toy
/// so that variants (Grokfast's filter, StableMax) can train several side by side.
pub struct ModularRun {
    pub config: Config,
    device: Device,
    model: Model,
    pub params: Vec<Param>,
    opt: AdamW,
    train_split: Split,
    val_split: Split,
    train: Batch,
    val: Batch,
    batches: Rng,
    /// Training equations not yet drawn this epoch (minibatches sample without replacement).
    epoch: Vec<u32>,
    steps: u64,
    /// Softmax for `grokking`; `stablemax` trains one arm with each.
    norm: Normalizer,
    /// Grokfast's filter on the gradients before the optimizer (`with_filter`).
    filter: Option<SlowGradientFilter>,
    /// Weight decay added to the gradient (L2, PyTorch's `Adam(weight_decay=…)`) instead of
    /// AdamW's decoupled decay (`with_l2_decay`); 0 when decoupled.
    l2: f32,
}

impl ModularRun {
    pub fn new(config: Config, device: &Device) -> Result<ModularRun> {
        let p = config.p as usize;
        let (train_split, val_split) = modular::split(config.p, &config.op, config.train_fraction, config.seed);
        let rng = &mut Rng::stream(config.seed, "init");
        let (model, params) = if config.model == "mlp" {
            let mlp = Mlp::new(device, rng, p, config.d_model, config.layers, p)?;
            let params = mlp.params();
            (Model::Mlp(mlp), params)
        } else {
            let shape = TransformerShape { vocab: p + 2, seq_len: SEQ_LEN, d_model: config.d_model, heads: config.heads, layers: config.layers, n_out: p };
            let transformer = Transformer::new(device, rng, shape)?;
            let params = transformer.params();
            (Model::Transformer(transformer), params)
        };
        let opt = AdamW::new(&params, config.lr as f32, config.weight_decay as f32, 0.98);
        let train = Batch::new(device, &model, train_split.tokens.clone(), train_split.targets.clone(), p)?;
        let val = Batch::new(device, &model, val_split.tokens.clone(), val_split.targets.clone(), p)?;
        Ok(ModularRun {
            batches: Rng::stream(config.seed, "batches"),
            epoch: vec![],
            config,
            device: device.clone(),
            model,
            params,
            opt,
            train_split,
            val_split,
            train,
            val,
            steps: 0,
            norm: Normalizer::Softmax,
            filter: None,
            l2: 0.0,
        })
    }

    /// Filters every gradient with Grokfast's slow-gradient amplifier before the optimizer.
    pub fn with_filter(mut self, alpha: f32, lamb: f32) -> ModularRun {
        self.filter = Some(SlowGradientFilter::new(&self.params, alpha, lamb));
        self
    }

    /// Adam with the weight decay folded into the gradient (after any filter), as PyTorch's
    /// `Adam(weight_decay=…)` does, instead of AdamW's decoupled decay. Adam then normalises
    /// the decay term too, so once the data gradient is small it shrinks weights much faster.
    pub fn with_l2_decay(mut self) -> ModularRun {
        self.l2 = self.opt.weight_decay;
        self.opt.weight_decay = 0.0;
        self
    }

    /// The same run with another loss normalizer, and ⊥AdamW when `orthogonal` (the arms of
    /// `stablemax`).
    pub fn with_objective(mut self, norm: Normalizer, orthogonal: bool) -> ModularRun {
        self.norm = norm;
        self.opt.orthogonal = orthogonal;
        self
    }

    /// The logits of the answers, (N, p).
    fn logits(&self, b: &Batch) -> Result<Tensor> {
        match (&self.model, &b.inputs) {
            (Model::Transformer(m), Inputs::Sequences { tokens, last }) => m.logits_at(&m.hidden(tokens)?, last),
            (Model::Mlp(m), Inputs::Operands { a, b }) => m.forward(a, b),
            _ => unreachable!("a run's batches are built for its model"),
        }
    }

    /// The logits of the answers, (N, p), and their loss and accuracy.
    fn loss(&self, b: &Batch) -> Result<(Tensor, ClassLoss)> {
        let logits = self.logits(b)?;
        let loss = logits.cross_entropy_with(&b.targets, self.norm)?;
        Ok((logits, loss))
    }

    /// The next minibatch, or the whole training set when the batch covers it.
    fn next_batch(&mut self) -> Result<Option<Batch>> {
        let n = self.train_split.len();
        if self.config.batch_size >= n {
            return Ok(None);
        }
        let mut picks = Vec::with_capacity(self.config.batch_size);
        while picks.len() < self.config.batch_size {
            if self.epoch.is_empty() {
                self.epoch = (0..n as u32).collect();
                self.batches.shuffle(&mut self.epoch);
            }
            picks.push(self.epoch.pop().expect("refilled"));
        }
        let s = &self.train_split;
        let tokens = picks.iter().flat_map(|&i| s.tokens[i as usize * SEQ_LEN..][..SEQ_LEN].iter().copied()).collect();
        let targets = picks.iter().map(|&i| s.targets[i as usize]).collect();
        Batch::new(&self.device, &self.model, tokens, targets, self.config.p as usize).map(Some)
    }

    /// One AdamW update on the next minibatch.
    pub fn train_step(&mut self) -> Result<()> {
        let batch = self.next_batch()?;
        let (_, loss) = self.loss(batch.as_ref().unwrap_or(&self.train))?;
        let mut grads = backward(&loss.loss)?;
        if let Some(filter) = &mut self.filter {
            filter.apply(&self.params, &mut grads);
        }
        if self.l2 > 0.0 {
            for p in &self.params {
                let Some(g) = grads.get(&p.tensor) else { continue };
                let decayed = g.add(&p.tensor.scale(self.l2))?;
                grads.set(&p.tensor, decayed);
            }
        }
        // Linear warm-up over the first 10 updates, as in the paper's appendix A.1.
        self.opt.lr = self.config.lr as f32 * ((self.steps + 1) as f32 / WARMUP_STEPS as f32).min(1.0);
        self.opt.step(&self.params, &grads)?;
        self.device.flush();
        self.steps += 1;
        Ok(())
    }

    /// Queues the metrics of the current weights: train loss, train accuracy, validation loss,
    /// validation accuracy, then Σw² per parameter. They are read back later, all together.
    pub fn queue_eval(&self) -> Result<Vec<Tensor>> {
        let (mut out, _) = self.queue_splits()?;
        out.extend(weight_norm_squared(&self.params));
        Ok(out)
    }

    /// Queues train loss, train accuracy, validation loss, validation accuracy, then the Softmax
    /// Collapse measures of the training set: the share of equations whose loss is exactly 0
    /// in f32, and the mean squared norm of their logit vectors, Σ‖z‖² / N.
    pub fn queue_collapse_eval(&self) -> Result<Vec<Tensor>> {
        let (mut out, (logits, train)) = self.queue_splits()?;
        let n = logits.shape()[0] as f32;
        out.extend([train.losses.zero_fraction(), logits.sum_squares().scale(1.0 / n)]);
        Ok(out)
    }

    /// [train loss, train acc, val loss, val acc], and the training set's logits and losses.
    fn queue_splits(&self) -> Result<(Vec<Tensor>, (Tensor, ClassLoss))> {
        let (logits, train) = self.loss(&self.train)?;
        let (_, val) = self.loss(&self.val)?;
        // Keep only the scalars, so that the evaluation graphs are freed now.
        let out = [&train.loss, &train.acc, &val.loss, &val.acc].iter().map(|t| Tensor::from_shared(t, &[1])).collect();
        Ok((out, (Tensor::from_shared(&logits, logits.shape()), train)))
    }

    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// The probability the model gives the right answer, for every equation of the table: a
    /// p × p map, row a, column b (NaN where the operation is undefined). Training cells light
    /// up first; the validation cells between them light up when the model groks.
    pub async fn answer_map(&self) -> Result<Heatmap> {
        let logits = [&self.train, &self.val].iter().map(|b| self.logits(b)).collect::<Result<Vec<_>>>()?;
        let values = read_all(&logits.iter().collect::<Vec<_>>()).await?;
        let p = self.config.p as usize;
        let mut map = vec![f32::NAN; p * p];
        for (split, logits) in [&self.train_split, &self.val_split].into_iter().zip(&values) {
            for (i, row) in logits.chunks(p).enumerate() {
                let (a, b) = (split.tokens[i * SEQ_LEN] as usize, split.tokens[i * SEQ_LEN + 2] as usize);
                let max = row.iter().fold(f32::NEG_INFINITY, |m, &x| m.max(x)) as f64;
                let sum: f64 = row.iter().map(|&x| (x as f64 - max).exp()).sum();
                map[a * p + b] = ((row[split.targets[i] as usize] as f64 - max).exp() / sum) as f32;
            }
        }
        let labels: Vec<String> = (0..p).map(|i| i.to_string()).collect();
        Ok(Heatmap {
            id: "answers".into(),
            title: format!("p(right answer) for every a {} b: row a, column b", modular::symbol(&self.config.op)),
            rows: p,
            cols: p,
            values: map,
            row_labels: labels.clone(),
            col_labels: labels,
        })
    }
}

/// The values of one `queue_eval`: [train loss, train acc, val loss, val acc, ‖w‖].
pub fn eval_values(v: &[f32]) -> [f32; 5] {
    let mut sq = 0.0f32;
    for &s in &v[4..] {
        sq += s;
    }
    [v[0], v[1], v[2], v[3], sq.sqrt()]
}

pub struct Grokking(ModularRun);

impl Grokking {
    async fn run(&mut self, n: u64) -> Result<Vec<MetricRow>> {
        let r = &mut self.0;
        let mut queue = EvalQueue::default();
        if r.steps() == 0 {
            queue.push(0, r.queue_eval()?);
        }
        for _ in 0..n {
            r.train_step()?;
            if r.steps() % r.config.eval_every == 0 {
                queue.push(r.steps(), r.queue_eval()?);
            }
        }
        let rows = queue.read(&r.device).await?;
        Ok(rows.into_iter().map(|(step, v)| MetricRow { step, values: eval_values(&v).to_vec() }).collect())
    }
}

impl Toy for Grokking {
    fn metric_names(&self) -> &'static [&'static str] {
        METRICS
    }
    fn steps_done(&self) -> u64 {
        self.0.steps()
    }
    fn step(&mut self, n: u64) -> LocalFuture<'_, Result<Vec<MetricRow>>> {
        Box::pin(self.run(n))
    }
    fn figures(&mut self) -> LocalFuture<'_, Result<Vec<Figure>>> {
        Box::pin(async { Ok(vec![Figure::Heatmap(self.0.answer_map().await?)]) })
    }
}
