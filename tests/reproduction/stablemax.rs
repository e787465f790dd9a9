//! `stablemax` (Prieto et al. 2025, §2–§5), with the toy's defaults (the paper's Figure 1 MLP,
//! full batch, weight decay 0, p = 47, 80% of the table). 1,250 steps take the softmax arm well
//! past its collapse and StableMax to about 88% validation accuracy.
//!
//! 1. Softmax Collapse: after memorising, the softmax arm's share of training equations whose
//!    f32 loss is exactly 0 climbs to ~1 (Figure 2's "SC" curve), and it never generalises.
//! 2. StableMax never produces an exactly-zero loss, and it groks without regularisation.
//! 3. ⊥AdamW cannot take the naïve-loss-minimisation direction: its logits stay far smaller
//!    than softmax's, and it groks without any regularisation (Figure 1a).

use crate::support::run;

const BUDGET: u64 = 1250;

#[test]
fn softmax_collapses_in_f32_and_the_fixes_do_not() {
    let rows = run("stablemax", &[("eval_every", "125")], BUDGET);
    let shown: Vec<String> =
        ["softmax", "stablemax", "orthograd"].iter().flat_map(|a| ["val/acc", "train/zero_loss", "train/logit_norm"].map(|q| format!("{a}/{q}"))).collect();
    let table = rows.show(&shown.iter().map(String::as_str).collect::<Vec<_>>());
    // 1. Softmax: memorised, then (nearly) every training loss is exactly 0.
    let collapse = rows.first_at("softmax/train/zero_loss", 0.9).unwrap_or_else(|| panic!("softmax never collapsed within {BUDGET} steps:\n{table}"));
    assert!(rows.at(collapse, "softmax/train/acc") == 1.0, "softmax collapsed before memorising:\n{table}");
    let soft_best = rows.series("softmax/val/acc")[1..].iter().copied().fold(0.0f32, f32::max);
    assert!(soft_best <= 0.05, "softmax generalised ({soft_best}) without weight decay:\n{table}");
    // 2. StableMax memorises too, but no training loss is ever exactly 0.
    assert!(rows.last("stablemax/train/acc") >= 0.99, "StableMax did not memorise:\n{table}");
    assert_eq!(rows.max("stablemax/train/zero_loss"), 0.0, "StableMax produced exactly-zero losses:\n{table}");
    let stable_final = rows.last("stablemax/val/acc");
    assert!(stable_final >= 0.8, "StableMax did not grok: validation accuracy {stable_final}:\n{table}");
    // 3. ⊥AdamW: no collapse, logits far smaller than softmax's, and it groks.
    assert_eq!(rows.max("orthograd/train/zero_loss"), 0.0, "⊥AdamW produced exactly-zero losses:\n{table}");
    let (soft_norm, ortho_norm) = (rows.last("softmax/train/logit_norm"), rows.last("orthograd/train/logit_norm"));
    assert!(ortho_norm * 1.5 < soft_norm, "⊥AdamW's logit norm {ortho_norm} is not well below softmax's {soft_norm}:\n{table}");
    let ortho_final = rows.last("orthograd/val/acc");
    assert!(ortho_final >= 0.95, "⊥AdamW did not grok: validation accuracy {ortho_final}:\n{table}");
}
