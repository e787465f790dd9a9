//! `backtrack` — Botta, Li, Mehta, Ash, Zhang & Risteski, "On the Query Complexity of
//! Verifier-Assisted Language Generation" (ICML 2025), https://arxiv.org/abs/2502.12123.
//!
//! Claim: a process verifier (can this prefix still be completed?) can turn an intractable
//! generation problem into a tractable one; even tokenwise rejection sampling gains from it, and
//! letting the sampler "backtrack" (erase its last few tokens) beats blockwise rejection and
//! nucleus sampling in queries, accuracy and diversity (abstract; §5.1 for a Dyck grammar).
//!
//! Here: a tiny LM learns Dyck-k strings of one length that never nest deeper than
//! `train_depth`; it is then asked to complete prompts that open `prompt_depth` brackets, deeper
//! than it has ever seen. The exact verifier of `tasks::dyck` guides the samplers of
//! `constrained`, and the figures compare them per generator query. The paper trains a larger
//! model and, in its Dyck experiments, a learned verifier; see web/src/toys/backtrack.ts.

use std::rc::Rc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{EvalQueue, LocalFuture, ParamSpec, Toy, ToyEntry, typed, untyped};
use crate::autograd::backward;
use crate::constrained::{self, Chain, Strategy};
use crate::error::{Error, Result};
use crate::figures::{Figure, Lines, Series, Table, TableRow};
use crate::metrics::MetricRow;
use crate::nn::{Param, Transformer, TransformerShape};
use crate::optim::AdamW;
use crate::rng::Rng;
use crate::tasks::dyck::{BOS, Dyck, TypeMix};
use crate::tensor::{Device, Index, Tensor};

pub const PARAMS: &[ParamSpec] = &[
    ParamSpec::int("seed", 0, u32::MAX as i64, "seeds every random draw: data, init, prompts, sampling"),
    ParamSpec::int("k", 1, 4, "bracket types of the Dyck language"),
    ParamSpec::int("length", 8, 48, "tokens in every string, prompt included (even)"),
    ParamSpec::int("train_depth", 1, 24, "deepest nesting in the training strings"),
    ParamSpec::int("prompt_depth", 1, 24, "openers in each prompt: deeper than train_depth is off-distribution"),
    ParamSpec::float("type_skew", 0.0, 1.0, "share of the favoured bracket type: the last type in training, the first in prompts"),
    ParamSpec::int("layers", 1, 4, "transformer blocks"),
    ParamSpec::int("d_model", 16, 128, "width of the residual stream"),
    ParamSpec::int("heads", 1, 8, "attention heads (must divide d_model)"),
    ParamSpec::log_float("lr", 1e-4, 3e-2, "AdamW learning rate"),
    ParamSpec::int("batch_size", 4, 256, "training strings per step (fresh ones every step)"),
    ParamSpec::int("eval_every", 1, 1000, "steps between metric rows"),
    ParamSpec::int("prompts", 1, 64, "prompts the samplers complete in the figures"),
    ParamSpec::int("budget", 16, 4096, "generator queries each sampler may spend per prompt"),
    ParamSpec::int("backtrack", 1, 16, "B: tokens erased when the verifier rejects a token"),
    ParamSpec::int("max_backtracks", 1, 64, "backtracks allowed per string, then plain tokenwise rejection"),
    ParamSpec::float("top_p", 0.05, 1.0, "nucleus sampling keeps the likeliest tokens up to this mass"),
];

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Config {
    pub seed: u64,
    pub k: usize,
    pub length: usize,
    pub train_depth: usize,
    pub prompt_depth: usize,
    pub type_skew: f64,
    pub layers: usize,
    pub d_model: usize,
    pub heads: usize,
    pub lr: f64,
    pub batch_size: usize,
    pub eval_every: u64,
    pub prompts: usize,
    pub budget: u64,
    pub backtrack: usize,
    pub max_backtracks: usize,
    pub top_p: f64,
}

impl Default for Config {
    /// Sized so that training and the figures take about a minute on one CPU core.
    fn default() -> Config {
        Config {
            seed: 0,
            k: 2,
            length: 28,
            train_depth: 4,
            prompt_depth: 9,
            type_skew: 0.8,
            layers: 2,
            d_model: 48,
            heads: 4,
            lr: 3e-3,
            batch_size: 32,
            eval_every: 25,
            prompts: 16,
            budget: 256,
            backtrack: 4,
            max_backtracks: 4,
            top_p: 0.9,
        }
    }
}

fn validate(config: &Map<String, Value>) -> Result<()> {
    let c: Config = typed(config)?;
    if c.length % 2 != 0 {
        return Err(Error::msg(format!("length = {} must be even (every bracket closes)", c.length)));
    }
    if 2 * c.prompt_depth >= c.length {
        return Err(Error::msg(format!("prompt_depth = {} leaves no room to close in length = {}: it must be below length / 2", c.prompt_depth, c.length)));
    }
    if 2 * c.train_depth > c.length {
        return Err(Error::msg(format!("train_depth = {} cannot be reached in length = {}: at most length / 2", c.train_depth, c.length)));
    }
    if c.d_model % c.heads != 0 {
        return Err(Error::msg(format!("heads = {} must divide d_model = {}", c.heads, c.d_model)));
    }
    Ok(())
}

pub const ENTRY: ToyEntry = ToyEntry {
    id: "backtrack",
    title: "Verifier-assisted generation: backtracking beats rejection sampling",
    claim: "with a process verifier, tokenwise rejection with backtracking finds valid strings in far fewer generator queries than blockwise rejection or nucleus sampling",
    paper: "On the Query Complexity of Verifier-Assisted Language Generation (Botta et al., 2025)",
    paper_url: "https://arxiv.org/abs/2502.12123",
    params: &[PARAMS],
    default_steps: 600,
    defaults: || untyped(&Config::default()),
    validate,
    build: |config, device| Ok(Box::new(Backtrack::new(typed(config)?, device)?)),
};

const METRICS: &[&str] = &["train/loss", "val/loss", "ood/loss"];
/// Held-out strings for the two evaluation losses.
const EVAL_STRINGS: usize = 128;

/// Inputs (BOS, then all but the last token), targets (every token) and the rows whose loss counts.
struct Batch {
    tokens: Rc<Index>,
    targets: Rc<Index>,
    rows: Rc<Index>,
}

impl Batch {
    /// Next-token prediction over `strings`, scored from position `from` on.
    fn new(device: &Device, dyck: &Dyck, strings: &[Vec<u32>], from: usize) -> Result<Batch> {
        let t = dyck.len;
        let tokens = strings.iter().flat_map(|s| std::iter::once(BOS).chain(s[..t - 1].iter().copied())).collect();
        let rows: Vec<u32> = (0..strings.len() * t).filter(|r| r % t >= from).map(|r| r as u32).collect();
        let targets = rows.iter().map(|&r| strings[r as usize / t][r as usize % t]).collect();
        Ok(Batch {
            tokens: Index::new(device, tokens, dyck.vocab())?,
            targets: Index::new(device, targets, dyck.vocab())?,
            rows: Index::new(device, rows, strings.len() * t)?,
        })
    }
}

/// Training favours the last bracket type, prompts the first.
fn train_mix(c: &Config) -> TypeMix {
    TypeMix { favoured: c.k as u32, p: c.type_skew as f32 }
}

fn prompt_mix(c: &Config) -> TypeMix {
    TypeMix { favoured: 1, p: c.type_skew as f32 }
}

pub struct Backtrack {
    config: Config,
    dyck: Dyck,
    device: Device,
    model: Transformer,
    params: Vec<Param>,
    opt: AdamW,
    data: Rng,
    val: Batch,
    ood: Batch,
    last_loss: Option<Tensor>,
    steps: u64,
    /// The figures of the last `figures()` call and the step they were computed at.
    cached: Option<(u64, Vec<Figure>)>,
}

impl Backtrack {
    pub fn new(config: Config, device: &Device) -> Result<Backtrack> {
        let dyck = Dyck { k: config.k, len: config.length };
        let shape = TransformerShape {
            vocab: dyck.vocab(),
            seq_len: dyck.len,
            d_model: config.d_model,
            heads: config.heads,
            layers: config.layers,
            n_out: dyck.vocab(),
        };
        let model = Transformer::new(device, &mut Rng::stream(config.seed, "init"), shape)?;
        let params = model.params();
        let opt = AdamW::new(&params, config.lr as f32, 0.0, 0.99);
        let mut r = Rng::stream(config.seed, "val");
        let val: Vec<_> = (0..EVAL_STRINGS).map(|_| dyck.complete(&mut r, &[], config.train_depth, train_mix(&config))).collect();
        // Off-distribution: a deep prompt completed at random, scored on the completion only.
        let mut r = Rng::stream(config.seed, "ood");
        let ood: Vec<_> = (0..EVAL_STRINGS)
            .map(|_| {
                let prompt = dyck.prompt(&mut r, config.prompt_depth, prompt_mix(&config));
                dyck.complete(&mut r, &prompt, config.prompt_depth, prompt_mix(&config))
            })
            .collect();
        Ok(Backtrack {
            val: Batch::new(device, &dyck, &val, 0)?,
            ood: Batch::new(device, &dyck, &ood, config.prompt_depth)?,
            data: Rng::stream(config.seed, "data"),
            config,
            dyck,
            device: device.clone(),
            model,
            params,
            opt,
            last_loss: None,
            steps: 0,
            cached: None,
        })
    }

    fn loss(&self, b: &Batch) -> Result<Tensor> {
        let hidden = self.model.hidden(&b.tokens)?;
        Ok(self.model.logits_at(&hidden, &b.rows)?.cross_entropy(&b.targets)?.0)
    }

    fn train_step(&mut self) -> Result<()> {
        let strings: Vec<_> =
            (0..self.config.batch_size).map(|_| self.dyck.complete(&mut self.data, &[], self.config.train_depth, train_mix(&self.config))).collect();
        let loss = self.loss(&Batch::new(&self.device, &self.dyck, &strings, 0)?)?;
        let grads = backward(&loss)?;
        self.opt.step(&self.params, &grads)?;
        self.device.flush();
        self.last_loss = Some(Tensor::from_shared(&loss, &[1]));
        self.steps += 1;
        Ok(())
    }

    /// train loss (of the last minibatch; the validation loss before the first step), val, ood.
    fn queue_eval(&self) -> Result<Vec<Tensor>> {
        let val = Tensor::from_shared(&self.loss(&self.val)?, &[1]);
        let ood = Tensor::from_shared(&self.loss(&self.ood)?, &[1]);
        Ok(vec![self.last_loss.clone().unwrap_or_else(|| val.clone()), val, ood])
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
        let rows = queue.read(&self.device).await?;
        Ok(rows.into_iter().map(|(step, values)| MetricRow { step, values }).collect())
    }

    /// The samplers compared, by name: the four of the claim, then the other B values of the sweep.
    fn arms(&self) -> Vec<(String, Strategy)> {
        let c = &self.config;
        let tokenwise = |b| Strategy::Tokenwise { backtrack: b, max_backtracks: c.max_backtracks };
        let mut arms = vec![
            (format!("nucleus p={}", c.top_p), Strategy::Blockwise { top_p: c.top_p }),
            ("blockwise".into(), Strategy::Blockwise { top_p: 1.0 }),
            ("tokenwise".into(), tokenwise(0)),
            (format!("backtrack B={}", c.backtrack), tokenwise(c.backtrack)),
        ];
        for b in [1, 2, 4, 8].into_iter().filter(|&b| b != c.backtrack) {
            arms.push((format!("backtrack B={b}"), tokenwise(b)));
        }
        arms
    }

    /// Every arm on every prompt, each chain with its own random stream.
    pub async fn sample_all(&self) -> Result<Vec<(String, Strategy, Vec<Chain>)>> {
        let c = &self.config;
        let mut r = Rng::stream(c.seed, "prompts");
        let prompts: Vec<Vec<u32>> = (0..c.prompts).map(|_| self.dyck.prompt(&mut r, c.prompt_depth, prompt_mix(c))).collect();
        let arms = self.arms();
        let mut chains: Vec<Chain> = arms
            .iter()
            .flat_map(|(name, s)| {
                prompts.iter().enumerate().map(move |(i, p)| Chain::new(*s, p.clone(), c.budget, Rng::stream(c.seed, &format!("sample/{name}/{i}"))))
            })
            .collect();
        constrained::run(&self.model, &self.device, BOS, &self.dyck, &mut chains).await?;
        let mut it = chains.into_iter();
        Ok(arms.into_iter().map(|(name, s)| (name, s, it.by_ref().take(c.prompts).collect())).collect())
    }

    async fn compute_figures(&self) -> Result<Vec<Figure>> {
        let results = self.sample_all().await?;
        let main = &results[..4];
        Ok(vec![
            Figure::Lines(accuracy_lines(main, self.config.budget)),
            Figure::Lines(queries_against_b(&results)),
            Figure::Table(summary(main)),
            Figure::Table(samples(&self.dyck, main)),
            Figure::Lines(uniform_generator(2 * self.config.k)),
        ])
    }
}

/// Generator queries spent per valid string found, over all prompts.
fn queries_per_accepted(chains: &[Chain]) -> f64 {
    let accepted: usize = chains.iter().map(|c| c.accepted.len()).sum();
    let spent: u64 = chains.iter().map(|c| c.queries).sum();
    if accepted == 0 { f64::NAN } else { spent as f64 / accepted as f64 }
}

/// Accuracy within q queries: the share of prompts with a valid completion found by then.
fn accuracy_lines(arms: &[(String, Strategy, Vec<Chain>)], budget: u64) -> Lines {
    let mut x: Vec<f64> = (0..).map(|i| libm::pow(2.0, i as f64 / 2.0).round()).take_while(|&q| q < budget as f64).chain([budget as f64]).collect();
    x.dedup();
    let series = arms
        .iter()
        .map(|(name, _, chains)| Series {
            name: name.clone(),
            y: x.iter()
                .map(|&q| chains.iter().filter(|c| c.accepted.first().is_some_and(|a| a.queries as f64 <= q)).count() as f64 / chains.len() as f64)
                .collect(),
        })
        .collect();
    Lines {
        id: "accuracy".into(),
        title: "Prompts completed validly within a query budget".into(),
        x_label: "generator queries per prompt".into(),
        y_label: "accuracy".into(),
        log_x: true,
        log_y: false,
        x,
        series,
    }
}

/// Queries per valid string against the backtrack length B (B = 0: plain tokenwise rejection),
/// with blockwise rejection as a flat reference.
fn queries_against_b(results: &[(String, Strategy, Vec<Chain>)]) -> Lines {
    let mut points: Vec<(f64, f64)> = results
        .iter()
        .filter_map(|(_, s, chains)| match s {
            Strategy::Tokenwise { backtrack, .. } => Some((*backtrack as f64, queries_per_accepted(chains))),
            Strategy::Blockwise { .. } => None,
        })
        .collect();
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    let blockwise = queries_per_accepted(&results[1].2);
    Lines {
        id: "queries_vs_b".into(),
        title: "Generator queries per valid string against the backtrack length B".into(),
        x_label: "B (tokens erased per backtrack)".into(),
        y_label: "queries per valid string".into(),
        log_x: false,
        log_y: true,
        x: points.iter().map(|p| p.0).collect(),
        series: vec![
            Series { name: "tokenwise with backtracking".into(), y: points.iter().map(|p| p.1).collect() },
            Series { name: "blockwise".into(), y: vec![blockwise; points.len()] },
        ],
    }
}

/// Per arm: accuracy, cost and diversity of the valid strings found.
fn summary(arms: &[(String, Strategy, Vec<Chain>)]) -> Table {
    let rows = arms
        .iter()
        .map(|(name, _, chains)| {
            let solved = chains.iter().filter(|c| !c.accepted.is_empty()).count();
            let found: usize = chains.iter().map(|c| c.accepted.len()).sum();
            let finished = found as u64 + chains.iter().map(|c| c.rejected).sum::<u64>();
            let distinct: usize = chains.iter().map(|c| c.accepted.iter().map(|a| &a.completion).collect::<std::collections::BTreeSet<_>>().len()).sum();
            TableRow {
                cells: vec![
                    name.clone(),
                    format!("{solved}/{}", chains.len()),
                    format!("{:.1}", queries_per_accepted(chains)),
                    format!("{:.0}%", 100.0 * found as f64 / finished.max(1) as f64),
                    found.to_string(),
                    distinct.to_string(),
                ],
                detail: None,
            }
        })
        .collect();
    let columns = ["sampler", "prompts solved", "queries per valid string", "valid share of finished strings", "valid strings", "distinct valid strings"];
    Table {
        id: "summary".into(),
        title: "Accuracy, cost and diversity per sampler (all prompts, full budget)".into(),
        columns: columns.map(String::from).to_vec(),
        rows,
    }
}

/// The first strings found per prompt; backtracking's erased tokens are struck through.
fn samples(dyck: &Dyck, arms: &[(String, Strategy, Vec<Chain>)]) -> Table {
    let show = |c: &Chain| c.accepted.first().map_or("—".to_string(), |a| dyck.text(&a.completion));
    let rows = (0..arms[0].2.len().min(8))
        .map(|i| {
            let bt = &arms[3].2[i];
            let trace = bt.accepted.first().map_or("—".to_string(), |a| {
                a.trace.iter().map(|s| if s.erased { format!("{}\u{0336}", dyck.render(s.token)) } else { dyck.render(s.token).to_string() }).collect()
            });
            let q = bt.accepted.first().map_or("—".to_string(), |a| a.queries.to_string());
            TableRow { cells: vec![dyck.text(&bt.prompt), trace, q, show(&arms[2].2[i]), show(&arms[1].2[i])], detail: None }
        })
        .collect();
    let columns = ["prompt", &format!("{} (erased tokens struck)", arms[3].0), "its queries", "tokenwise", "blockwise"];
    Table { id: "samples".into(), title: "First valid completion per prompt".into(), columns: columns.map(String::from).to_vec(), rows }
}

/// The theory's simplest case: a uniform generator over Σ^L and one valid string.
/// Blockwise rejection needs L·|Σ|^L queries in expectation, tokenwise rejection with an exact
/// process verifier L·|Σ| (|Σ| draws per position).
fn uniform_generator(sigma: usize) -> Lines {
    let x: Vec<f64> = (1..=12).map(f64::from).collect();
    let s = sigma as f64;
    Lines {
        id: "uniform".into(),
        title: format!("Uniform generator over {sigma} tokens, one valid string: expected queries"),
        x_label: "string length L".into(),
        y_label: "expected queries".into(),
        log_x: false,
        log_y: true,
        series: vec![
            Series { name: "blockwise rejection".into(), y: x.iter().map(|&l| l * libm::pow(s, l)).collect() },
            Series { name: "tokenwise rejection".into(), y: x.iter().map(|&l| l * s).collect() },
        ],
        x,
    }
}

impl Toy for Backtrack {
    fn metric_names(&self) -> &'static [&'static str] {
        METRICS
    }
    fn steps_done(&self) -> u64 {
        self.steps
    }
    fn step(&mut self, n: u64) -> LocalFuture<'_, Result<Vec<MetricRow>>> {
        Box::pin(self.run(n))
    }
    /// Sampling is the expensive part: computed once per model state.
    fn figures(&mut self) -> LocalFuture<'_, Result<Vec<Figure>>> {
        Box::pin(async {
            if self.cached.as_ref().is_none_or(|(at, _)| *at != self.steps) {
                self.cached = Some((self.steps, self.compute_figures().await?));
            }
            Ok(self.cached.as_ref().expect("just computed").1.clone())
        })
    }
}
