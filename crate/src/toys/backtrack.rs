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
//! `sample::constrained`, and the figures compare them per generator query. The paper trains a
//! larger model and, in its Dyck experiments, a learned verifier; see web/src/toys/backtrack.ts.

use std::rc::Rc;

use super::{About, Experiment, Paper, Theme};
use crate::error::{Error, Result};
use crate::figures::{Figure, Lines, Series, Table, TableRow};
use crate::learner::Learner;
use crate::metrics::{Arm, History, LOSS, Metrics, Split, TRAIN, VAL, Verdict, percent};
use crate::nn::{Transformer, TransformerShape};
use crate::rng::Rng;
use crate::sample::compare::{self, SamplerRun};
use crate::sample::constrained::{self, Chain, Strategy};
use crate::schema::{Optim, Run, Shape};
use crate::tasks::dyck::{BOS, Dyck, TypeMix};
use crate::tensor::{Device, Index, Tensor};

crate::config! {
    pub struct Config {
        group run: Run = Run { seed: 0, eval_every: 25 },
        k: usize = 2, int(1, 4), "bracket types of the Dyck language",
        length: usize = 28, int(8, 48), "tokens in every string, prompt included (even)",
        train_depth: usize = 4, int(1, 24), "deepest nesting in the training strings",
        prompt_depth: usize = 9, int(1, 24), "openers in each prompt: deeper than train_depth is off-distribution",
        type_skew: f64 = 0.8, float(0.0, 1.0), "share of the favoured bracket type: the last type in training, the first in prompts",
        group shape: Shape = Shape { layers: 2, d_model: 48, heads: 4 },
        group optim: Optim = Optim { lr: 3e-3, weight_decay: 0.0, batch_size: 32 },
        prompts: usize = 16, int(1, 64), "prompts the samplers complete in the figures",
        budget: u64 = 256, int(16, 4096), "generator queries each sampler may spend per prompt",
        backtrack: usize = 4, int(1, 16), "B: tokens erased when the verifier rejects a token",
        max_backtracks: usize = 4, int(1, 64), "backtracks allowed per string, then plain tokenwise rejection",
        top_p: f64 = 0.9, float(0.05, 1.0), "nucleus sampling keeps the likeliest tokens up to this mass",
    }
}

const MODEL: Arm = Arm::new("transformer", "transformer");
const OOD: Split = Split::new("ood", "deep prompts (completions only)");
const NUCLEUS: Arm = Arm::new("nucleus", "nucleus");
const BLOCKWISE: Arm = Arm::new("blockwise", "blockwise rejection");
const TOKENWISE: Arm = Arm::new("tokenwise", "tokenwise rejection");
const BACKTRACK: Arm = Arm::new("backtrack", "tokenwise with backtracking");
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
    learner: Learner<Transformer>,
    data: Rng,
    val: Batch,
    ood: Batch,
    last_loss: Option<Tensor>,
}

impl Experiment for Backtrack {
    type Config = Config;
    const ABOUT: About = About {
        id: "backtrack",
        title: "Verifier-assisted generation: backtracking beats rejection sampling",
        claim: "with a process verifier, tokenwise rejection with backtracking finds valid strings in far fewer generator queries than blockwise rejection or nucleus sampling",
        theme: Theme::Inference,
        papers: &[Paper {
            title: "On the Query Complexity of Verifier-Assisted Language Generation",
            authors: "Botta, Li, Mehta, Ash, Zhang & Risteski",
            year: 2025,
            url: "https://arxiv.org/abs/2502.12123",
        }],
        default_steps: 600,
    };

    fn validate(c: &Config) -> Result<()> {
        if !c.length.is_multiple_of(2) {
            return Err(Error::msg(format!("length = {} must be even (every bracket closes)", c.length)));
        }
        if 2 * c.prompt_depth >= c.length {
            return Err(Error::msg(format!("prompt_depth = {} leaves no room to close in length = {}: it must be below length / 2", c.prompt_depth, c.length)));
        }
        if 2 * c.train_depth > c.length {
            return Err(Error::msg(format!("train_depth = {} cannot be reached in length = {}: at most length / 2", c.train_depth, c.length)));
        }
        c.shape.check()
    }

    fn build(config: Config, device: &Device) -> Result<Backtrack> {
        let (seed, s) = (config.run.seed, &config.shape);
        let dyck = Dyck { k: config.k, len: config.length };
        let shape = TransformerShape { vocab: dyck.vocab(), seq_len: dyck.len, d_model: s.d_model, heads: s.heads, layers: s.layers, n_out: dyck.vocab() };
        let model = Transformer::new(device, &mut Rng::stream(seed, "init"), shape)?;
        let learner = Learner::adamw(model, config.optim.lr, config.optim.weight_decay, 0.99);
        let mut r = Rng::stream(seed, "val");
        let val: Vec<_> = (0..EVAL_STRINGS).map(|_| dyck.complete(&mut r, &[], config.train_depth, train_mix(&config))).collect();
        // Off-distribution: a deep prompt completed at random, scored on the completion only.
        let mut r = Rng::stream(seed, "ood");
        let ood: Vec<_> = (0..EVAL_STRINGS)
            .map(|_| {
                let prompt = dyck.prompt(&mut r, config.prompt_depth, prompt_mix(&config));
                dyck.complete(&mut r, &prompt, config.prompt_depth, prompt_mix(&config))
            })
            .collect();
        Ok(Backtrack {
            val: Batch::new(device, &dyck, &val, 0)?,
            ood: Batch::new(device, &dyck, &ood, config.prompt_depth)?,
            data: Rng::stream(seed, "data"),
            config,
            dyck,
            device: device.clone(),
            learner,
            last_loss: None,
        })
    }

    async fn train_step(&mut self, _step: u64) -> Result<()> {
        let c = &self.config;
        let strings: Vec<_> = (0..c.optim.batch_size).map(|_| self.dyck.complete(&mut self.data, &[], c.train_depth, train_mix(c))).collect();
        let loss = self.loss(&Batch::new(&self.device, &self.dyck, &strings, 0)?)?;
        self.learner.update(&loss)?;
        self.last_loss = Some(Tensor::from_shared(&loss, &[1]));
        Ok(())
    }

    /// The last minibatch's loss (the validation loss before the first step), validation, deep.
    async fn eval(&mut self, m: &mut Metrics) -> Result<()> {
        let val = self.loss(&self.val)?;
        m.scalar(MODEL, TRAIN, LOSS, self.last_loss.as_ref().unwrap_or(&val));
        m.scalar(MODEL, VAL, LOSS, &val);
        m.scalar(MODEL, OOD, LOSS, &self.loss(&self.ood)?);
        Ok(())
    }

    fn verdict(_: &Config, _: &History, figures: &[Figure]) -> Verdict {
        Backtrack::judge(figures)
    }

    async fn figures(&mut self) -> Result<Vec<Figure>> {
        let runs = self.sample_all().await?;
        let main = &runs[..4];
        Ok(vec![
            Figure::Lines(compare::accuracy_lines(main, self.config.budget)),
            Figure::Lines(compare::queries_against_b(&runs, &runs[1])),
            Figure::Table(compare::summary(main)),
            Figure::Table(self.samples(main)),
            Figure::Lines(uniform_generator(2 * self.config.k)),
        ])
    }
}

impl Backtrack {
    /// Within the query budget, backtracking completes more prompts validly than blockwise
    /// rejection and nucleus sampling.
    fn judge(figures: &[Figure]) -> Verdict {
        let Some(l) = Figure::lines(figures, compare::ACCURACY) else { return Verdict::new(false, "no sampler comparison to judge") };
        let [bt, tw, bw, nu] = [BACKTRACK, TOKENWISE, BLOCKWISE, NUCLEUS].map(|a| l.of(a).and_then(|y| y.last().copied()).unwrap_or(f64::NAN) as f32);
        let budget = l.x.last().copied().unwrap_or(0.0);
        let line = format!(
            "within {budget} queries per prompt: backtracking completes {} of the prompts validly, tokenwise rejection {}, blockwise {}, nucleus {}",
            percent(bt),
            percent(tw),
            percent(bw),
            percent(nu)
        );
        Verdict::new(bt > bw && bt > nu, line)
    }

    fn loss(&self, b: &Batch) -> Result<Tensor> {
        let m = &self.learner.model;
        Ok(m.logits_at(&m.hidden(&b.tokens)?, &b.rows)?.cross_entropy(&b.targets)?.0)
    }

    /// The samplers compared: the four of the claim, then the other B values of the sweep.
    fn samplers(&self) -> Vec<(Arm, String, Strategy)> {
        let c = &self.config;
        let tokenwise = |b| Strategy::Tokenwise { backtrack: b, max_backtracks: c.max_backtracks };
        let mut out = vec![
            (NUCLEUS, format!("nucleus p={}", c.top_p), Strategy::Blockwise { top_p: c.top_p }),
            (BLOCKWISE, "blockwise".into(), Strategy::Blockwise { top_p: 1.0 }),
            (TOKENWISE, "tokenwise".into(), tokenwise(0)),
            (BACKTRACK, format!("backtrack B={}", c.backtrack), tokenwise(c.backtrack)),
        ];
        for b in [1, 2, 4, 8].into_iter().filter(|&b| b != c.backtrack) {
            out.push((BACKTRACK, format!("backtrack B={b}"), tokenwise(b)));
        }
        out
    }

    /// Every sampler on every prompt, each chain with its own random stream.
    pub async fn sample_all(&self) -> Result<Vec<SamplerRun>> {
        let (c, seed) = (&self.config, self.config.run.seed);
        let mut r = Rng::stream(seed, "prompts");
        let prompts: Vec<Vec<u32>> = (0..c.prompts).map(|_| self.dyck.prompt(&mut r, c.prompt_depth, prompt_mix(c))).collect();
        let samplers = self.samplers();
        let mut chains: Vec<Chain> = samplers
            .iter()
            .flat_map(|(_, name, s)| {
                prompts.iter().enumerate().map(move |(i, p)| Chain::new(*s, p.clone(), c.budget, Rng::stream(seed, &format!("sample/{name}/{i}"))))
            })
            .collect();
        constrained::run(&self.learner.model, &self.device, BOS, &self.dyck, &mut chains).await?;
        let mut it = chains.into_iter();
        Ok(samplers.into_iter().map(|(arm, name, strategy)| SamplerRun { arm, name, strategy, chains: it.by_ref().take(c.prompts).collect() }).collect())
    }

    /// The first strings found per prompt; backtracking's erased tokens are struck through.
    fn samples(&self, runs: &[SamplerRun]) -> Table {
        let d = &self.dyck;
        let show = |c: &Chain| c.accepted.first().map_or("—".to_string(), |a| d.text(&a.completion));
        let rows = (0..runs[0].chains.len().min(8))
            .map(|i| {
                let bt = &runs[3].chains[i];
                let trace = bt.accepted.first().map_or("—".to_string(), |a| {
                    a.trace.iter().map(|s| if s.erased { format!("{}\u{0336}", d.render(s.token)) } else { d.render(s.token).to_string() }).collect()
                });
                let q = bt.accepted.first().map_or("—".to_string(), |a| a.queries.to_string());
                TableRow::new(vec![d.text(&bt.prompt), trace, q, show(&runs[2].chains[i]), show(&runs[1].chains[i])])
            })
            .collect();
        let columns = ["prompt", &format!("{} (erased tokens struck)", runs[3].name), "its queries", "tokenwise", "blockwise"];
        Table { id: "samples".into(), title: "First valid completion per prompt".into(), columns: columns.map(String::from).to_vec(), rows }
    }
}

/// The theory's simplest case: a uniform generator over Σ^L and one valid string.
/// Blockwise rejection needs L·|Σ|^L queries in expectation, tokenwise rejection with an exact
/// process verifier L·|Σ| (|Σ| draws per position).
fn uniform_generator(sigma: usize) -> Lines {
    let x: Vec<f64> = (1..=12).map(f64::from).collect();
    let s = sigma as f64;
    let series = vec![
        Series::named("blockwise rejection", BLOCKWISE, x.iter().map(|&l| l * libm::pow(s, l)).collect()),
        Series::named("tokenwise rejection", TOKENWISE, x.iter().map(|&l| l * s).collect()),
    ];
    let title = format!("Uniform generator over {sigma} tokens, one valid string: expected queries");
    Lines::new("uniform", title, "string length L", "expected queries", x, series).log_y()
}
