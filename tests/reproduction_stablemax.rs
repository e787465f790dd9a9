//! Reproduction of the `stablemax` toy's mechanism on a reduced budget, through the same `Toy`
//! interface as the CLI and the page (Prieto et al. 2025, §2–§5). Weight decay 0 throughout.
//! A small table (p = 23) and model (width 32) keep this to about a minute on the CPU backend;
//! 1000 steps take the softmax arm just past its collapse.
//!
//! 1. Softmax Collapse: after memorising, the softmax arm's share of training equations whose
//!    f32 loss is exactly 0 climbs to ~1 (Figure 2's "SC" curve), and from then on its
//!    validation accuracy is frozen.
//! 2. StableMax never produces an exactly-zero loss.
//! 3. ⊥AdamW cannot take the naïve-loss-minimisation direction: its logits stay far smaller
//!    than softmax's, and it generalises further than softmax on the same budget.

use papertoys::metrics::MetricRow;
use papertoys::toys;
use papertoys::Device;

const BUDGET: u64 = 1000;

struct Run {
    names: Vec<&'static str>,
    rows: Vec<MetricRow>,
}

impl Run {
    fn new() -> Run {
        let entry = toys::find("stablemax").unwrap();
        let set = [("p", "23"), ("d_model", "32"), ("lr", "0.01"), ("weight_decay", "0"), ("eval_every", "50")];
        let pairs: Vec<(String, String)> = set.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let mut toy = (entry.build)(&entry.config_from_pairs(&pairs).unwrap(), &Device::Cpu).unwrap();
        let names = toy.metric_names().to_vec();
        Run { names, rows: pollster::block_on(toy.step(BUDGET)).unwrap() }
    }

    /// The series of `arm/what`.
    fn series(&self, name: &str) -> Vec<f32> {
        let i = self.names.iter().position(|n| *n == name).unwrap_or_else(|| panic!("no metric {name}"));
        self.rows.iter().map(|r| r.values[i]).collect()
    }

    fn show(&self) -> String {
        let arms = ["softmax", "stablemax", "orthograd"];
        let cols: Vec<Vec<f32>> = arms.iter().flat_map(|a| ["val_acc", "zero_loss", "logit_norm"].map(|w| self.series(&format!("{a}/{w}")))).collect();
        self.rows
            .iter()
            .enumerate()
            .map(|(k, r)| {
                let cells: Vec<String> = arms.iter().enumerate().map(|(a, name)| format!("{name} val {:.3} zero {:.2} |z| {:.0}", cols[3 * a][k], cols[3 * a + 1][k], cols[3 * a + 2][k])).collect();
                format!("{}: {}", r.step, cells.join("  "))
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

#[test]
fn softmax_collapses_in_f32_and_the_fixes_do_not() {
    let run = Run::new();
    let table = run.show();

    // 1. Softmax: memorised, then (nearly) every training loss is exactly 0.
    let soft_zero = run.series("softmax/zero_loss");
    let collapse = soft_zero.iter().position(|&z| z >= 0.9).unwrap_or_else(|| panic!("softmax never collapsed within {BUDGET} steps:\n{table}"));
    assert!(run.series("softmax/train_acc")[collapse] == 1.0, "softmax collapsed before memorising:\n{table}");
    let soft_val = run.series("softmax/val_acc");
    let frozen = soft_val[collapse..].iter().map(|v| (v - soft_val[collapse]).abs()).fold(0.0f32, f32::max);
    assert!(frozen <= 0.02, "softmax's validation accuracy still moved by {frozen} after the collapse:\n{table}");

    // 2. StableMax memorises too, but no training loss is ever exactly 0.
    assert!(run.series("stablemax/train_acc").last().unwrap() >= &0.99, "StableMax did not memorise:\n{table}");
    let stable_zero = run.series("stablemax/zero_loss").into_iter().fold(0.0f32, f32::max);
    assert_eq!(stable_zero, 0.0, "StableMax produced exactly-zero losses:\n{table}");

    // 3. ⊥AdamW: no collapse, logits far smaller than softmax's, and more generalisation.
    let ortho_zero = run.series("orthograd/zero_loss").into_iter().fold(0.0f32, f32::max);
    assert_eq!(ortho_zero, 0.0, "⊥AdamW produced exactly-zero losses:\n{table}");
    let (soft_norm, ortho_norm) = (*run.series("softmax/logit_norm").last().unwrap(), *run.series("orthograd/logit_norm").last().unwrap());
    assert!(ortho_norm * 1.5 < soft_norm, "⊥AdamW's logit norm {ortho_norm} is not well below softmax's {soft_norm}:\n{table}");
    let (soft_final, ortho_final) = (*soft_val.last().unwrap(), *run.series("orthograd/val_acc").last().unwrap());
    assert!(ortho_final > soft_final + 0.03, "⊥AdamW's validation accuracy {ortho_final} is not above softmax's {soft_final}:\n{table}");
}
