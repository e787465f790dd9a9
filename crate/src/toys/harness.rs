//! The harness: the one implementation of `Toy`. A toy writes an `Experiment` (how to build it,
//! one training step, one evaluation that records metrics by name, its figures); the harness
//! owns the loop around it: the step-0 row, an evaluation every `eval_every` steps, one
//! asynchronous readback per `step(n)`, the check that every evaluation records the same
//! metrics, and figures memoised per step count. The browser's worker and the CLI drive every
//! toy through it, with the same config and the same rows.

use serde_json::{Map, Value};

use super::{LocalFuture, Toy};
use crate::error::{Error, Result};
use crate::figures::Figure;
use crate::metrics::{EvalQueue, History, MetricInfo, MetricRow, Metrics, Verdict};
use crate::schema::{self, Run, Schema};
use crate::tensor::Device;

/// What a toy is, for the registry, the CLI's `list` and the page.
pub struct About {
    pub id: &'static str,
    pub title: &'static str,
    /// The claim in one line.
    pub claim: &'static str,
    pub theme: Theme,
    /// The paper reproduced first, then any others the toy draws on.
    pub papers: &'static [Paper],
    /// Steps a run takes when none are asked for (enough to show the claim).
    pub default_steps: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "cli", derive(ts_rs::TS))]
pub struct Paper {
    pub title: &'static str,
    pub authors: &'static str,
    pub year: u16,
    pub url: &'static str,
}

crate::choice! {
    /// The gallery's groups.
    pub enum Theme {
        Generalization = "generalization and optimization",
        Attention = "attention and in-context learning",
        Inference = "inference-time algorithms",
        DataSelection = "data selection and active learning",
        Decisions = "decisions, bandits and RL",
        Alignment = "alignment and rewards",
    }
}

/// A toy's experiment: the part that is the paper's, with no loop of its own.
///
/// `train_step` and `eval` may await (a toy that samples from its model reads it back); most do
/// not. Their futures run on one thread (the browser has one per worker), so they need not be
/// `Send`.
#[allow(async_fn_in_trait)]
pub trait Experiment: Sized + 'static {
    type Config: Schema;
    const ABOUT: About;

    /// Cross-field rules beyond each key's own range (heads divides d_model, p is prime); the
    /// message names the key to change.
    fn validate(config: &Self::Config) -> Result<()> {
        let _ = config;
        Ok(())
    }

    /// Everything random comes from streams of the config's seed (`rng::Rng::stream`).
    fn build(config: Self::Config, device: &Device) -> Result<Self>;

    /// One training step (one round, for a toy that trains no network); `step` steps are done.
    async fn train_step(&mut self, step: u64) -> Result<()>;

    /// Records the metrics of the current state by name: every call the same ones, in the same
    /// order. Device values are read back later, together.
    async fn eval(&mut self, m: &mut Metrics) -> Result<()>;

    /// Sees the rows as they are read back (a toy that reports when a metric first crossed a
    /// level keeps that here).
    fn observe(&mut self, rows: &[MetricRow]) {
        let _ = rows;
    }

    /// Pictures of the current state (`figures.rs`), computed on demand; may read back.
    async fn figures(&mut self) -> Result<Vec<Figure>> {
        Ok(Vec::new())
    }

    /// Whether the run so far shows `ABOUT.claim`, judged from its rows and figures, with one
    /// line that says what happened (the page's summary, `papertoys reproduce`'s count).
    fn verdict(config: &Self::Config, history: &History, figures: &[Figure]) -> Verdict;
}

pub struct Harness<E: Experiment> {
    exp: E,
    config: E::Config,
    history: History,
    device: Device,
    eval_every: u64,
    steps: u64,
    queue: EvalQueue,
    figures: Option<(u64, Vec<Figure>)>,
}

impl<E: Experiment> Harness<E> {
    /// Builds the experiment and records its step-0 evaluation (read back by the first `step`).
    pub async fn new(config: &Map<String, Value>, device: Device) -> Result<Harness<E>> {
        let run: Run = schema::typed(config)?;
        let typed: E::Config = schema::typed(config)?;
        let mut exp = E::build(typed.clone(), &device)?;
        let mut first = Metrics::default();
        exp.eval(&mut first).await?;
        if first.infos().is_empty() {
            return Err(Error::msg(format!("{}: the evaluation records no metric", E::ABOUT.id)));
        }
        Ok(Harness {
            exp,
            config: typed,
            history: History::default(),
            device,
            eval_every: run.eval_every.max(1),
            steps: 0,
            queue: EvalQueue::new(first),
            figures: None,
        })
    }

    async fn advance(&mut self, n: u64) -> Result<Vec<MetricRow>> {
        for _ in 0..n {
            self.exp.train_step(self.steps).await?;
            self.device.flush();
            self.steps += 1;
            if self.steps.is_multiple_of(self.eval_every) {
                let mut m = Metrics::default();
                self.exp.eval(&mut m).await?;
                self.queue.push(self.steps, m)?;
            }
        }
        let rows = self.queue.read().await?;
        self.exp.observe(&rows);
        self.history.0.extend(rows.iter().cloned());
        // With no row to read, still wait for the device, so that `step(n)` never returns early.
        if let (true, Device::Gpu(g)) = (rows.is_empty(), &self.device) {
            g.finish().await.map_err(Error::msg)?;
        }
        Ok(rows)
    }

    async fn memoised_figures(&mut self) -> Result<Vec<Figure>> {
        match &self.figures {
            Some((at, f)) if *at == self.steps => Ok(f.clone()),
            _ => {
                let f = self.exp.figures().await?;
                self.figures = Some((self.steps, f.clone()));
                Ok(f)
            }
        }
    }
}

impl<E: Experiment> Toy for Harness<E> {
    fn verdict(&mut self) -> LocalFuture<'_, Result<Verdict>> {
        Box::pin(async move {
            let figures = self.memoised_figures().await?;
            Ok(E::verdict(&self.config, &self.history, &figures))
        })
    }
    fn metrics(&self) -> &[MetricInfo] {
        self.queue.infos()
    }
    fn eval_every(&self) -> u64 {
        self.eval_every
    }
    fn steps_done(&self) -> u64 {
        self.steps
    }
    fn step(&mut self, n: u64) -> LocalFuture<'_, Result<Vec<MetricRow>>> {
        Box::pin(self.advance(n))
    }
    fn figures(&mut self) -> LocalFuture<'_, Result<Vec<Figure>>> {
        Box::pin(self.memoised_figures())
    }
}

/// The default config of `E`, every key present.
pub(crate) fn defaults<E: Experiment>() -> Map<String, Value> {
    schema::untyped(&E::Config::default())
}

/// The config map of `E` checked as a whole: typed, then its cross-field rules.
pub(crate) fn validate<E: Experiment>(config: &Map<String, Value>) -> Result<()> {
    E::validate(&schema::typed(config)?)
}

pub(crate) fn build<E: Experiment>(config: Map<String, Value>, device: Device) -> LocalFuture<'static, Result<Box<dyn Toy>>> {
    Box::pin(async move { Ok(Box::new(Harness::<E>::new(&config, device).await?) as Box<dyn Toy>) })
}
