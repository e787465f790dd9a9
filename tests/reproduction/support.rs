//! What the reproduction, smoke and training tests share: building a toy through the registry
//! exactly as the CLI and the page do, and reading its rows and figures by name.

use papertoys::Device;
use papertoys::backend::gpu::Gpu;
use papertoys::figures::{Figure, Lines, Table};
use papertoys::metrics::History;
use papertoys::toys::{self, Toy};

/// The GPU device for the GPU tests; fails, never skips, when there is no adapter: a missing
/// driver must not pass as green.
pub fn gpu() -> Device {
    Device::Gpu(pollster::block_on(Gpu::new()).unwrap_or_else(|e| panic!("no GPU adapter for the GPU tests: {e}")))
}

/// `toy` with its defaults changed by `set` (as `--set key=value` would), on `device`.
pub fn build_on(device: &Device, toy: &str, set: &[(&str, &str)]) -> Box<dyn Toy> {
    let entry = toys::find(toy).unwrap();
    let pairs: Vec<(String, String)> = set.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let config = entry.config_from_pairs(&pairs).unwrap_or_else(|e| panic!("{toy} {set:?}: {e}"));
    pollster::block_on((entry.build)(config, device.clone())).unwrap_or_else(|e| panic!("{toy} {set:?}: {e}"))
}

pub fn build(toy: &str, set: &[(&str, &str)]) -> Box<dyn Toy> {
    build_on(&Device::Cpu, toy, set)
}

pub fn step(toy: &mut Box<dyn Toy>, n: u64) -> Rows {
    Rows(History(pollster::block_on(toy.step(n)).unwrap()))
}

pub fn figures(toy: &mut Box<dyn Toy>) -> Vec<Figure> {
    pollster::block_on(toy.figures()).unwrap()
}

/// The seeds every claim is checked on: a claim must not hold on one lucky seed only.
pub const SEEDS: [&str; 3] = ["0", "1", "2"];

/// `steps` steps of `toy` on the CPU: its rows.
pub fn run(toy: &str, set: &[(&str, &str)], steps: u64) -> Rows {
    step(&mut build(toy, set), steps)
}

/// A run's metric rows, read by name (`History`), where asking for an unknown name fails.
pub struct Rows(pub History);

impl std::ops::Deref for Rows {
    type Target = History;
    fn deref(&self) -> &History {
        &self.0
    }
}

impl Rows {
    /// The first evaluated step at which `name` reaches `level`; panics on an unknown name, which
    /// would otherwise read as "never".
    pub fn first_at(&self, name: &str, level: f32) -> Option<u64> {
        assert!(self.0.is_empty() || self.0.has(name), "no metric {name} in {:?}", self.0.0.first().map(|r| &r.names));
        self.0.first_at(name, level)
    }
}

pub fn lines<'a>(figs: &'a [Figure], id: &str) -> &'a Lines {
    figs.iter().find_map(|f| if let Figure::Lines(l) = f { (l.id == id).then_some(l) } else { None }).unwrap_or_else(|| panic!("no Lines figure '{id}'"))
}

pub fn table<'a>(figs: &'a [Figure], id: &str) -> &'a Table {
    figs.iter().find_map(|f| if let Figure::Table(t) = f { (t.id == id).then_some(t) } else { None }).unwrap_or_else(|| panic!("no Table figure '{id}'"))
}

/// The series of `l` whose name starts with `prefix`.
pub fn series<'a>(l: &'a Lines, prefix: &str) -> &'a [f64] {
    &l.series.iter().find(|s| s.name.starts_with(prefix)).unwrap_or_else(|| panic!("no series '{prefix}' in '{}'", l.id)).y
}

pub fn text(figs: &[Figure]) -> String {
    figs.iter().map(Figure::to_text).collect::<Vec<_>>().join("\n\n")
}
