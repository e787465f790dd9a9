//! Metrics: what a toy measures, recorded by name, and the run digest.
//!
//! A metric is named `arm/split/quantity` (`stablemax/val/acc`): the arm is the model or method
//! it belongs to (declared with a display name, ⊥AdamW for `orthograd`), the split the data it is
//! measured on, the quantity what is measured, with a label, a unit and a scale. A toy records
//! its metrics into `Metrics` at every evaluation point; values on the device are read back
//! later, all together (`Pending`). The page's charts, the CSV, the CLI and the tests all read
//! the same `MetricInfo`.
//!
//! The digest names a run's results: the first 16 hex digits of SHA-256 over every row, each
//! encoded as the step (u64, little-endian) followed by its values (f32 bits, little-endian),
//! in order. Timing never enters a row, so a CPU run's digest is the same on every machine and
//! in the browser, which computes it with this same code compiled to wasm.

use std::rc::Rc;

use serde::Serialize;
use sha2::{Digest as _, Sha256};

use crate::error::{Error, Result};
use crate::tensor::{Tensor, read_all};

/// How a quantity's axis reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "cli", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Scale {
    Linear,
    /// Positive values spanning decades (losses, error rates near zero).
    Log,
    /// A share in [0, 1] (accuracy, the fraction of examples with some property).
    Share,
}

/// What a metric measures: `acc`, "accuracy", no unit, a share.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "cli", derive(ts_rs::TS))]
pub struct Quantity {
    pub id: &'static str,
    pub label: &'static str,
    pub unit: &'static str,
    pub scale: Scale,
}

/// A model or method of a toy (`orthograd`, "⊥AdamW"): its curves share a colour everywhere.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "cli", derive(ts_rs::TS))]
pub struct Arm {
    pub id: &'static str,
    pub label: &'static str,
}

/// The data a metric is measured on (`val`, "validation"); `NONE` for properties of the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "cli", derive(ts_rs::TS))]
pub struct Split {
    pub id: &'static str,
    pub label: &'static str,
}

impl Arm {
    pub const fn new(id: &'static str, label: &'static str) -> Arm {
        Arm { id, label }
    }
}

impl Split {
    pub const fn new(id: &'static str, label: &'static str) -> Split {
        Split { id, label }
    }
}

impl Quantity {
    pub const fn new(id: &'static str, label: &'static str, unit: &'static str, scale: Scale) -> Quantity {
        Quantity { id, label, unit, scale }
    }
}

pub const TRAIN: Split = Split::new("train", "train");
pub const VAL: Split = Split::new("val", "validation");
pub const TEST: Split = Split::new("test", "test");
/// For what belongs to the model rather than to data (its weight norm).
pub const NONE: Split = Split::new("", "");

pub const LOSS: Quantity = Quantity::new("loss", "loss", "nats", Scale::Log);
pub const ACC: Quantity = Quantity::new("acc", "accuracy", "", Scale::Share);
pub const WEIGHT_NORM: Quantity = Quantity::new("weight_norm", "weight norm ‖θ‖₂", "", Scale::Linear);

/// One metric of a toy's rows.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "cli", derive(ts_rs::TS))]
pub struct MetricInfo {
    /// `arm/split/quantity`, or `arm/quantity` without a split.
    pub name: String,
    pub arm: Arm,
    pub split: Split,
    pub quantity: Quantity,
}

impl MetricInfo {
    pub fn new(arm: Arm, split: Split, quantity: Quantity) -> MetricInfo {
        MetricInfo { name: name(arm, split, quantity), arm, split, quantity }
    }
}

/// A metric's name: `arm/split/quantity`, or `arm/quantity` without a split.
pub fn name(arm: Arm, split: Split, quantity: Quantity) -> String {
    if split.id.is_empty() { format!("{}/{}", arm.id, quantity.id) } else { format!("{}/{}/{}", arm.id, split.id, quantity.id) }
}

/// `x` as a percentage for verdict lines: whole percents, and two decimals below 1% so that a
/// rare error does not read as none.
pub fn percent(x: f32) -> String {
    if x > 0.0 && x < 0.01 { format!("{:.2}%", 100.0 * x) } else { format!("{:.0}%", 100.0 * x) }
}

/// A value recorded at an evaluation point, read back later with every other one.
/// A value computed on the host from the read-back values of some tensors.
type FromValues = Box<dyn FnOnce(&[Vec<f32>]) -> f32>;

enum Pending {
    Host(f32),
    /// `f` of the read-back values of `tensors` (detached copies, so graphs are freed now).
    Device {
        tensors: Vec<Tensor>,
        f: FromValues,
    },
}

/// The metrics of one evaluation point, recorded by name.
#[derive(Default)]
pub struct Metrics {
    infos: Vec<MetricInfo>,
    values: Vec<Pending>,
}

impl Metrics {
    /// A value known on the host.
    pub fn value(&mut self, arm: Arm, split: Split, q: Quantity, v: f32) {
        self.push(arm, split, q, Pending::Host(v));
    }

    /// The one value of a (1) device tensor.
    pub fn scalar(&mut self, arm: Arm, split: Split, q: Quantity, t: &Tensor) {
        self.scalar_with(arm, split, q, t, |x| x);
    }

    /// `f` of the values of `tensors`, computed on the host once they are read back (a sum of
    /// per-parameter norms, a square root, the entropy of attention weights).
    /// A one-element tensor's value through `f` on the host (√, a division by a count).
    pub fn scalar_with(&mut self, arm: Arm, split: Split, q: Quantity, t: &Tensor, f: impl FnOnce(f32) -> f32 + 'static) {
        self.derived(arm, split, q, std::slice::from_ref(t), |v| f(v[0][0]));
    }

    pub fn derived(&mut self, arm: Arm, split: Split, q: Quantity, tensors: &[Tensor], f: impl FnOnce(&[Vec<f32>]) -> f32 + 'static) {
        let tensors = tensors.iter().map(|t| Tensor::from_shared(t, t.shape())).collect();
        self.push(arm, split, q, Pending::Device { tensors, f: Box::new(f) });
    }

    fn push(&mut self, arm: Arm, split: Split, q: Quantity, v: Pending) {
        self.infos.push(MetricInfo::new(arm, split, q));
        self.values.push(v);
    }

    pub fn infos(&self) -> &[MetricInfo] {
        &self.infos
    }
}

/// Evaluation points recorded during one `step(n)`, read back together at its end: one
/// asynchronous readback per call, as the browser requires.
pub(crate) struct EvalQueue {
    infos: Rc<[MetricInfo]>,
    names: Rc<[String]>,
    points: Vec<(u64, Vec<Pending>)>,
}

impl EvalQueue {
    /// A queue for rows of the metrics `first` records (the step-0 evaluation), holding it.
    pub fn new(first: Metrics) -> EvalQueue {
        let infos: Rc<[MetricInfo]> = first.infos.into();
        let names = infos.iter().map(|m| m.name.clone()).collect();
        EvalQueue { infos, names, points: vec![(0, first.values)] }
    }

    pub fn infos(&self) -> &[MetricInfo] {
        &self.infos
    }

    /// Queues the metrics of step `step`; they must be the very metrics of step 0, in order.
    pub fn push(&mut self, step: u64, m: Metrics) -> Result<()> {
        if m.infos.len() != self.infos.len() || m.infos.iter().zip(self.infos.iter()).any(|(a, b)| a.name != b.name) {
            let names = |i: &[MetricInfo]| i.iter().map(|m| m.name.as_str()).collect::<Vec<_>>().join(", ");
            return Err(Error::msg(format!("step {step} recorded [{}], step 0 recorded [{}]", names(&m.infos), names(&self.infos))));
        }
        self.points.push((step, m.values));
        Ok(())
    }

    /// The rows queued so far, in order, read back in one go.
    pub async fn read(&mut self) -> Result<Vec<MetricRow>> {
        let points = std::mem::take(&mut self.points);
        let tensors: Vec<&Tensor> = points
            .iter()
            .flat_map(|(_, vs)| vs.iter())
            .flat_map(|v| match v {
                Pending::Host(_) => [].iter(),
                Pending::Device { tensors, .. } => tensors.iter(),
            })
            .collect();
        let mut values = read_all(&tensors).await?.into_iter();
        let mut rows = Vec::with_capacity(points.len());
        for (step, pending) in points {
            let values = pending
                .into_iter()
                .map(|p| match p {
                    Pending::Host(v) => v,
                    Pending::Device { tensors, f } => f(&values.by_ref().take(tensors.len()).collect::<Vec<_>>()),
                })
                .collect();
            rows.push(MetricRow { step, values, names: self.names.clone() });
        }
        Ok(rows)
    }
}

/// The values of one evaluation point, in the order of the toy's `MetricInfo`s.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "cli", derive(ts_rs::TS))]
pub struct MetricRow {
    pub step: u64,
    pub values: Vec<f32>,
    #[serde(skip)]
    pub names: Rc<[String]>,
}

impl MetricRow {
    /// The value of the metric `name` (`stablemax/val/acc`).
    pub fn get(&self, name: &str) -> Option<f32> {
        self.names.iter().position(|n| n == name).map(|i| self.values[i])
    }
}

/// A run's metric rows so far, read by name: what a toy's verdict and the tests look at.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History(pub Vec<MetricRow>);

impl std::ops::Deref for History {
    type Target = [MetricRow];
    fn deref(&self) -> &[MetricRow] {
        &self.0
    }
}

impl<'a> IntoIterator for &'a History {
    type Item = &'a MetricRow;
    type IntoIter = std::slice::Iter<'a, MetricRow>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl History {
    /// Every row's value of `name` (NaN where a row lacks it).
    pub fn series(&self, name: &str) -> Vec<f32> {
        self.0.iter().map(|r| r.get(name).unwrap_or(f32::NAN)).collect()
    }
    pub fn last(&self, name: &str) -> f32 {
        self.0.last().and_then(|r| r.get(name)).unwrap_or(f32::NAN)
    }
    pub fn last_step(&self) -> u64 {
        self.0.last().map_or(0, |r| r.step)
    }
    /// The value of `name` at `step`, NaN when no row was recorded there.
    pub fn at(&self, step: u64, name: &str) -> f32 {
        self.0.iter().find(|r| r.step == step).and_then(|r| r.get(name)).unwrap_or(f32::NAN)
    }
    /// The largest value of `name`; NaN when any is NaN or the name is unknown.
    /// The value of `name` at the last row at or before `step`.
    pub fn at_or_before(&self, step: u64, name: &str) -> f32 {
        self.0.iter().rev().find(|r| r.step <= step).and_then(|r| r.get(name)).unwrap_or(f32::NAN)
    }
    pub fn max(&self, name: &str) -> f32 {
        self.series(name).into_iter().fold(f32::NEG_INFINITY, |m, v| if v.is_nan() || m.is_nan() { f32::NAN } else { m.max(v) })
    }
    pub fn has(&self, name: &str) -> bool {
        self.0.first().is_some_and(|r| r.get(name).is_some())
    }
    /// The mean of `name` over the rows from `step` on.
    pub fn mean_from(&self, step: u64, name: &str) -> f32 {
        let v: Vec<f32> = self.0.iter().filter(|r| r.step >= step).filter_map(|r| r.get(name)).collect();
        v.iter().sum::<f32>() / v.len() as f32
    }
    /// The first evaluated step at which `name` reaches `level`.
    pub fn first_at(&self, name: &str, level: f32) -> Option<u64> {
        self.0.iter().find(|r| r.get(name).is_some_and(|v| v >= level)).map(|r| r.step)
    }
    pub fn digest(&self) -> String {
        let mut d = Digest::default();
        self.0.iter().for_each(|r| d.update(r));
        d.hex()
    }
    /// The rows as a table of the metrics `names`, for messages.
    pub fn show(&self, names: &[&str]) -> String {
        let head = format!("{:>6}  {}", "step", names.join("  "));
        let row = |r: &MetricRow| names.iter().map(|n| format!("{:.4}", r.get(n).unwrap_or(f32::NAN))).collect::<Vec<_>>().join("  ");
        std::iter::once(head).chain(self.0.iter().map(|r| format!("{:>6}  {}", r.step, row(r)))).collect::<Vec<_>>().join("\n")
    }
}

/// Whether a run showed its toy's claim, in one line for the page's summary and the CLI.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "cli", derive(ts_rs::TS))]
pub struct Verdict {
    pub shown: bool,
    pub line: String,
}

impl Verdict {
    pub fn new(shown: bool, line: impl Into<String>) -> Verdict {
        Verdict { shown, line: line.into() }
    }
}

#[derive(Clone, Default)]
pub struct Digest(Sha256);

impl Digest {
    pub fn update(&mut self, row: &MetricRow) {
        self.0.update(row.step.to_le_bytes());
        for v in &row.values {
            self.0.update(v.to_bits().to_le_bytes());
        }
    }

    pub fn hex(&self) -> String {
        self.0.clone().finalize()[..8].iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// A row as one line of JSON, {"step": s, "<name>": value, …}, with each value in its shortest
/// f32 form (0.1, not 0.10000000149011612); non-finite values become null.
pub fn row_json(row: &MetricRow) -> String {
    let mut s = format!("{{\"step\":{}", row.step);
    for (n, v) in row.names.iter().zip(&row.values) {
        let v = if v.is_finite() { serde_json::to_string(v).expect("finite f32") } else { "null".into() };
        s += &format!(",{}:{v}", serde_json::to_string(n).expect("str"));
    }
    s + "}"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_depends_on_every_bit() {
        let row = |v: f32| MetricRow { step: 10, values: vec![0.5, v], names: Rc::from(vec!["a".to_string(), "b".to_string()]) };
        let (mut a, mut b, mut c) = (Digest::default(), Digest::default(), Digest::default());
        a.update(&row(1.0));
        b.update(&row(1.0));
        c.update(&row(f32::from_bits(1.0f32.to_bits() + 1)));
        assert_eq!(a.hex(), b.hex());
        assert_ne!(a.hex(), c.hex());
        assert_eq!(a.hex().len(), 16);
        assert_eq!(row(1.0).get("b"), Some(1.0));
        assert_eq!(row(1.0).get("c"), None);
    }

    #[test]
    fn names_join_arm_split_and_quantity() {
        let arm = Arm::new("orthograd", "⊥AdamW");
        assert_eq!(MetricInfo::new(arm, VAL, ACC).name, "orthograd/val/acc");
        assert_eq!(MetricInfo::new(arm, NONE, WEIGHT_NORM).name, "orthograd/weight_norm");
    }
}
