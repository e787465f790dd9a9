//! How constrained samplers compare on the same prompts (Botta et al. 2025, §5): accuracy within
//! a query budget, generator queries per valid string, and how many distinct valid strings they
//! find. Each `SamplerRun` is one strategy's chains, one per prompt (`constrained::run`).

use std::collections::BTreeSet;

use super::constrained::{Chain, Strategy};
use crate::figures::{Lines, Series, Table, TableRow};
use crate::metrics::Arm;

pub struct SamplerRun {
    /// The arm it is drawn as; the runs of a sweep share their strategy's arm.
    pub arm: Arm,
    pub name: String,
    pub strategy: Strategy,
    pub chains: Vec<Chain>,
}

impl SamplerRun {
    /// Generator queries spent per valid string found, over all prompts (NaN if none was found).
    pub fn queries_per_valid(&self) -> f64 {
        let found: usize = self.chains.iter().map(|c| c.accepted.len()).sum();
        let spent: u64 = self.chains.iter().map(|c| c.queries).sum();
        if found == 0 { f64::NAN } else { spent as f64 / found as f64 }
    }

    /// The share of prompts with a valid completion found within `q` queries.
    pub fn accuracy_within(&self, q: f64) -> f64 {
        self.chains.iter().filter(|c| c.accepted.first().is_some_and(|a| a.queries as f64 <= q)).count() as f64 / self.chains.len() as f64
    }
}

pub const ACCURACY: &str = "accuracy";

/// Accuracy against the query budget, on a √2 grid up to `budget`.
pub fn accuracy_lines(runs: &[SamplerRun], budget: u64) -> Lines {
    let mut x: Vec<f64> = (0..).map(|i| libm::pow(2.0, i as f64 / 2.0).round()).take_while(|&q| q < budget as f64).chain([budget as f64]).collect();
    x.dedup();
    let series = runs.iter().map(|r| Series::named(r.name.clone(), r.arm, x.iter().map(|&q| r.accuracy_within(q)).collect())).collect();
    Lines::new(ACCURACY, "Prompts completed validly within a query budget", "generator queries per prompt", "accuracy", x, series).log_x()
}

/// Queries per valid string against the backtrack length B (B = 0: plain tokenwise rejection),
/// with `reference` (blockwise rejection) as a flat line.
pub fn queries_against_b(runs: &[SamplerRun], reference: &SamplerRun) -> Lines {
    let mut points: Vec<(f64, f64)> = runs
        .iter()
        .filter_map(|r| match r.strategy {
            Strategy::Tokenwise { backtrack, .. } => Some((backtrack as f64, r.queries_per_valid())),
            Strategy::Blockwise { .. } => None,
        })
        .collect();
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    let series = vec![
        Series::new("tokenwise with backtracking", points.iter().map(|p| p.1).collect()),
        Series::named(reference.name.clone(), reference.arm, vec![reference.queries_per_valid(); points.len()]),
    ];
    let title = "Generator queries per valid string against the backtrack length B";
    Lines::new("queries_vs_b", title, "B (tokens erased per backtrack)", "queries per valid string", points.iter().map(|p| p.0).collect(), series).log_y()
}

/// Per run: accuracy, cost and diversity of the valid strings found.
pub fn summary(runs: &[SamplerRun]) -> Table {
    let rows = runs
        .iter()
        .map(|r| {
            let chains = &r.chains;
            let solved = chains.iter().filter(|c| !c.accepted.is_empty()).count();
            let found: usize = chains.iter().map(|c| c.accepted.len()).sum();
            let finished = found as u64 + chains.iter().map(|c| c.rejected).sum::<u64>();
            let distinct: usize = chains.iter().map(|c| c.accepted.iter().map(|a| &a.completion).collect::<BTreeSet<_>>().len()).sum();
            TableRow::new(vec![
                r.name.clone(),
                format!("{solved}/{}", chains.len()),
                format!("{:.1}", r.queries_per_valid()),
                format!("{:.0}%", 100.0 * found as f64 / finished.max(1) as f64),
                found.to_string(),
                distinct.to_string(),
            ])
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
