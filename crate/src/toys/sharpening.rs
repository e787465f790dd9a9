//! `sharpening` — Huang, Block, Foster, Rohatgi, Zhang, Simchowitz, Ash & Krishnamurthy,
//! "Self-Improvement in Language Models: The Sharpening Mechanism" (ICLR 2025),
//! https://arxiv.org/abs/2412.01951.
//!
//! A model is often a better verifier than generator: its own likelihood log π(y|x) picks good
//! answers among its samples (best-of-N), and SFT-sharpening fine-tunes on those winners so that
//! one sample does as well. Here a tiny LM pre-trains on `tasks::noisy_answers` (the correct
//! answer is the likeliest but holds only `coverage` of the mass); from `sharpen_at` on, each
//! step samples `n` answers per prompt, keeps the likeliest, and trains on it.

use super::{About, Experiment, Paper, Theme};
use crate::error::{Error, Result};
use crate::figures::{Figure, Lines, Series, Table, TableRow};
use crate::learner::Learner;
use crate::metrics::{ACC, Arm, History, LOSS, Metrics, NONE, Quantity, Scale, TRAIN, Verdict, name, percent};
use crate::nn::{Transformer, TransformerShape};
use crate::rng::Rng;
use crate::sample::{Completion, argmax, complete, draw, score, teacher_forced};
use crate::schema::{Optim, Run, Shape};
use crate::tasks::noisy_answers::{BOS, NoisyAnswers};
use crate::tensor::{Device, Tensor};

crate::config! {
    pub struct Config {
        group run: Run = Run { seed: 0, eval_every: 25 },
        prompts: usize = 32, int(4, 64), "prompts, each with its own correct answer",
        answer_len: usize = 3, int(2, 4), "symbols per answer",
        alphabet: usize = 8, int(2, 16), "symbols an answer is written in",
        coverage: f64 = 0.3, float(0.02, 0.9), "share of the training labels that are the correct answer: the base model's mass on it",
        group shape: Shape = Shape { layers: 2, d_model: 32, heads: 2 },
        group optim: Optim = Optim { lr: 3e-3, weight_decay: 0.0, batch_size: 64 },
        sharpen_at: u64 = 600, int(0, 20000), "step at which training on noisy labels stops and SFT on best-of-N answers starts",
        n: usize = 8, int(1, 64), "N: answers sampled per prompt in each sharpening step and in the best-of-N metric",
    }
}

const MODEL: Arm = Arm::new("transformer", "transformer");
/// `sample/acc` is exact, not estimated: π(correct answer | prompt), the chance that one sample
/// is right, averaged over the prompts. `best_of_n/acc` and `sample/self_loglik` come from
/// EVAL_GROUPS · n samples per prompt.
const SAMPLE: Arm = Arm::new("sample", "one sample");
const GREEDY: Arm = Arm::new("greedy", "greedy");
const BEST_OF_N: Arm = Arm::new("best_of_n", "best-of-N by self-likelihood");
const SELF_LOGLIK: Quantity = Quantity::new("self_loglik", "mean log π(y|x) of the model's own samples", "nats", Scale::Linear);
/// Disjoint groups of N samples per prompt behind the `best_of_n/acc` metric.
const EVAL_GROUPS: usize = 4;
/// The figure's N = 1, 2, 4, …, BON_MAX, from BON_MAX samples per prompt.
const BON_MAX: usize = 64;

/// What the figures show of one model state.
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
    learner: Learner<Transformer>,
    data: Rng,
    sampling: Rng,
    eval: Rng,
    last_loss: Option<Tensor>,
    steps: u64,
    /// The model as it was when sharpening began.
    base: Option<Snapshot>,
}

impl Experiment for Sharpening {
    type Config = Config;
    const ABOUT: About = About {
        id: "sharpening",
        title: "Self-improvement as sharpening: best-of-N by the model's own likelihood, then SFT on it",
        claim: "choosing the likeliest of N samples raises accuracy with N; fine-tuning on those choices moves mass onto the correct answers, so one sample does what best-of-N did",
        theme: Theme::Inference,
        papers: &[Paper {
            title: "Self-Improvement in Language Models: The Sharpening Mechanism",
            authors: "Huang, Block, Foster, Rohatgi, Zhang, Simchowitz, Ash & Krishnamurthy",
            year: 2025,
            url: "https://arxiv.org/abs/2412.01951",
        }],
        default_steps: 900,
    };

    fn validate(c: &Config) -> Result<()> {
        if !NoisyAnswers::correct_is_modal(c.coverage, c.answer_len, c.alphabet) {
            let d = NoisyAnswers::distractor_mass(c.coverage, c.answer_len, c.alphabet);
            return Err(Error::msg(format!(
                "coverage = {} is not above the mass of each wrong answer, (1 − coverage) / alphabet^(answer_len − 1) = {d:.3}: the correct answer would not be the likeliest, and no likelihood-based selection could find it; raise coverage, alphabet or answer_len",
                c.coverage
            )));
        }
        c.shape.check()
    }

    fn build(config: Config, device: &Device) -> Result<Sharpening> {
        let (seed, s) = (config.run.seed, &config.shape);
        let task = NoisyAnswers::new(&mut Rng::stream(seed, "task"), config.prompts, config.answer_len, config.alphabet, config.coverage);
        let vocab = task.vocab();
        let shape = TransformerShape { vocab, seq_len: 1 + config.answer_len, d_model: s.d_model, heads: s.heads, layers: s.layers, n_out: vocab };
        let model = Transformer::new(device, &mut Rng::stream(seed, "init"), shape)?;
        let learner = Learner::adamw(model, config.optim.lr, config.optim.weight_decay, 0.99);
        Ok(Sharpening {
            data: Rng::stream(seed, "data"),
            sampling: Rng::stream(seed, "sampling"),
            eval: Rng::stream(seed, "eval"),
            config,
            task,
            device: device.clone(),
            learner,
            last_loss: None,
            steps: 0,
            base: None,
        })
    }

    /// A noisy label per drawn prompt before `sharpen_at`, the likeliest of n own samples per
    /// drawn prompt from then on (SFT-sharpening); one AdamW step on them.
    async fn train_step(&mut self, step: u64) -> Result<()> {
        let c = &self.config;
        if step == c.sharpen_at && self.base.is_none() {
            self.base = Some(self.snapshot().await?);
        }
        let ids: Vec<usize> = (0..c.optim.batch_size).map(|_| self.data.below(c.prompts as u32) as usize).collect();
        let answers: Vec<Vec<u32>> = if step < c.sharpen_at {
            ids.iter().map(|&i| self.task.label(&mut self.data, i)).collect()
        } else {
            let samples = sample(&self.learner.model, &self.device, &self.task, &ids, c.n, &mut self.sampling).await?;
            samples.chunks(c.n).map(|g| best(g).tokens.clone()).collect()
        };
        let loss = teacher_forced(&self.learner.model, &self.device, BOS, &self.prompts(&ids), &answers)?.loss;
        self.learner.update(&loss)?;
        self.last_loss = Some(Tensor::from_shared(&loss, &[1]));
        self.steps = step + 1;
        Ok(())
    }

    /// The loss is that of the last step's batch; at step 0, of noisy labels from a stream of
    /// their own. The rest samples from the model, from the "eval" stream.
    async fn eval(&mut self, m: &mut Metrics) -> Result<()> {
        let c = &self.config;
        let loss = match &self.last_loss {
            Some(l) => l.clone(),
            None => {
                let mut r = Rng::stream(c.run.seed, "first batch");
                let ids: Vec<usize> = (0..c.optim.batch_size).map(|_| r.below(c.prompts as u32) as usize).collect();
                let labels: Vec<Vec<u32>> = ids.iter().map(|&i| self.task.label(&mut r, i)).collect();
                teacher_forced(&self.learner.model, &self.device, BOS, &self.prompts(&ids), &labels)?.loss
            }
        };
        m.scalar(MODEL, TRAIN, LOSS, &loss);
        m.value(SAMPLE, NONE, ACC, mean(&self.correct_mass().await?) as f32);
        m.value(GREEDY, NONE, ACC, self.accuracy(&self.greedy_answers().await?) as f32);
        let (n, k) = (c.n, c.n * EVAL_GROUPS);
        let samples = sample(&self.learner.model, &self.device, &self.task, &self.all(), k, &mut self.eval).await?;
        m.value(BEST_OF_N, NONE, ACC, self.best_of(&samples, k, n) as f32);
        m.value(SAMPLE, NONE, SELF_LOGLIK, mean_logp(&samples) as f32);
        Ok(())
    }

    /// After sharpening, one sample is right about as often as best-of-N was before it (within
    /// 10 points), and clearly more often than one sample was.
    fn verdict(c: &Config, h: &History, _: &[Figure]) -> Verdict {
        if h.last_step() <= c.sharpen_at {
            return Verdict::new(false, format!("sharpening starts at step {}; the run has not reached it", c.sharpen_at));
        }
        let (sample, bon) = (name(SAMPLE, NONE, ACC), name(BEST_OF_N, NONE, ACC));
        let (before, bon_before, after) = (h.at_or_before(c.sharpen_at, &sample), h.at_or_before(c.sharpen_at, &bon), h.last(&sample));
        let line = format!(
            "one sample is right {} of the time after sharpening, {} before; best-of-{} was {} before",
            percent(after),
            percent(before),
            c.n,
            percent(bon_before)
        );
        Verdict::new(after >= bon_before - 0.1 && after >= before + 0.2, line)
    }

    async fn figures(&mut self) -> Result<Vec<Figure>> {
        let now = self.snapshot().await?;
        let at = self.config.sharpen_at;
        let label = |s: &Snapshot| match s.step.cmp(&at) {
            std::cmp::Ordering::Less => format!("pre-training (step {})", s.step),
            std::cmp::Ordering::Equal => format!("base model (step {})", s.step),
            std::cmp::Ordering::Greater => format!("after SFT-sharpening (step {})", s.step),
        };
        let shown: Vec<&Snapshot> = self.base.iter().filter(|b| b.step != now.step).chain([&now]).collect();
        let q = self.config.coverage;
        let mut bon: Vec<Series> = shown.iter().map(|s| Series::new(label(s), s.bon.clone())).collect();
        bon.push(Series::new(format!("ideal base: 1 − (1 − {q})^N"), ns().iter().map(|&n| 1.0 - libm::pow(1.0 - q, n as f64)).collect()));
        let mass = shown.iter().map(|s| Series::new(label(s), sorted_desc(&s.mass))).collect();
        let at_n = ns().iter().position(|&n| n >= self.config.n).unwrap_or(0);
        let summary: Vec<(String, Vec<f64>)> = vec![
            ("mass on the correct answer = accuracy of one sample (N = 1)".into(), shown.iter().map(|s| mean(&s.mass)).collect()),
            ("greedy accuracy".into(), shown.iter().map(|s| self.accuracy(&s.greedy)).collect()),
            (format!("best-of-{} accuracy by self-likelihood", ns()[at_n]), shown.iter().map(|s| s.bon[at_n]).collect()),
            (format!("best-of-{BON_MAX} accuracy by self-likelihood"), shown.iter().map(|s| *s.bon.last().expect("N = 1 at least")).collect()),
            ("mean log π(y|x) of a sample (nats)".into(), shown.iter().map(|s| s.loglik).collect()),
        ];
        let columns = std::iter::once(String::new()).chain(shown.iter().map(|s| label(s))).collect();
        let rows = summary.iter().map(|(name, v)| TableRow::new(std::iter::once(name.clone()).chain(v.iter().map(|x| format!("{x:.3}"))).collect())).collect();
        let bon_title = "Accuracy of best-of-N, choosing by the model's own likelihood log π(y|x)";
        let ranks = (1..=self.config.prompts).map(|r| r as f64).collect();
        Ok(vec![
            Figure::Lines(Lines::new("bon_vs_n", bon_title, "N (samples per prompt)", "accuracy", ns().iter().map(|&n| n as f64).collect(), bon).log_x()),
            Figure::Lines(Lines::new(
                "mass",
                "Mass π(correct answer) per prompt, largest first",
                "prompt (by rank)",
                "π(correct answer | prompt)",
                ranks,
                mass,
            )),
            Figure::Table(Table { id: "summary".into(), title: "Before and after sharpening (all prompts)".into(), columns, rows }),
            Figure::Table(self.per_prompt(&shown, label)),
        ])
    }
}

impl Sharpening {
    fn all(&self) -> Vec<usize> {
        (0..self.config.prompts).collect()
    }

    fn prompts(&self, ids: &[usize]) -> Vec<Vec<u32>> {
        ids.iter().map(|&i| self.task.prompt(i)).collect()
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
        let all = self.all();
        let truths: Vec<Vec<u32>> = all.iter().map(|&i| self.task.truth(i).to_vec()).collect();
        Ok(score(&self.learner.model, &self.device, BOS, &self.prompts(&all), &truths).await?.into_iter().map(libm::exp).collect())
    }

    async fn greedy_answers(&self) -> Result<Vec<Vec<u32>>> {
        let out = complete(&self.learner.model, &self.device, BOS, &self.prompts(&self.all()), self.config.answer_len, argmax).await?;
        Ok(out.into_iter().map(|c| c.tokens).collect())
    }

    fn accuracy(&self, answers: &[Vec<u32>]) -> f64 {
        answers.iter().enumerate().filter(|(i, a)| a[..] == *self.task.truth(*i)).count() as f64 / answers.len() as f64
    }

    /// Best-of-N accuracy against N, the mass per prompt and the greedy answers, sampled from a
    /// stream of its own: figures are asked for at any time and must not move the run's streams.
    async fn snapshot(&self) -> Result<Snapshot> {
        let mut rng = Rng::stream(self.config.run.seed, "figures");
        let samples = sample(&self.learner.model, &self.device, &self.task, &self.all(), BON_MAX, &mut rng).await?;
        Ok(Snapshot {
            step: self.steps,
            bon: ns().iter().map(|&n| self.best_of(&samples, BON_MAX, n)).collect(),
            mass: self.correct_mass().await?,
            greedy: self.greedy_answers().await?,
            loglik: mean_logp(&samples),
        })
    }

    /// Each prompt's correct answer, mass on it and greedy answer per snapshot; the prompts the
    /// first snapshot covers least come first (where sharpening can lock onto a wrong answer).
    fn per_prompt(&self, shown: &[&Snapshot], label: impl Fn(&Snapshot) -> String) -> Table {
        let mut order = self.all();
        order.sort_by(|&a, &b| shown[0].mass[a].total_cmp(&shown[0].mass[b]));
        let rows = order
            .iter()
            .map(|&i| {
                let mut cells = vec![format!("#{i}"), self.task.text(self.task.truth(i))];
                for s in shown {
                    cells.extend([format!("{:.3}", s.mass[i]), self.task.text(&s.greedy[i])]);
                }
                TableRow::new(cells)
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

fn sorted_desc(xs: &[f64]) -> Vec<f64> {
    let mut v = xs.to_vec();
    v.sort_by(|a, b| b.total_cmp(a));
    v
}

fn mean_logp(samples: &[Completion]) -> f64 {
    samples.iter().map(|c| c.logp).sum::<f64>() / samples.len() as f64
}
