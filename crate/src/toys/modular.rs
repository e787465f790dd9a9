//! The engine of the three modular-arithmetic toys (`grokking`, `grokfast`, `stablemax`): one
//! model trained on part of the table of a ∘ b (mod p) and measured on both parts. `grokking`
//! trains one `ModularRun`; the variants train several side by side, one per arm, each with the
//! same split, initial weights and minibatches (all drawn from the seed's streams).
//!
//! Setup as in Power et al. (2022), §2 and appendix A.1: tokens `a ∘ b =`, the answer predicted
//! at the last position by a decoder-only transformer, AdamW with β2 = 0.98 and a 10-step
//! warm-up, minibatches of at most 512 drawn without replacement; or the MLP of Prieto et al.
//! (2025), Figure 1: one-hot a and b, ReLU layers, no biases.

use std::rc::Rc;

use crate::error::{Error, Result};
use crate::figures::Heatmap;
use crate::learner::{Learner, Module};
use crate::metrics::Arm;
use crate::nn::{Mlp, Param, Transformer, TransformerShape};
use crate::rng::Rng;
use crate::schema::{Optim, Run, Shape};
use crate::tasks::modular::{self, Op, SEQ_LEN, Split};
use crate::tensor::{ClassLoss, Device, Index, Normalizer, Tensor, read_all};

crate::choice! {
    pub enum ModelKind {
        /// A decoder-only transformer over `a ∘ b =` (Power et al.).
        Transformer = "transformer",
        /// A ReLU MLP over one-hot a and b (Prieto et al.).
        Mlp = "mlp",
    }
}

crate::config! {
    pub struct Config {
        group run: Run = Run { seed: 0, eval_every: 10 },
        p: u64 = 47, int(5, 113), "the prime modulus of a ∘ b (mod p)",
        op: Op = Op::Add, choice(), "the operation: a+b, a−b, a·b, a÷b, a²+ab+b², a³+b³",
        train_fraction: f64 = 0.5, float(0.05, 0.95), "share of the p² equations used for training",
        model: ModelKind = ModelKind::Transformer, choice(), "a decoder-only transformer over `a ∘ b =` (Power et al.), or a ReLU MLP over one-hot a and b (Prieto et al.)",
        group shape: Shape = Shape { layers: 1, d_model: 64, heads: 4 },
        group optim: Optim = Optim { lr: 3e-3, weight_decay: 1.0, batch_size: 512 },
    }
}

impl Config {
    pub fn check(&self) -> Result<()> {
        if !modular::is_prime(self.p) {
            return Err(Error::msg(format!("p = {} is not prime (the table needs a field, e.g. 47, 59, 97, 113)", self.p)));
        }
        if self.model == ModelKind::Transformer {
            self.shape.check()?;
        }
        Ok(())
    }

    /// The arm of a run of this config's model.
    pub fn arm(&self) -> Arm {
        match self.model {
            ModelKind::Transformer => Arm::new("transformer", "transformer"),
            ModelKind::Mlp => Arm::new("mlp", "MLP"),
        }
    }
}

const WARMUP_STEPS: u64 = 10;

/// The model a run trains: what `Config::model` names.
pub enum Model {
    Transformer(Transformer),
    Mlp(Mlp),
}

impl Module for Model {
    fn params(&self) -> Vec<Param> {
        match self {
            Model::Transformer(m) => m.params(),
            Model::Mlp(m) => m.params(),
        }
    }
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

/// What one evaluation measures: loss and accuracy on both parts of the table, and the
/// training set's logits (for the Softmax Collapse measures).
pub struct Evaluation {
    pub train: ClassLoss,
    pub val: ClassLoss,
    pub train_logits: Tensor,
}

/// One model trained on one modular table.
pub struct ModularRun {
    pub config: Config,
    device: Device,
    pub learner: Learner<Model>,
    train_split: Split,
    val_split: Split,
    train: Batch,
    val: Batch,
    batches: Rng,
    /// Training equations not yet drawn this epoch (minibatches sample without replacement).
    epoch: Vec<u32>,
    /// Softmax for `grokking`; `stablemax` trains one arm with each.
    norm: Normalizer,
}

impl ModularRun {
    /// A run with AdamW (decoupled weight decay, β2 = 0.98, 10-step warm-up); `learner` may
    /// change the optimizer pipeline (Grokfast's filter, L2 decay, ⊥AdamW).
    pub fn new(config: Config, device: &Device, learner: impl FnOnce(Learner<Model>) -> Learner<Model>) -> Result<ModularRun> {
        let p = config.p as usize;
        let (train_split, val_split) = modular::split(config.p, config.op, config.train_fraction, config.run.seed);
        let rng = &mut Rng::stream(config.run.seed, "init");
        let s = &config.shape;
        let model = match config.model {
            ModelKind::Mlp => Model::Mlp(Mlp::new(device, rng, p, s.d_model, s.layers, p)?),
            ModelKind::Transformer => {
                let shape = TransformerShape { vocab: p + 2, seq_len: SEQ_LEN, d_model: s.d_model, heads: s.heads, layers: s.layers, n_out: p };
                Model::Transformer(Transformer::new(device, rng, shape)?)
            }
        };
        let train = Batch::new(device, &model, train_split.tokens.clone(), train_split.targets.clone(), p)?;
        let val = Batch::new(device, &model, val_split.tokens.clone(), val_split.targets.clone(), p)?;
        let learner = learner(Learner::adamw(model, config.optim.lr, config.optim.weight_decay, 0.98).with_warmup(WARMUP_STEPS));
        Ok(ModularRun {
            batches: Rng::stream(config.run.seed, "batches"),
            epoch: vec![],
            config,
            device: device.clone(),
            learner,
            train_split,
            val_split,
            train,
            val,
            norm: Normalizer::Softmax,
        })
    }

    /// The same run with another loss normalizer (the arms of `stablemax`).
    pub fn with_normalizer(mut self, norm: Normalizer) -> ModularRun {
        self.norm = norm;
        self
    }

    /// The logits of the answers, (N, p).
    fn logits(&self, b: &Batch) -> Result<Tensor> {
        match (&self.learner.model, &b.inputs) {
            (Model::Transformer(m), Inputs::Sequences { tokens, last }) => m.logits_at(&m.hidden(tokens)?, last),
            (Model::Mlp(m), Inputs::Operands { a, b }) => m.forward(a, b),
            _ => unreachable!("a run's batches are built for its model"),
        }
    }

    /// The next minibatch, or None when the batch covers the whole training set.
    fn next_batch(&mut self) -> Result<Option<Batch>> {
        let (n, size) = (self.train_split.len(), self.config.optim.batch_size);
        if size >= n {
            return Ok(None);
        }
        let mut picks = Vec::with_capacity(size);
        while picks.len() < size {
            if self.epoch.is_empty() {
                self.epoch = (0..n as u32).collect();
                self.batches.shuffle(&mut self.epoch);
            }
            picks.push(self.epoch.pop().expect("refilled"));
        }
        let s = &self.train_split;
        let tokens = picks.iter().flat_map(|&i| s.tokens[i as usize * SEQ_LEN..][..SEQ_LEN].iter().copied()).collect();
        let targets = picks.iter().map(|&i| s.targets[i as usize]).collect();
        Batch::new(&self.device, &self.learner.model, tokens, targets, self.config.p as usize).map(Some)
    }

    /// One optimizer update on the next minibatch.
    pub fn train_step(&mut self) -> Result<()> {
        let batch = self.next_batch()?;
        let b = batch.as_ref().unwrap_or(&self.train);
        let loss = self.logits(b)?.cross_entropy_with(&b.targets, self.norm)?.loss;
        self.learner.update(&loss)
    }

    /// Loss and accuracy of the current weights on both parts of the table.
    pub fn evaluate(&self) -> Result<Evaluation> {
        let train_logits = self.logits(&self.train)?;
        let train = train_logits.cross_entropy_with(&self.train.targets, self.norm)?;
        let val = self.logits(&self.val)?.cross_entropy_with(&self.val.targets, self.norm)?;
        Ok(Evaluation { train, val, train_logits })
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
            title: format!("p(right answer) for every a {} b: row a, column b", modular::symbol(self.config.op)),
            rows: p,
            cols: p,
            values: map,
            row_labels: labels.clone(),
            col_labels: labels,
        })
    }
}
