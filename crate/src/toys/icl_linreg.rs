//! `icl-linreg` — in-context linear regression: what learning algorithm does a transformer run
//! on the examples in its prompt? Garg et al. 2022, "What Can Transformers Learn In-Context?";
//! Akyürek et al. 2023, "What learning algorithm is in-context learning?"; Ahn et al. 2023,
//! "Transformers learn to implement preconditioned gradient descent for in-context learning";
//! Mahankali et al. 2023, "One Step of Gradient Descent is Provably the Optimal In-Context
//! Learner with One Layer of Linear Self-Attention".
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

use super::{About, Experiment, Paper, Theme};
use crate::error::Result;
use crate::figures::{Figure, Heatmap, Lines, Series};
use crate::learner::Learner;
use crate::linear_self_attention::LinearSelfAttention;
use crate::metrics::{Arm, History, Metrics, NONE, Quantity, Scale, TEST, Verdict, name, percent};
use crate::nn::{Transformer, TransformerShape, mse};
use crate::rng::Rng;
use crate::schema::{Run, Shape};
use crate::tasks::linreg::{self, Covariance, Prompts, Task, best_gd_step};
use crate::tensor::{Device, Index, Tensor, read_all};

crate::config! {
    pub struct Config {
        group run: Run = Run { seed: 0, eval_every: 100 },
        d: usize = 5, int(1, 16), "dimension of x",
        n: usize = 10, int(2, 40), "in-context examples per prompt (the LSA's; the transformer sees 0…n)",
        noise: f64 = 0.25, float(0.0, 2.0), "label noise σ in y = w·x + σε",
        covariance: Covariance = Covariance::Isotropic, choice(), "Σ of x: identity, or rotated with eigenvalues spread 10×",
        group shape: Shape = Shape { layers: 3, d_model: 32, heads: 2 },
        lr: f64 = 3e-3, log(1e-5, 1e-1), "Adam learning rate of the transformer",
        lsa_lr: f64 = 1e-2, log(1e-5, 1e-1), "Adam learning rate of the linear self-attention",
        batch_size: usize = 64, int(8, 1024), "prompts per step for each arm",
        curriculum: u64 = 150, int(0, 10000), "steps per added input dimension, from 1 to d (Garg et al.'s curriculum); 0: all d from the start",
    }
}

const TRANSFORMER: Arm = Arm::new("transformer", "transformer");
const LSA: Arm = Arm::new("lsa", "linear self-attention");
const LEAST_SQUARES: Arm = Arm::new("least_squares", "least squares");
const RIDGE: Arm = Arm::new("ridge", "ridge (λ = σ²)");
const GD: Arm = Arm::new("gd", "1-step GD (best η)");
const PGD: Arm = Arm::new("pgd", "1-step preconditioned GD");
const AVERAGING: Arm = Arm::new("averaging", "averaging");
const ZERO: Arm = Arm::new("zero", "zero");
const ERROR_VS_K: &str = "error_vs_k";

const MSE: Quantity = Quantity::new("mse", "squared error of y_q / d", "", Scale::Log);
const GD_GAP: Quantity = Quantity::new("gd_gap", "squared distance to 1-step preconditioned GD, relative", "", Scale::Log);

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

pub struct IclLinreg {
    config: Config,
    device: Device,
    task: Task,
    transformer: Learner<Transformer>,
    lsa: Learner<LinearSelfAttention>,
    train: Rng,
    lsa_train: Rng,
    test_prompts: Prompts,
    test: Batch,
    /// Rows of the last x position (the query after n examples) in the test sequences.
    test_last: Rc<Index>,
    /// Error curves against k of the classical learners on the test prompts.
    curves: Vec<(Arm, Vec<f64>)>,
    /// 1-step preconditioned GD's predictions of the test queries, and their mean square.
    pgd_pred: Tensor,
    pgd_power: f64,
}

impl Experiment for IclLinreg {
    type Config = Config;
    const ABOUT: About = About {
        id: "icl-linreg",
        title: "In-context linear regression: least squares in a transformer, one GD step in linear attention",
        claim: "a transformer's error against the number of prompt examples tracks least squares; one layer of linear attention learns one step of preconditioned GD",
        theme: Theme::Attention,
        papers: &[
            Paper {
                title: "What Can Transformers Learn In-Context? A Case Study of Simple Function Classes",
                authors: "Garg, Tsipras, Liang & Valiant",
                year: 2022,
                url: "https://arxiv.org/abs/2208.01066",
            },
            Paper {
                title: "What learning algorithm is in-context learning? Investigations with linear models",
                authors: "Akyürek, Schuurmans, Andreas, Ma & Zhou",
                year: 2023,
                url: "https://arxiv.org/abs/2211.15661",
            },
            Paper {
                title: "Transformers learn to implement preconditioned gradient descent for in-context learning",
                authors: "Ahn, Cheng, Daneshmand & Sra",
                year: 2023,
                url: "https://arxiv.org/abs/2306.00297",
            },
        ],
        default_steps: 3000,
    };

    fn validate(c: &Config) -> Result<()> {
        c.shape.check()
    }

    fn build(config: Config, device: &Device) -> Result<IclLinreg> {
        let (d, n, seed) = (config.d, config.n, config.run.seed);
        let task = Task::new(d, config.noise, config.covariance, seed);
        let mut init = Rng::stream(seed, "init");
        let s = &config.shape;
        let shape = TransformerShape { vocab: d + 1, seq_len: 2 * (n + 1), d_model: s.d_model, heads: s.heads, layers: s.layers, n_out: 1 };
        let transformer = Learner::adamw(Transformer::for_vectors(device, &mut init, shape)?, config.lr, 0.0, 0.999);
        let lsa = Learner::adamw(LinearSelfAttention::new(device, &mut init, d, n)?, config.lsa_lr, 0.0, 0.999);

        let test_prompts = task.sample(&mut Rng::stream(seed, "test"), TEST_PROMPTS, n + 1);
        let holdout = task.sample(&mut Rng::stream(seed, "holdout"), HOLDOUT_PROMPTS, n + 1);
        let curve = |l: linreg::Learner| l.error_curve(&task, &test_prompts);
        // 1-step GD with the best η for each k: the curve of Gd(η_k) at k.
        let gd = (0..=n).map(|k| linreg::Learner::Gd(best_gd_step(&holdout, k)).error_curve(&task, &test_prompts)[k]).collect();
        let curves = vec![
            (LEAST_SQUARES, curve(linreg::Learner::LeastSquares)),
            (RIDGE, curve(linreg::Learner::Ridge)),
            (GD, gd),
            (PGD, curve(linreg::Learner::PreconditionedGd)),
            (AVERAGING, curve(linreg::Learner::Averaging)),
            (ZERO, curve(linreg::Learner::Zero)),
        ];
        let pgd: Vec<f32> = (0..TEST_PROMPTS).map(|b| linreg::Learner::PreconditionedGd.predict(&task, &test_prompts, b, n) as f32).collect();
        let pgd_power = pgd.iter().map(|v| (*v as f64).powi(2)).sum::<f64>() / TEST_PROMPTS as f64;
        let seq = 2 * (n + 1);
        let last = (0..TEST_PROMPTS).map(|b| (b * seq + 2 * n) as u32).collect();
        Ok(IclLinreg {
            test: Batch::new(device, &test_prompts)?,
            test_last: Index::new(device, last, TEST_PROMPTS * seq)?,
            pgd_pred: Tensor::from_vec(device, &[TEST_PROMPTS, 1], pgd, false)?,
            pgd_power,
            transformer,
            lsa,
            train: Rng::stream(seed, "train"),
            lsa_train: Rng::stream(seed, "lsa_train"),
            device: device.clone(),
            task,
            test_prompts,
            curves,
            config,
        })
    }

    async fn train_step(&mut self, step: u64) -> Result<()> {
        let c = &self.config;
        // One more input dimension every `curriculum` steps; all d at once when it is 0.
        let active = step.checked_div(c.curriculum).map_or(c.d, |s| c.d.min(1 + s as usize));
        let batch = Batch::new(&self.device, &self.task.sample_in(&mut self.train, c.batch_size, c.n + 1, active))?;
        let loss = mse(&self.transformer_at(&batch, &batch.x_rows)?, &batch.ys)?;
        self.transformer.update(&loss)?;
        // The LSA's own prompts, always in all d dimensions: the curriculum is the transformer's.
        let batch = Batch::new(&self.device, &self.task.sample(&mut self.lsa_train, c.batch_size, c.n + 1))?;
        let loss = mse(&self.lsa.model.forward(&batch.context, &batch.query)?, &batch.y_query)?;
        self.lsa.update(&loss)
    }

    /// Squared errors at the query k = n per dimension: the two arms', measured; ridge's, one-step
    /// preconditioned GD's and the zero predictor's, computed at build; and the LSA's squared
    /// distance to one-step preconditioned GD relative to that learner's mean square.
    async fn eval(&mut self, m: &mut Metrics) -> Result<()> {
        let (t, d) = (&self.test, self.config.d as f32);
        let at_n = self.transformer_at(t, &self.test_last)?;
        let lsa = self.lsa.model.forward(&t.context, &t.query)?;
        m.scalar_with(TRANSFORMER, TEST, MSE, &mse(&at_n, &t.y_query)?, move |x| x / d);
        m.scalar_with(LSA, TEST, MSE, &mse(&lsa, &t.y_query)?, move |x| x / d);
        for arm in [RIDGE, PGD, ZERO] {
            m.value(arm, TEST, MSE, self.curve(arm)[self.config.n] as f32);
        }
        let power = self.pgd_power as f32;
        m.scalar_with(LSA, NONE, GD_GAP, &mse(&lsa, &self.pgd_pred)?, move |x| x / power);
        Ok(())
    }

    /// At k = 2d examples (or n, if fewer) the transformer's error is within 2× least squares'
    /// and below half of one GD step's; the LSA's predictions are within 10% of one step of
    /// preconditioned GD's.
    fn verdict(config: &Config, h: &History, figures: &[Figure]) -> Verdict {
        let Some(l) = Figure::lines(figures, ERROR_VS_K) else { return Verdict::new(false, "no error curve to judge") };
        let k = (2 * config.d).min(config.n) as f64;
        let at = |arm| l.at(arm, k).unwrap_or(f64::NAN);
        let (tf, ls, gd, gap) = (at(TRANSFORMER), at(LEAST_SQUARES), at(GD), h.last(&name(LSA, NONE, GD_GAP)));
        let line = format!(
            "at k = {k} examples the transformer's error is {:.1}× least squares', {:.2}× one GD step's; linear attention is {} from preconditioned GD",
            tf / ls,
            tf / gd,
            percent(gap)
        );
        Verdict::new(tf <= 2.0 * ls && tf < 0.5 * gd && gap < 0.1, line)
    }

    /// The error curves against k (the transformer's from one forward pass over the test
    /// prompts, the learners' computed at build) and the LSA's Γ beside the theory's Γ*.
    async fn figures(&mut self) -> Result<Vec<Figure>> {
        let preds = self.transformer_at(&self.test, &self.test.x_rows)?;
        let m = &self.lsa.model;
        let [preds, p, q]: [Vec<f32>; 3] = read_all(&[&preds, &m.p, &m.q]).await?.try_into().expect("three tensors");
        let t = &self.test_prompts;
        let transformer = (0..t.points)
            .map(|k| (0..t.batch).map(|b| (preds[b * t.points + k] as f64 - t.y(b, k) as f64).powi(2)).sum::<f64>() / (t.batch * t.d) as f64)
            .collect();
        let mut series = vec![Series::of(TRANSFORMER, transformer)];
        series.extend(self.curves.iter().map(|(arm, y)| Series::of(*arm, y.clone())));
        let title = format!("Squared error / d against the number of in-context examples k (d = {})", t.d);
        let errors = Lines::new(ERROR_VS_K, title, "in-context examples k", "squared error / d", (0..t.points).map(|k| k as f64).collect(), series).log_y();
        Ok(vec![Figure::Lines(errors), Figure::Heatmap(self.gamma_map(&p, &q))])
    }
}

impl IclLinreg {
    /// The transformer's predictions at the sequence positions `rows`: (N, 1).
    fn transformer_at(&self, b: &Batch, rows: &Rc<Index>) -> Result<Tensor> {
        let m = &self.transformer.model;
        m.logits_at(&m.hidden_vectors(&b.sequence)?, rows)
    }

    fn curve(&self, arm: Arm) -> &[f64] {
        &self.curves.iter().find(|c| c.0 == arm).expect("every classical learner has a curve").1
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
