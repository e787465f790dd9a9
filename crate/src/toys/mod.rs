//! The toys and the one interface that drives them. The CLI and the browser's worker both call
//! `find(id)`, build a config from the defaults plus `key=value` overrides, `build` the toy on a
//! device, and call `step(n)`; nothing else drives a toy. A new toy is one file and one row of
//! `REGISTRY`.

pub mod backtrack;
pub mod flipflop;
pub mod grokfast;
pub mod grokking;
pub mod hedgehog;
pub mod icl_linreg;
pub mod params;
pub mod sharpening;
pub mod stablemax;

use std::future::Future;
use std::pin::Pin;

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::figures::Figure;
use crate::metrics::MetricRow;
use crate::tensor::{Device, Tensor, read_all};
pub use params::ParamSpec;

/// A future that need not be `Send`: wgpu's browser types are not.
pub type LocalFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

pub trait Toy {
    /// Names of the values in each metric row, `split/what` (`train/loss`, `val/acc`).
    fn metric_names(&self) -> &'static [&'static str];
    /// Training steps taken so far.
    fn steps_done(&self) -> u64;
    /// Advances `n` steps; returns the metric rows of the evaluation points passed, including
    /// step 0 on the first call. Reads back from the GPU only for those rows, asynchronously.
    fn step(&mut self, n: u64) -> LocalFuture<'_, Result<Vec<MetricRow>>>;
    /// The toy's figures at this point of training (`figures.rs`), computed on demand; they may
    /// read back from the device. The page asks every few seconds, the CLI at the end of a run.
    fn figures(&mut self) -> LocalFuture<'_, Result<Vec<Figure>>> {
        Box::pin(async { Ok(Vec::new()) })
    }
}

pub struct ToyEntry {
    pub id: &'static str,
    pub title: &'static str,
    /// The claim in one line, for `papertoys list`.
    pub claim: &'static str,
    pub paper: &'static str,
    pub paper_url: &'static str,
    /// The config keys, in groups (a variant toy lists its base toy's table, then its own).
    pub params: &'static [&'static [ParamSpec]],
    /// Steps a run takes when none are asked for (enough to show the claim).
    pub default_steps: u64,
    /// The default config, every key present, as a JSON object.
    pub defaults: fn() -> Map<String, Value>,
    /// Cross-field checks beyond each key's own range (e.g. heads divides d_model).
    pub validate: fn(&Map<String, Value>) -> Result<()>,
    pub build: fn(&Map<String, Value>, &Device) -> Result<Box<dyn Toy>>,
}

pub const REGISTRY: &[ToyEntry] =
    &[grokking::ENTRY, grokfast::ENTRY, flipflop::ENTRY, icl_linreg::ENTRY, stablemax::ENTRY, backtrack::ENTRY, sharpening::ENTRY, hedgehog::ENTRY];

/// The toy with this id, or an error listing the known ones.
pub fn find(id: &str) -> Result<&'static ToyEntry> {
    REGISTRY.iter().find(|t| t.id == id).ok_or_else(|| {
        let ids: Vec<_> = REGISTRY.iter().map(|t| t.id).collect();
        Error::msg(format!("unknown toy '{id}' (known: {})", ids.join(", ")))
    })
}

impl ToyEntry {
    /// Every config key of this toy, in order.
    pub fn params(&self) -> impl Iterator<Item = &'static ParamSpec> + Clone {
        self.params.iter().flat_map(|group| group.iter())
    }

    /// The defaults with `overrides` (key, text) applied, every value range-checked.
    pub fn config_from_pairs(&self, overrides: &[(String, String)]) -> Result<Map<String, Value>> {
        let mut config = (self.defaults)();
        for (k, text) in overrides {
            let v = params::find(self.params(), k)?.parse(text)?;
            config.insert(k.clone(), v);
        }
        (self.validate)(&config)?;
        Ok(config)
    }

    /// The defaults with the keys of a JSON object applied, every value checked.
    pub fn config_from_json(&self, overrides: &Map<String, Value>) -> Result<Map<String, Value>> {
        params::check_all(self.params(), overrides)?;
        let mut config = (self.defaults)();
        config.extend(overrides.clone());
        (self.validate)(&config)?;
        Ok(config)
    }
}

/// Deserialises a checked config map into a toy's typed config.
pub(crate) fn typed<T: serde::de::DeserializeOwned>(config: &Map<String, Value>) -> Result<T> {
    serde_json::from_value(Value::Object(config.clone())).map_err(|e| Error::msg(format!("config: {e}")))
}

/// Serialises a toy's typed config (for `defaults`).
pub(crate) fn untyped<T: serde::Serialize>(config: &T) -> Map<String, Value> {
    match serde_json::to_value(config) {
        Ok(Value::Object(m)) => m,
        _ => unreachable!("configs are structs"),
    }
}

/// Metrics queued on the device at evaluation points during `step(n)`, read back together at
/// the end (one readback per call, asynchronously, as the browser requires).
#[derive(Default)]
pub(crate) struct EvalQueue(Vec<(u64, Vec<Tensor>)>);

impl EvalQueue {
    pub fn push(&mut self, step: u64, scalars: Vec<Tensor>) {
        self.0.push((step, scalars));
    }

    /// (step, the queued scalars' values) per evaluation point, in order. With nothing queued it
    /// still waits for the device to finish the steps, so that `step(n)` never returns early.
    pub async fn read(self, device: &Device) -> Result<Vec<(u64, Vec<f32>)>> {
        if let (true, Device::Gpu(g)) = (self.0.is_empty(), device) {
            g.finish().await.map_err(crate::Error::msg)?;
        }
        let all: Vec<&Tensor> = self.0.iter().flat_map(|(_, ts)| ts.iter()).collect();
        let mut values = read_all(&all).await?.into_iter().map(|v| v[0]);
        Ok(self.0.iter().map(|(step, ts)| (*step, values.by_ref().take(ts.len()).collect())).collect())
    }
}
