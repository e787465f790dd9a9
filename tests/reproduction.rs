//! Reproduction of grokking's claim on a reduced budget, through the same `Toy` interface as
//! the CLI and the page (Power et al. 2022, Figure 1's order of events):
//! training accuracy saturates long before validation accuracy rises, and without weight
//! decay the same budget does not generalise. A smaller table and model than the defaults
//! (p = 31, width 32) keep this to about a minute per run on the CPU backend.

use papertoys::Device;
use papertoys::metrics::MetricRow;
use papertoys::toys;

const BUDGET: u64 = 2000;

fn run(weight_decay: &str) -> Vec<MetricRow> {
    let entry = toys::find("grokking").unwrap();
    let set = [("p", "31"), ("d_model", "32"), ("eval_every", "50"), ("weight_decay", weight_decay)];
    let pairs: Vec<(String, String)> = set.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let mut toy = (entry.build)(&entry.config_from_pairs(&pairs).unwrap(), &Device::Cpu).unwrap();
    pollster::block_on(toy.step(BUDGET)).unwrap()
}

const TRAIN_ACC: usize = 1;
const VAL_ACC: usize = 3;

/// The first evaluated step at which metric `i` reaches `level`.
fn first_at(rows: &[MetricRow], i: usize, level: f32) -> Option<u64> {
    rows.iter().find(|r| r.values[i] >= level).map(|r| r.step)
}

fn show(rows: &[MetricRow]) -> String {
    rows.iter().map(|r| format!("{}: train {:.3} val {:.3}", r.step, r.values[TRAIN_ACC], r.values[VAL_ACC])).collect::<Vec<_>>().join("\n")
}

#[test]
fn train_accuracy_saturates_long_before_validation_accuracy_rises() {
    let rows = run("1.0");
    let fit = first_at(&rows, TRAIN_ACC, 0.95).unwrap_or_else(|| panic!("never fit the training set:\n{}", show(&rows)));
    let grok = first_at(&rows, VAL_ACC, 0.95).unwrap_or_else(|| panic!("never generalised within {BUDGET} steps:\n{}", show(&rows)));
    let at_fit = rows.iter().find(|r| r.step == fit).unwrap().values[VAL_ACC];
    assert!(at_fit < 0.25, "validation accuracy is already {at_fit} when training accuracy saturates at step {fit}");
    assert!(grok >= 4 * fit, "grokking at step {grok} is not long after fitting at step {fit}:\n{}", show(&rows));
}

#[test]
fn without_weight_decay_the_same_budget_does_not_generalise() {
    let rows = run("0");
    assert!(first_at(&rows, TRAIN_ACC, 0.95).is_some(), "the training set is still fit:\n{}", show(&rows));
    let best = rows.iter().map(|r| r.values[VAL_ACC]).fold(0.0f32, f32::max);
    assert!(best < 0.5, "validation accuracy reached {best} without weight decay:\n{}", show(&rows));
}
