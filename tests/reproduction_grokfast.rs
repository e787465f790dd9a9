//! Reproduction of Grokfast's claim on a reduced budget, through the same `Toy` interface as the
//! CLI and the page (Lee et al. 2024, Table 1 / the repository's EMA table: steps to 95%
//! validation accuracy with and without the filter): the arm whose gradients go through the
//! slow-gradient filter reaches 95% validation accuracy in fewer steps than the same run, from
//! the same initial weights on the same minibatches, without it.

use papertoys::metrics::MetricRow;
use papertoys::toys;
use papertoys::Device;

const BUDGET: u64 = 2400;

const PLAIN_VAL_ACC: usize = 2;
const GROKFAST_VAL_ACC: usize = 3;

/// The first evaluated step at which metric `i` reaches 95%.
fn grokked_at(rows: &[MetricRow], i: usize) -> Option<u64> {
    rows.iter().find(|r| r.values[i] >= 0.95).map(|r| r.step)
}

fn show(rows: &[MetricRow]) -> String {
    let line = |r: &MetricRow| format!("{}: val plain {:.3} grokfast {:.3}", r.step, r.values[PLAIN_VAL_ACC], r.values[GROKFAST_VAL_ACC]);
    rows.iter().map(line).collect::<Vec<_>>().join("\n")
}

#[test]
fn the_filtered_arm_reaches_95_percent_validation_accuracy_in_fewer_steps() {
    let entry = toys::find("grokfast").unwrap();
    let names = (entry.build)(&entry.config_from_pairs(&[]).unwrap(), &Device::Cpu).unwrap().metric_names();
    assert_eq!((names[PLAIN_VAL_ACC], names[GROKFAST_VAL_ACC]), ("plain/val_acc", "grokfast/val_acc"));
    // The defaults, measured less often.
    let config = entry.config_from_pairs(&[("eval_every".into(), "50".into())]).unwrap();
    let mut toy = (entry.build)(&config, &Device::Cpu).unwrap();
    let rows = pollster::block_on(toy.step(BUDGET)).unwrap();
    let fast = grokked_at(&rows, GROKFAST_VAL_ACC).unwrap_or_else(|| panic!("the filtered arm did not reach 95% within {BUDGET} steps:\n{}", show(&rows)));
    if let Some(plain) = grokked_at(&rows, PLAIN_VAL_ACC) {
        assert!(plain > fast, "the plain arm reached 95% at step {plain}, the filtered one at {fast}:\n{}", show(&rows));
    }
    // Both arms fit the training set: the difference is in generalising, not in fitting.
    let last = rows.last().unwrap();
    assert!(last.values[0] > 0.95 && last.values[1] > 0.95, "train accuracy at the end: plain {}, grokfast {}", last.values[0], last.values[1]);
}
