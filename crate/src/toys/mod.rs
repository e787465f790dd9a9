//! The toys and the one interface that drives them. The CLI and the browser's worker both call
//! `find(id)`, make a config with `accept` (the defaults plus `key=value` changes), `build` the
//! toy on a device, and call `step(n)`; nothing else drives a toy. A toy is one file holding an
//! `Experiment` (harness.rs) and one row of `REGISTRY`.

pub mod harness;

pub mod backtrack;
pub mod flipflop;
pub mod grokfast;
pub mod grokking;
pub mod hedgehog;
pub mod icl_linreg;
pub mod modular;
pub mod sharpening;
pub mod stablemax;

use std::future::Future;
use std::pin::Pin;

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::figures::Figure;
use crate::metrics::{MetricInfo, MetricRow, Verdict};
use crate::schema::{self, Accepted, ParamSpec, Schema};
use crate::tensor::Device;
pub use harness::{About, Experiment, Paper, Theme};

/// A future that need not be `Send`: wgpu's browser types are not.
pub type LocalFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// A toy being trained, as the CLI and the browser see it (implemented by `harness::Harness`).
pub trait Toy {
    /// The metrics of each row, in order: names, arms, labels, units, scales.
    fn metrics(&self) -> &[MetricInfo];
    /// Steps between metric rows.
    fn eval_every(&self) -> u64;
    /// Training steps taken so far.
    fn steps_done(&self) -> u64;
    /// Advances `n` steps; returns the metric rows of the evaluation points passed, including
    /// step 0 on the first call. Reads back from the GPU once, asynchronously.
    fn step(&mut self, n: u64) -> LocalFuture<'_, Result<Vec<MetricRow>>>;
    /// The toy's figures at this point of training (`figures.rs`), computed once per step count;
    /// they may read back from the device. The page asks every few seconds, the CLI at the end.
    fn figures(&mut self) -> LocalFuture<'_, Result<Vec<Figure>>>;
    /// Whether the rows so far show the toy's claim, with one line saying what happened.
    fn verdict(&mut self) -> LocalFuture<'_, Result<Verdict>>;
}

/// A toy as the page sees it: what it is, its keys and their defaults.
#[derive(Clone, Debug, serde::Serialize)]
#[cfg_attr(feature = "cli", derive(ts_rs::TS))]
pub struct ToyInfo {
    pub id: &'static str,
    pub title: &'static str,
    pub claim: &'static str,
    pub theme: &'static str,
    pub papers: &'static [Paper],
    pub params: Vec<ParamSpec>,
    #[cfg_attr(feature = "cli", ts(type = "Record<string, number | string>"))]
    pub defaults: Map<String, Value>,
    pub default_steps: u64,
}

/// Builds a toy from a checked config on a device (the harness's `build`).
pub type Build = fn(Map<String, Value>, Device) -> LocalFuture<'static, Result<Box<dyn Toy>>>;

pub struct ToyEntry {
    pub about: About,
    pub params: fn() -> Vec<ParamSpec>,
    /// The default config, every key present, as a JSON object.
    pub defaults: fn() -> Map<String, Value>,
    /// The typed config's cross-field rules.
    pub validate: fn(&Map<String, Value>) -> Result<()>,
    pub build: Build,
}

impl ToyEntry {
    pub const fn of<E: Experiment>() -> ToyEntry {
        ToyEntry {
            about: E::ABOUT,
            params: <E::Config as Schema>::params,
            defaults: harness::defaults::<E>,
            validate: harness::validate::<E>,
            build: harness::build::<E>,
        }
    }

    pub fn info(&self) -> ToyInfo {
        let a = &self.about;
        ToyInfo {
            id: a.id,
            title: a.title,
            claim: a.claim,
            theme: a.theme.as_str(),
            papers: a.papers,
            params: (self.params)(),
            defaults: (self.defaults)(),
            default_steps: a.default_steps,
        }
    }

    pub fn id(&self) -> &'static str {
        self.about.id
    }

    /// `changes` applied to `base` (the defaults when None), each checked; see `schema::accept`.
    pub fn accept(&self, base: Option<Map<String, Value>>, changes: &Map<String, Value>, snap: Option<(&str, i64)>) -> Accepted {
        let base = base.filter(|b| self.check(b).is_ok()).unwrap_or_else(self.defaults);
        schema::accept(&(self.params)(), self.validate, base, changes, snap)
    }

    /// The defaults with every change applied, or the first change's error.
    pub fn config(&self, changes: &Map<String, Value>) -> Result<Map<String, Value>> {
        let a = self.accept(None, changes, None);
        match a.rejected.into_iter().next() {
            Some(r) => Err(Error::msg(r.message)),
            None => Ok(a.config),
        }
    }

    /// The defaults with `key=value` pairs typed by a person applied (the CLI's `--set`).
    pub fn config_from_pairs(&self, pairs: &[(String, String)]) -> Result<Map<String, Value>> {
        self.config(&pairs.iter().map(|(k, v)| (k.clone(), Value::from(v.as_str()))).collect())
    }

    /// Whether `config` is a complete config of this toy that runs.
    pub fn check(&self, config: &Map<String, Value>) -> Result<()> {
        let params = (self.params)();
        for p in &params {
            match config.get(p.name) {
                Some(v) => p.check(v)?,
                None => return Err(Error::msg(format!("config: missing key '{}'", p.name))),
            }
        }
        if let Some(k) = config.keys().find(|k| schema::find(&params, k).is_err()) {
            return Err(schema::find(&params, k).unwrap_err());
        }
        (self.validate)(config)
    }
}

pub const REGISTRY: &[ToyEntry] = &[
    ToyEntry::of::<grokking::Grokking>(),
    ToyEntry::of::<grokfast::Grokfast>(),
    ToyEntry::of::<flipflop::FlipFlop>(),
    ToyEntry::of::<icl_linreg::IclLinreg>(),
    ToyEntry::of::<stablemax::StableMax>(),
    ToyEntry::of::<backtrack::Backtrack>(),
    ToyEntry::of::<sharpening::Sharpening>(),
    ToyEntry::of::<hedgehog::Hedgehog>(),
];

/// The toy with this id, or an error listing the known ones.
pub fn find(id: &str) -> Result<&'static ToyEntry> {
    REGISTRY.iter().find(|t| t.id() == id).ok_or_else(|| {
        let ids: Vec<_> = REGISTRY.iter().map(|t| t.id()).collect();
        Error::msg(format!("unknown toy '{id}' (known: {})", ids.join(", ")))
    })
}
