//! `sharpening` — Huang, Block, Foster, Rohatgi, Zhang, Simchowitz, Ash & Krishnamurthy,
//! "Self-Improvement in Language Models: The Sharpening Mechanism" (ICLR 2025),
//! https://arxiv.org/abs/2412.01951.
//!
//! Claim: a language model is often a better verifier than generator, so its own sequence
//! likelihood log π(y|x) can pick good answers among its samples (best-of-N), and
//! "self-improvement" post-trains the model "to one placing large mass on high-quality
//! sequences, thereby amortizing the expensive inference-time computation" (abstract). The
//! paper's SFT-sharpening fine-tunes on the best-of-N answers under the model's own likelihood.
//!
//! Here: a tiny LM pre-trains on `tasks::noisy_answers`, where the correct answer of each
//! prompt is the single likeliest one but carries only `coverage` of the mass, and greedy
//! decoding opens with a distractor. From step `sharpen_at` on, each step samples `n` answers per
//! prompt from the current model, keeps the one of highest log π(y|x), and takes one AdamW step
//! on those winners. The metrics follow the mass on the correct answer (the accuracy of one
//! sample), greedy and best-of-N accuracy; the figures compare best-of-N accuracy against N and
//! the mass on the correct answers before and after. See web/src/toys/sharpening.ts for what
//! differs from the paper.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{LocalFuture, ParamSpec, Toy, ToyEntry, typed, untyped};
use crate::autograd::backward;
use crate::error::{Error, Result};
use crate::figures::{Figure, Lines, Series, Table, TableRow};
use crate::metrics::MetricRow;
use crate::nn::{Param, Transformer, TransformerShape};
use crate::optim::AdamW;
use crate::rng::Rng;
use crate::sample::{Completion, argmax, complete, draw, score, teacher_forced};
use crate::tasks::noisy_answers::{BOS, NoisyAnswers};
use crate::tensor::{Device, Tensor};

pub const PARAMS: &[ParamSpec] = &[
    ParamSpec::int("seed", 0, u32::MAX as i64, "seeds every random draw: answers, labels, init, sampling"),
    ParamSpec::int("prompts", 4, 64, "prompts, each with its own correct answer"),
    ParamSpec::int("answer_len", 2, 4, "symbols per answer"),
    ParamSpec::int("alphabet", 2, 16, "symbols an answer is written in"),
    ParamSpec::float("coverage", 0.02, 0.9, "share of the training labels that are the correct answer: the base model's mass on it"),
    ParamSpec::int("layers", 1, 4, "transformer blocks"),
    ParamSpec::int("d_model", 16, 128, "width of the residual stream"),
    ParamSpec::int("heads", 1, 8, "attention heads (must divide d_model)"),
    ParamSpec::log_float("lr", 1e-4, 3e-2, "AdamW learning rate, both phases"),
    ParamSpec::int("batch_size", 4, 256, "prompts per step, with a noisy label each (phase 1) or a best-of-N answer each (phase 2)"),
    ParamSpec::int("sharpen_at", 0, 20000, "step at which training on noisy labels stops and SFT on best-of-N answers starts"),
    ParamSpec::int("n", 1, 64, "N: answers sampled per prompt in each sharpening step and in the best-of-N metric"),
    ParamSpec::int("eval_every", 1, 1000, "steps between metric rows"),
];

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Config {
    pub seed: u64,
    pub prompts: usize,
    pub answer_len: usize,
    pub alphabet: usize,
    pub coverage: f64,
    pub layers: usize,
    pub d_model: usize,
    pub heads: usize,
    pub lr: f64,
    pub batch_size: usize,
    pub sharpen_at: u64,
    pub n: usize,
    pub eval_every: u64,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            seed: 0,
            prompts: 32,
            answer_len: 3,
            alphabet: 8,
            coverage: 0.3,
            layers: 2,
            d_model: 32,
            heads: 2,
            lr: 3e-3,
            batch_size: 64,
            sharpen_at: 600,
            n: 8,
            eval_every: 25,
        }
    }
}

fn validate(config: &Map<String, Value>) -> Result<()> {
    let c: Config = typed(config)?;
    if !NoisyAnswers::correct_is_modal(c.coverage, c.answer_len, c.alphabet) {
        let d = NoisyAnswers::distractor_mass(c.coverage, c.answer_len, c.alphabet);
        return Err(Error::msg(format!(
            "coverage = {} is not above the mass of each wrong answer, (1 − coverage) / alphabet^(answer_len − 1) = {d:.3}: the correct answer would not be the likeliest, and no likelihood-based selection could find it; raise coverage, alphabet or answer_len",
            c.coverage
        )));
    }
    if c.d_model % c.heads != 0 {
        return Err(Error::msg(format!("heads = {} must divide d_model = {}", c.heads, c.d_model)));
    }
    Ok(())
}

pub const ENTRY: ToyEntry = ToyEntry {
    id: "sharpening",
    title: "Self-improvement as sharpening: best-of-N by the model's own likelihood, then SFT on it",
    claim: "choosing the likeliest of N samples raises accuracy with N; fine-tuning on those choices moves mass onto the correct answers, so one sample does what best-of-N did",
    paper: "Self-Improvement in Language Models: The Sharpening Mechanism (Huang et al., 2024)",
    paper_url: "https://arxiv.org/abs/2412.01951",
    params: &[PARAMS],
    default_steps: 900,
    defaults: || untyped(&Config::default()),
    validate,
    build: |config, device| Ok(Box::new(Sharpening::new(typed(config)?, device)?)),
};

/// `sample/acc` is exact, not estimated: π(correct answer | prompt), the chance that one sample
/// is right, averaged over the prompts. `best_of_n/acc` and `sample/self_loglik` come from
/// EVAL_GROUPS · n samples per prompt.
const METRICS: &[&str] = &["train/loss", "sample/acc", "greedy/acc", "best_of_n/acc", "sample/self_loglik"];
/// Disjoint groups of N samples per prompt behind the `best_of_n/acc` metric.
const EVAL_GROUPS: usize = 4;
/// The figure's N = 1, 2, 4, …, BON_MAX, from BON_MAX samples per prompt.
const BON_MAX: usize = 64;

/// What the figures show of one model state.
#[derive(Clone)]
struct Snapshot {
    step: u64,
    /// Best-of-N accuracy at N = 1, 2, 4, …, BON_MAX.
    bon: Vec<f64>,
    /// π(correct answer | prompt), per prompt.
    mass: Vec<f64>,
    /// The greedy answer to each prompt.
    greedy: Vec<Vec<u32>>,
    /// Mean log π(y|x) of the model's own samples.
    loglik: f64,
}

pub struct Sharpening {
    config: Config,
    task: NoisyAnswers,
    device: Device,
    model: Transformer,
    params: Vec<Param>,
    opt: AdamW,
    data: Rng,
    sampling: Rng,
    eval: Rng,
    last_loss: Option<Tensor>,
    steps: u64,
    /// The model as it was when sharpening began.
    base: Option<Snapshot>,
    cached: Option<Vec<Figure>>,
}

impl Sharpening {
    pub fn new(config: Config, device: &Device) -> Result<Sharpening> {
        let task = NoisyAnswers::new(&mut Rng::stream(config.seed, "task"), config.prompts, config.answer_len, config.alphabet, config.coverage);
        let vocab = task.vocab();
        let shape =
            TransformerShape { vocab, seq_len: 1 + config.answer_len, d_model: config.d_model, heads: config.heads, layers: config.layers, n_out: vocab };
        let model = Transformer::new(device, &mut Rng::stream(config.seed, "init"), shape)?;
        let params = model.params();
        let opt = AdamW::new(&params, config.lr as f32, 0.0, 0.99);
        Ok(Sharpening {
            data: Rng::stream(config.seed, "data"),
            sampling: Rng::stream(config.seed, "sampling"),
            eval: Rng::stream(config.seed, "eval"),
            config,
            task,
            device: device.clone(),
            model,
            params,
            opt,
            last_loss: None,
            steps: 0,
            base: None,
            cached: None,
        })
    }

    fn prompts(&self, ids: &[usize]) -> Vec<Vec<u32>> {
        ids.iter().map(|&i| self.task.prompt(i)).collect()
    }

    /// One AdamW step of next-token loss on `answers` to the prompts `ids`; keeps the loss.
    fn train_on(&mut self, ids: &[usize], answers: &[Vec<u32>]) -> Result<()> {
        let loss = teacher_forced(&self.model, &self.device, BOS, &self.prompts(ids), answers)?.loss;
        let grads = backward(&loss)?;
        self.opt.step(&self.params, &grads)?;
        self.device.flush();
        self.last_loss = Some(loss);
        Ok(())
    }

    /// One step: a noisy label per drawn prompt before `sharpen_at`, the likeliest of n own
    /// samples per drawn prompt from then on (SFT-sharpening).
    async fn train_step(&mut self) -> Result<()> {
        let ids: Vec<usize> = (0..self.config.batch_size).map(|_| self.data.below(self.config.prompts as u32) as usize).collect();
        let answers: Vec<Vec<u32>> = if self.steps < self.config.sharpen_at {
            ids.iter().map(|&i| self.task.label(&mut self.data, i)).collect()
        } else {
            let samples = sample(&self.model, &self.device, &self.task, &ids, self.config.n, &mut self.sampling).await?;
            samples.chunks(self.config.n).map(|g| best(g).tokens.clone()).collect()
        };
        self.train_on(&ids, &answers)?;
        self.steps += 1;
        Ok(())
    }

    /// Best-of-`n` accuracy over disjoint groups of `n` of `samples` (k per prompt, in order).
    fn best_of(&self, samples: &[Completion], k: usize, n: usize) -> f64 {
        let mut right = 0;
        for (i, per_prompt) in samples.chunks(k).enumerate() {
            right += per_prompt.chunks_exact(n).filter(|g| best(g).tokens == self.task.truth(i)).count();
        }
        right as f64 / (self.config.prompts * (k / n)) as f64
    }

    /// π(correct answer | prompt), per prompt: exactly the chance that one sample is right.
    async fn correct_mass(&self) -> Result<Vec<f64>> {
        let all: Vec<usize> = (0..self.config.prompts).collect();
        let truths: Vec<Vec<u32>> = all.iter().map(|&i| self.task.truth(i).to_vec()).collect();
        Ok(score(&self.model, &self.device, BOS, &self.prompts(&all), &truths).await?.into_iter().map(libm::exp).collect())
    }

    async fn greedy_answers(&self) -> Result<Vec<Vec<u32>>> {
        let all: Vec<usize> = (0..self.config.prompts).collect();
        let out = complete(&self.model, &self.device, BOS, &self.prompts(&all), self.config.answer_len, argmax).await?;
        Ok(out.into_iter().map(|c| c.tokens).collect())
    }

    fn accuracy(&self, answers: &[Vec<u32>]) -> f64 {
        answers.iter().enumerate().filter(|(i, a)| a[..] == *self.task.truth(*i)).count() as f64 / answers.len() as f64
    }

    /// The metric row now, in the order of METRICS. The loss is that of the last step's batch;
    /// at step 0, of noisy labels from a stream of their own.
    async fn evaluate(&mut self) -> Result<MetricRow> {
        let loss = match &self.last_loss {
            Some(l) => l.to_vec().await?[0],
            None => {
                let mut r = Rng::stream(self.config.seed, "first batch");
                let ids: Vec<usize> = (0..self.config.batch_size).map(|_| r.below(self.config.prompts as u32) as usize).collect();
                let labels: Vec<Vec<u32>> = ids.iter().map(|&i| self.task.label(&mut r, i)).collect();
                teacher_forced(&self.model, &self.device, BOS, &self.prompts(&ids), &labels)?.loss.to_vec().await?[0]
            }
        };
        let mass = self.correct_mass().await?;
        let greedy = self.accuracy(&self.greedy_answers().await?);
        let (n, k) = (self.config.n, self.config.n * EVAL_GROUPS);
        let all: Vec<usize> = (0..self.config.prompts).collect();
        let samples = sample(&self.model, &self.device, &self.task, &all, k, &mut self.eval).await?;
        let values = [loss as f64, mean(&mass), greedy, self.best_of(&samples, k, n), mean_logp(&samples)];
        Ok(MetricRow { step: self.steps, values: values.iter().map(|&v| v as f32).collect() })
    }

    /// Best-of-N accuracy against N, the mass per prompt and the greedy answers, sampled from a
    /// stream of its own: figures are asked for at any time and must not move the run's streams.
    async fn snapshot(&self) -> Result<Snapshot> {
        let all: Vec<usize> = (0..self.config.prompts).collect();
        let samples = sample(&self.model, &self.device, &self.task, &all, BON_MAX, &mut Rng::stream(self.config.seed, "figures")).await?;
        Ok(Snapshot {
            step: self.steps,
            bon: ns().iter().map(|&n| self.best_of(&samples, BON_MAX, n)).collect(),
            mass: self.correct_mass().await?,
            greedy: self.greedy_answers().await?,
            loglik: mean_logp(&samples),
        })
    }

    async fn run(&mut self, n: u64) -> Result<Vec<MetricRow>> {
        self.cached = None;
        let mut rows = vec![];
        if self.steps == 0 {
            rows.push(self.evaluate().await?);
        }
        for _ in 0..n {
            if self.steps == self.config.sharpen_at && self.base.is_none() {
                self.base = Some(self.snapshot().await?);
            }
            self.train_step().await?;
            if self.steps % self.config.eval_every == 0 {
                rows.push(self.evaluate().await?);
            }
        }
        Ok(rows)
    }

    async fn compute_figures(&self) -> Result<Vec<Figure>> {
        let now = self.snapshot().await?;
        let label = |s: &Snapshot| match s.step.cmp(&self.config.sharpen_at) {
            std::cmp::Ordering::Less => format!("pre-training (step {})", s.step),
            std::cmp::Ordering::Equal => format!("base model (step {})", s.step),
            std::cmp::Ordering::Greater => format!("after SFT-sharpening (step {})", s.step),
        };
        let shown: Vec<&Snapshot> = self.base.iter().filter(|b| b.step != now.step).chain([&now]).collect();
        let q = self.config.coverage;
        let mut bon: Vec<Series> = shown.iter().map(|s| Series { name: label(s), y: s.bon.clone() }).collect();
        bon.push(Series { name: format!("ideal base: 1 − (1 − {q})^N"), y: ns().iter().map(|&n| 1.0 - libm::pow(1.0 - q, n as f64)).collect() });
        let sorted = |m: &[f64]| {
            let mut m = m.to_vec();
            m.sort_by(|a, b| b.total_cmp(a));
            m
        };
        let mass = shown.iter().map(|s| Series { name: label(s), y: sorted(&s.mass) }).collect();
        let at_n = ns().iter().position(|&n| n >= self.config.n).unwrap_or(0);
        let rows: Vec<(String, Vec<f64>)> = vec![
            ("mass on the correct answer = accuracy of one sample (N = 1)".into(), shown.iter().map(|s| mean(&s.mass)).collect()),
            ("greedy accuracy".into(), shown.iter().map(|s| self.accuracy(&s.greedy)).collect()),
            (format!("best-of-{} accuracy by self-likelihood", ns()[at_n]), shown.iter().map(|s| s.bon[at_n]).collect()),
            (format!("best-of-{BON_MAX} accuracy by self-likelihood"), shown.iter().map(|s| *s.bon.last().expect("N = 1 at least")).collect()),
            ("mean log π(y|x) of a sample (nats)".into(), shown.iter().map(|s| s.loglik).collect()),
        ];
        let columns = std::iter::once("".to_string()).chain(shown.iter().map(|s| label(s))).collect();
        let rows = rows
            .iter()
            .map(|(name, v)| TableRow { cells: std::iter::once(name.clone()).chain(v.iter().map(|x| format!("{x:.3}"))).collect(), detail: None })
            .collect();
        Ok(vec![
            Figure::Lines(Lines {
                id: "bon_vs_n".into(),
                title: "Accuracy of best-of-N, choosing by the model's own likelihood log π(y|x)".into(),
                x_label: "N (samples per prompt)".into(),
                y_label: "accuracy".into(),
                log_x: true,
                log_y: false,
                x: ns().iter().map(|&n| n as f64).collect(),
                series: bon,
            }),
            Figure::Lines(Lines {
                id: "mass".into(),
                title: "Mass π(correct answer) per prompt, largest first".into(),
                x_label: "prompt (by rank)".into(),
                y_label: "π(correct answer | prompt)".into(),
                log_x: false,
                log_y: false,
                x: (1..=self.config.prompts).map(|r| r as f64).collect(),
                series: mass,
            }),
            Figure::Table(Table { id: "summary".into(), title: "Before and after sharpening (all prompts)".into(), columns, rows }),
            Figure::Table(self.per_prompt(&shown, label)),
        ])
    }

    /// Each prompt's correct answer, mass on it and greedy answer per snapshot; the prompts the
    /// first snapshot covers least come first (where sharpening can lock onto a wrong answer).
    fn per_prompt(&self, shown: &[&Snapshot], label: impl Fn(&Snapshot) -> String) -> Table {
        let mut order: Vec<usize> = (0..self.config.prompts).collect();
        order.sort_by(|&a, &b| shown[0].mass[a].total_cmp(&shown[0].mass[b]));
        let rows = order
            .iter()
            .map(|&i| {
                let mut cells = vec![format!("#{i}"), self.task.text(self.task.truth(i))];
                for s in shown {
                    cells.extend([format!("{:.3}", s.mass[i]), self.task.text(&s.greedy[i])]);
                }
                TableRow { cells, detail: None }
            })
            .collect();
        let mut columns = vec!["prompt".to_string(), "correct answer".to_string()];
        for s in shown {
            columns.extend([format!("π(correct), {}", label(s)), format!("greedy answer, {}", label(s))]);
        }
        Table { id: "prompts".into(), title: "Per prompt, least covered first (? is a token that is not a letter)".into(), columns, rows }
    }
}

/// `k` answers sampled for each of the prompts `ids`, prompt by prompt, with their log π.
async fn sample(model: &Transformer, device: &Device, task: &NoisyAnswers, ids: &[usize], k: usize, rng: &mut Rng) -> Result<Vec<Completion>> {
    let prefixes: Vec<Vec<u32>> = ids.iter().flat_map(|&i| std::iter::repeat_n(task.prompt(i), k)).collect();
    complete(model, device, BOS, &prefixes, task.len, |lp| draw(lp, 1.0, 1.0, rng)).await
}

/// N = 1, 2, 4, …, BON_MAX.
fn ns() -> Vec<usize> {
    (0..).map(|i| 1 << i).take_while(|&n| n <= BON_MAX).collect()
}

/// The sample of highest log π (the first among ties).
fn best(group: &[Completion]) -> &Completion {
    group.iter().fold(&group[0], |b, c| if c.logp > b.logp { c } else { b })
}

fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

fn mean_logp(samples: &[Completion]) -> f64 {
    samples.iter().map(|c| c.logp).sum::<f64>() / samples.len() as f64
}

impl Toy for Sharpening {
    fn metric_names(&self) -> &'static [&'static str] {
        METRICS
    }
    fn steps_done(&self) -> u64 {
        self.steps
    }
    fn step(&mut self, n: u64) -> LocalFuture<'_, Result<Vec<MetricRow>>> {
        Box::pin(self.run(n))
    }
    /// Sampling 64 answers per prompt is the expensive part: computed once per model state.
    fn figures(&mut self) -> LocalFuture<'_, Result<Vec<Figure>>> {
        Box::pin(async {
            if self.cached.is_none() {
                self.cached = Some(self.compute_figures().await?);
            }
            Ok(self.cached.clone().expect("just computed"))
        })
    }
}
