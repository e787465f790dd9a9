//! `icl-linreg` — in-context linear regression: what learning algorithm does a transformer run
//! on the examples in its prompt? Garg et al. 2022, "What Can Transformers Learn In-Context?"
//! (https://arxiv.org/abs/2208.01066); Akyürek et al. 2023, "What learning algorithm is
//! in-context learning?" (https://arxiv.org/abs/2211.15661); Ahn et al. 2023, "Transformers
//! learn to implement preconditioned gradient descent for in-context learning"
//! (https://arxiv.org/abs/2306.00297); Mahankali et al. 2023, "One Step of Gradient Descent is
//! Provably the Optimal In-Context Learner with One Layer of Linear Self-Attention".
//!
//! Claim: a transformer trained on prompts x_1, y_1, …, x_k, y_k, x_q of random linear functions
//! predicts y_q about as well as least squares / ridge on those k examples (Garg Fig. 2,
//! Akyürek Fig. 2), far better than averaging or one step of GD once k ≥ d; and a single layer
//! of *linear* self-attention trained the same way ends up computing exactly one step of
//! (preconditioned) gradient descent (Ahn Thm. 1, Mahankali Thm. 1).
//!
//! Two arms train side by side on fresh prompts every step: a causal softmax transformer on the
//! interleaved sequence (Garg's format: MSE at every x position, so one forward pass gives the
//! error for every k), and the LSA of `linear_self_attention` on n examples and one query.
//! The transformer's prompts follow Garg's curriculum over the input dimension (§3), which
//! shortens the plateau it otherwise sits on at the start; the LSA always sees all d.

use std::rc::Rc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{EvalQueue, LocalFuture, ParamSpec, Toy, ToyEntry, typed, untyped};
use crate::autograd::backward;
use crate::error::{Error, Result};
use crate::figures::{Figure, Heatmap, Lines, Series};
use crate::linear_self_attention::LinearSelfAttention;
use crate::metrics::MetricRow;
use crate::nn::{Param, Transformer, TransformerShape, mse};
use crate::optim::AdamW;
use crate::rng::Rng;
use crate::tasks::linreg::{COVARIANCES, Learner, Prompts, Task, best_gd_step};
use crate::tensor::{Device, Index, Tensor, read_all};

pub const PARAMS: &[ParamSpec] = &[
    ParamSpec::int("seed", 0, u32::MAX as i64, "seeds every random draw: Σ's rotation, init, prompts"),
    ParamSpec::int("d", 1, 16, "dimension of x"),
    ParamSpec::int("n", 2, 40, "in-context examples per prompt (the LSA's; the transformer sees 0…n)"),
    ParamSpec::float("noise", 0.0, 2.0, "label noise σ in y = w·x + σε"),
    ParamSpec::choice("covariance", COVARIANCES, "Σ of x: identity, or rotated with eigenvalues spread 10×"),
    ParamSpec::int("layers", 1, 6, "transformer blocks"),
    ParamSpec::int("d_model", 16, 256, "transformer width"),
    ParamSpec::int("heads", 1, 8, "attention heads (must divide d_model)"),
    ParamSpec::log_float("lr", 1e-5, 1e-1, "Adam learning rate of the transformer"),
    ParamSpec::log_float("lsa_lr", 1e-5, 1e-1, "Adam learning rate of the linear self-attention"),
    ParamSpec::int("batch_size", 8, 1024, "prompts per step for each arm"),
    ParamSpec::int("curriculum", 0, 10000, "steps per added input dimension, from 1 to d (Garg et al.'s curriculum); 0: all d from the start"),
    ParamSpec::int("eval_every", 1, 1000, "steps between metric rows"),
];

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Config {
    pub seed: u64,
    pub d: usize,
    pub n: usize,
    pub noise: f64,
    pub covariance: String,
    pub layers: usize,
    pub d_model: usize,
    pub heads: usize,
    pub lr: f64,
    pub lsa_lr: f64,
    pub batch_size: usize,
    pub curriculum: u64,
    pub eval_every: u64,
}

impl Default for Config {
    /// Garg et al. use d = 20, 40 points, 12 layers of width 256 and 500k steps; these are
    /// small enough to show the claim within a few minutes on one CPU core.
    fn default() -> Config {
        Config {
            seed: 0,
            d: 5,
            n: 10,
            noise: 0.25,
            covariance: "isotropic".into(),
            layers: 3,
            d_model: 32,
            heads: 2,
            lr: 3e-3,
            lsa_lr: 1e-2,
            batch_size: 64,
            curriculum: 150,
            eval_every: 100,
        }
    }
}

fn validate(config: &Map<String, Value>) -> Result<()> {
    let c: Config = typed(config)?;
    if c.d_model % c.heads != 0 {
        return Err(Error::msg(format!("heads = {} must divide d_model = {}", c.heads, c.d_model)));
    }
    Ok(())
}

pub const ENTRY: ToyEntry = ToyEntry {
    id: "icl-linreg",
    title: "In-context linear regression: least squares in a transformer, one GD step in linear attention",
    claim: "a transformer's error against the number of prompt examples tracks least squares; one layer of linear attention learns one step of preconditioned GD",
    paper: "What learning algorithm is in-context learning? (Akyürek et al., 2023); Transformers learn to implement preconditioned gradient descent for in-context learning (Ahn et al., 2023)",
    paper_url: "https://arxiv.org/abs/2211.15661",
    params: &[PARAMS],
    default_steps: 3000,
    defaults: || untyped(&Config::default()),
    validate,
    build: |config, device| Ok(Box::new(IclLinreg::new(typed(config)?, device)?)),
};

const METRICS: &[&str] = &["transformer/mse", "lsa/mse", "ridge/mse", "pgd/mse", "zero/mse", "lsa/gd_gap"];

/// Prompts on which every learner is scored: fixed, from the "test" stream.
const TEST_PROMPTS: usize = 512;
/// Prompts that pick the step size of plain 1-step GD, from the "holdout" stream.
const HOLDOUT_PROMPTS: usize = 2048;

/// One batch of prompts in the two arms' layouts.
struct Batch {
    /// Garg's sequence: (B, 2P, d+1), x_i as (x_i, 0) then y_i as (0, …, 0, y_i).
    sequence: Tensor,
    /// Rows of the x positions in the flattened (B·2P) sequence: where predictions are read.
    x_rows: Rc<Index>,
    /// (B·P) every y, the targets at the x positions.
    ys: Tensor,
    /// The LSA's view: context (B, n, d+1), query x (B, d, 1), target y_q (B, 1).
    context: Tensor,
    query: Tensor,
    y_query: Tensor,
}

impl Batch {
    fn new(dev: &Device, p: &Prompts) -> Result<Batch> {
        let (b, pts, d, n) = (p.batch, p.points, p.d, p.points - 1);
        let mut seq = vec![0.0; b * 2 * pts * (d + 1)];
        let mut context = Vec::with_capacity(b * n * (d + 1));
        let (mut query, mut y_query) = (Vec::with_capacity(b * d), Vec::with_capacity(b));
        for bi in 0..b {
            for i in 0..pts {
                let row = (bi * 2 * pts + 2 * i) * (d + 1);
                seq[row..][..d].copy_from_slice(p.x(bi, i));
                seq[row + 2 * d + 1] = p.y(bi, i);
                if i < n {
                    context.extend_from_slice(p.x(bi, i));
                    context.push(p.y(bi, i));
                }
            }
            query.extend_from_slice(p.x(bi, n));
            y_query.push(p.y(bi, n));
        }
        let x_rows = (0..(b * pts) as u32).map(|r| 2 * r).collect();
        Ok(Batch {
            sequence: Tensor::from_vec(dev, &[b, 2 * pts, d + 1], seq, false)?,
            x_rows: Index::new(dev, x_rows, b * 2 * pts)?,
            ys: Tensor::from_vec(dev, &[b * pts, 1], p.ys.clone(), false)?,
            context: Tensor::from_vec(dev, &[b, n, d + 1], context, false)?,
            query: Tensor::from_vec(dev, &[b, d, 1], query, false)?,
            y_query: Tensor::from_vec(dev, &[b, 1], y_query, false)?,
        })
    }
}

/// A model with its optimiser.
struct Arm<M> {
    model: M,
    params: Vec<Param>,
    opt: AdamW,
}

impl<M> Arm<M> {
    fn new(model: M, params: Vec<Param>, lr: f64) -> Arm<M> {
        let opt = AdamW::new(&params, lr as f32, 0.0, 0.999);
        Arm { model, params, opt }
    }
    fn update(&mut self, loss: &Tensor) -> Result<()> {
        let grads = backward(loss)?;
        self.opt.step(&self.params, &grads)
    }
}

pub struct IclLinreg {
    config: Config,
    device: Device,
    task: Task,
    transformer: Arm<Transformer>,
    lsa: Arm<LinearSelfAttention>,
    train: Rng,
    lsa_train: Rng,
    test_prompts: Prompts,
    test: Batch,
    /// Rows of the last x position (the query after n examples) in the test sequences.
    test_last: Rc<Index>,
    /// Error curves against k of the classical learners on the test prompts.
    curves: Vec<(&'static str, Vec<f64>)>,
    /// 1-step preconditioned GD's predictions of the test queries, and their mean square.
    pgd_pred: Tensor,
    pgd_power: f64,
    steps: u64,
}

impl IclLinreg {
    pub fn new(config: Config, device: &Device) -> Result<IclLinreg> {
        let (d, n) = (config.d, config.n);
        let task = Task::new(d, config.noise, &config.covariance, config.seed);
        let mut init = Rng::stream(config.seed, "init");
        let shape = TransformerShape { vocab: d + 1, seq_len: 2 * (n + 1), d_model: config.d_model, heads: config.heads, layers: config.layers, n_out: 1 };
        let transformer = Transformer::for_vectors(device, &mut init, shape)?;
        let params = transformer.params();
        let lsa = LinearSelfAttention::new(device, &mut init, d, n)?;
        let lsa_params = lsa.params();

        let test_prompts = task.sample(&mut Rng::stream(config.seed, "test"), TEST_PROMPTS, n + 1);
        let eta: Vec<f64> = {
            let holdout = task.sample(&mut Rng::stream(config.seed, "holdout"), HOLDOUT_PROMPTS, n + 1);
            (0..=n).map(|k| best_gd_step(&holdout, k)).collect()
        };
        let curve = |l: Learner| l.error_curve(&task, &test_prompts);
        // 1-step GD with the best η for each k: the curve of Gd(η_k) at k.
        let gd: Vec<f64> = (0..=n).map(|k| Learner::Gd(eta[k]).error_curve(&task, &test_prompts)[k]).collect();
        let curves = vec![
            ("least squares", curve(Learner::LeastSquares)),
            ("ridge (λ = σ²)", curve(Learner::Ridge)),
            ("1-step GD (best η)", gd),
            ("1-step preconditioned GD", curve(Learner::PreconditionedGd)),
            ("averaging", curve(Learner::Averaging)),
            ("zero", curve(Learner::Zero)),
        ];
        let pgd: Vec<f32> = (0..TEST_PROMPTS).map(|b| Learner::PreconditionedGd.predict(&task, &test_prompts, b, n) as f32).collect();
        let pgd_power = pgd.iter().map(|v| (*v as f64).powi(2)).sum::<f64>() / TEST_PROMPTS as f64;
        let seq = 2 * (n + 1);
        let last = (0..TEST_PROMPTS).map(|b| (b * seq + 2 * n) as u32).collect();
        Ok(IclLinreg {
            test: Batch::new(device, &test_prompts)?,
            test_last: Index::new(device, last, TEST_PROMPTS * seq)?,
            pgd_pred: Tensor::from_vec(device, &[TEST_PROMPTS, 1], pgd, false)?,
            pgd_power,
            transformer: Arm::new(transformer, params, config.lr),
            lsa: Arm::new(lsa, lsa_params, config.lsa_lr),
            train: Rng::stream(config.seed, "train"),
            lsa_train: Rng::stream(config.seed, "lsa_train"),
            device: device.clone(),
            task,
            test_prompts,
            curves,
            config,
            steps: 0,
        })
    }

    /// The transformer's predictions at the sequence positions `rows`: (N, 1).
    fn transformer_at(&self, b: &Batch, rows: &Rc<Index>) -> Result<Tensor> {
        let m = &self.transformer.model;
        m.logits_at(&m.hidden_vectors(&b.sequence)?, rows)
    }

    fn train_step(&mut self) -> Result<()> {
        let c = &self.config;
        // One more input dimension every `curriculum` steps; all d at once when it is 0.
        let active = self.steps.checked_div(c.curriculum).map_or(c.d, |s| c.d.min(1 + s as usize));
        let batch = Batch::new(&self.device, &self.task.sample_in(&mut self.train, c.batch_size, c.n + 1, active))?;
        let loss = mse(&self.transformer_at(&batch, &batch.x_rows)?, &batch.ys)?;
        self.transformer.update(&loss)?;
        // The LSA's own prompts, always in all d dimensions: the curriculum is the transformer's.
        let batch = Batch::new(&self.device, &self.task.sample(&mut self.lsa_train, c.batch_size, c.n + 1))?;
        let loss = mse(&self.lsa.model.forward(&batch.context, &batch.query)?, &batch.y_query)?;
        self.lsa.update(&loss)?;
        self.device.flush();
        self.steps += 1;
        Ok(())
    }

    /// Device scalars: the transformer's and the LSA's squared error at the query k = n, and
    /// the LSA's squared distance to 1-step preconditioned GD.
    fn queue_eval(&self) -> Result<Vec<Tensor>> {
        let t = &self.test;
        let at_n = self.transformer_at(t, &self.test_last)?;
        let lsa = self.lsa.model.forward(&t.context, &t.query)?;
        let out = [mse(&at_n, &t.y_query)?, mse(&lsa, &t.y_query)?, mse(&lsa, &self.pgd_pred)?];
        Ok(out.iter().map(|s| Tensor::from_shared(s, &[1])).collect())
    }

    async fn run(&mut self, n: u64) -> Result<Vec<MetricRow>> {
        let mut queue = EvalQueue::default();
        if self.steps == 0 {
            queue.push(0, self.queue_eval()?);
        }
        for _ in 0..n {
            self.train_step()?;
            if self.steps % self.config.eval_every == 0 {
                queue.push(self.steps, self.queue_eval()?);
            }
        }
        let (d, k) = (self.config.d as f32, self.config.n);
        let at = |name: &str| self.curves.iter().find(|c| c.0 == name).map(|c| c.1[k] as f32).expect("named curve");
        let constants = [at("ridge (λ = σ²)"), at("1-step preconditioned GD"), at("zero")];
        let power = self.pgd_power as f32;
        let rows = queue.read(&self.device).await?;
        Ok(rows
            .into_iter()
            .map(|(step, v)| MetricRow { step, values: vec![v[0] / d, v[1] / d, constants[0], constants[1], constants[2], v[2] / power] })
            .collect())
    }

    /// The error curves against k (the transformer's from one forward pass over the test
    /// prompts, the learners' computed at build) and the LSA's Γ beside the theory's Γ*.
    async fn figures_now(&self) -> Result<Vec<Figure>> {
        let preds = self.transformer_at(&self.test, &self.test.x_rows)?;
        let m = &self.lsa.model;
        let [preds, p, q]: [Vec<f32>; 3] = read_all(&[&preds, &m.p, &m.q]).await?.try_into().expect("three tensors");
        let t = &self.test_prompts;
        let transformer = (0..t.points)
            .map(|k| (0..t.batch).map(|b| (preds[b * t.points + k] as f64 - t.y(b, k) as f64).powi(2)).sum::<f64>() / (t.batch * t.d) as f64)
            .collect();
        let mut series = vec![Series { name: "transformer".into(), y: transformer }];
        series.extend(self.curves.iter().map(|(name, y)| Series { name: name.to_string(), y: y.clone() }));
        let errors = Lines {
            id: "error_vs_k".into(),
            title: format!("Squared error / d against the number of in-context examples k (d = {})", t.d),
            x_label: "in-context examples k".into(),
            y_label: "squared error / d".into(),
            log_x: false,
            log_y: true,
            x: (0..t.points).map(|k| k as f64).collect(),
            series,
        };
        Ok(vec![Figure::Lines(errors), Figure::Heatmap(self.gamma_map(&p, &q))])
    }

    /// d × (2d+1): the LSA's Γ, a blank column, then Γ* for n examples, on one colour scale.
    fn gamma_map(&self, p: &[f32], q: &[f32]) -> Heatmap {
        let d = self.config.d;
        let learned = LinearSelfAttention::gamma(d, p, q);
        let best = self.task.best_preconditioner(self.config.n);
        let mut values = Vec::with_capacity(d * (2 * d + 1));
        for r in 0..d {
            values.extend_from_slice(&learned[r * d..][..d]);
            values.push(f32::NAN);
            values.extend(best[r * d..][..d].iter().map(|&v| v as f32));
        }
        let idx = |i: usize| (i + 1).to_string();
        Heatmap {
            id: "lsa_gamma".into(),
            title: "Linear attention's learned preconditioner Γ (left) beside the best one-step Γ* (right)".into(),
            rows: d,
            cols: 2 * d + 1,
            values,
            row_labels: (0..d).map(idx).collect(),
            col_labels: (0..d).map(idx).chain([String::new()]).chain((0..d).map(idx)).collect(),
        }
    }
}

impl Toy for IclLinreg {
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
