//! `grokfast` (Lee et al. 2024, Table 1 / the repository's EMA table: steps to 95% validation
//! accuracy with and without the filter): the arm whose gradients go through the slow-gradient
//! filter reaches 95% validation accuracy in fewer steps than the same run, from the same initial
//! weights on the same minibatches, without it. The toy's defaults, until the filtered arm gets
//! there.

use crate::support::{Rows, build, step};
use papertoys::metrics::History;

const BUDGET: u64 = 2400;
const EVAL_EVERY: u64 = 100;

#[test]
fn the_filtered_arm_reaches_95_percent_validation_accuracy_in_fewer_steps() {
    let mut toy = build("grokfast", &[("eval_every", "100")]);
    let mut rows = Rows(History(vec![]));
    while toy.steps_done() < BUDGET && rows.first_at("grokfast/val/acc", 0.95).is_none() {
        rows.0.0.extend(step(&mut toy, EVAL_EVERY).0.0);
    }
    let table = rows.show(&["plain/val/acc", "grokfast/val/acc"]);
    let fast = rows.first_at("grokfast/val/acc", 0.95).unwrap_or_else(|| panic!("the filtered arm did not reach 95% within {BUDGET} steps:\n{table}"));
    if let Some(plain) = rows.first_at("plain/val/acc", 0.95) {
        panic!("the plain arm reached 95% at step {plain}, the filtered one at {fast}:\n{table}");
    }
    // Both arms fit the training set: the difference is in generalising, not in fitting.
    let (p, f) = (rows.last("plain/train/acc"), rows.last("grokfast/train/acc"));
    assert!(p > 0.95 && f > 0.95, "train accuracy at the end: plain {p}, grokfast {f}");
}
