//! `icl-linreg`:
//! - a transformer trained on in-context regression prompts predicts, once it has k ≥ d
//!   examples, far better than averaging the examples or predicting zero, and close to least
//!   squares / ridge (Garg et al. 2022, Figure 2; Akyürek et al. 2023);
//! - one layer of linear self-attention learns one step of preconditioned GD: its predictions
//!   match that learner's and, for Σ = I, its Γ is the optimal η*·I; on skewed inputs its
//!   predictions are those of the preconditioned step, far from plain GD's (Ahn et al. 2023,
//!   Theorem 1; Mahankali et al. 2023).

use papertoys::figures::Figure;
use papertoys::rng::Rng;
use papertoys::tasks::linreg::{Covariance, Learner, Task, best_gd_step};

use crate::support::{build, figures, lines, series, step};

/// (learned Γ, Γ*) from the heatmap, d × d each.
fn gammas(figures: &[Figure]) -> (Vec<f64>, Vec<f64>) {
    let Some(Figure::Heatmap(h)) = figures.iter().find(|f| f.id() == "lsa_gamma") else { panic!("no lsa_gamma figure") };
    let d = h.rows;
    let part = |off: usize| (0..d).flat_map(|r| (0..d).map(move |c| r * h.cols + off + c)).map(|i| h.values[i] as f64).collect();
    (part(0), part(d + 1))
}

fn frobenius(a: &[f64]) -> f64 {
    a.iter().map(|v| v * v).sum::<f64>().sqrt()
}

const LSA_METRICS: [&str; 3] = ["lsa/test/mse", "pgd/test/mse", "lsa/gd_gap"];

#[test]
fn transformer_error_once_k_exceeds_d_is_near_ridge_and_far_below_one_step_of_gd() {
    // d = 3 and no curriculum: at this size the transformer leaves its plateau by itself.
    let (d, n) = (3, 8);
    let mut toy = build("icl-linreg", &[("d", "3"), ("n", "8"), ("curriculum", "0"), ("eval_every", "500")]);
    let rows = step(&mut toy, 1500);
    let figs = figures(&mut toy);
    let l = lines(&figs, "error_vs_k");
    let (tf, ridge, gd, avg, zero) = (series(l, "transformer"), series(l, "ridge"), series(l, "1-step GD"), series(l, "averaging"), series(l, "zero"));
    let table = format!(
        "k: transformer ridge 1-step-GD averaging zero\n{}\nrows:\n{}",
        (0..=n).map(|k| format!("{k}: {:.3} {:.3} {:.3} {:.3} {:.3}", tf[k], ridge[k], gd[k], avg[k], zero[k])).collect::<Vec<_>>().join("\n"),
        rows.show(&["transformer/test/mse"])
    );
    for k in d + 1..=n {
        assert!(tf[k] < 0.6 * gd[k] && tf[k] < 0.5 * avg[k], "k = {k}: the transformer is not far below 1-step GD and averaging\n{table}");
        assert!(tf[k] - ridge[k] < gd[k] - tf[k], "k = {k}: the transformer is not closer to ridge than to 1-step GD\n{table}");
    }
    assert!(tf[n] < 0.15 * zero[n], "with all n examples the transformer is not far below predicting zero\n{table}");
    let chart = rows.last("transformer/test/mse") as f64;
    assert!((chart - tf[n]).abs() < 1e-4 * tf[n], "the step chart's transformer/test/mse {chart} is not the figure's {} at k = n", tf[n]);
}

#[test]
fn linear_attention_learns_one_step_of_gd_on_isotropic_inputs() {
    // A tiny transformer beside it: only the linear-attention arm is checked here.
    let mut toy =
        build("icl-linreg", &[("d", "4"), ("n", "10"), ("d_model", "16"), ("layers", "1"), ("heads", "1"), ("batch_size", "256"), ("eval_every", "100")]);
    let rows = step(&mut toy, 300);
    let shown = rows.show(&LSA_METRICS);
    assert!(rows.0.0[0].get("lsa/gd_gap").unwrap() > 0.5, "at initialisation the LSA is far from GD:\n{shown}");
    assert!(rows.last("lsa/gd_gap") < 0.05, "the LSA's predictions are not those of 1-step GD:\n{shown}");
    let (lsa, pgd) = (rows.last("lsa/test/mse"), rows.last("pgd/test/mse"));
    assert!((lsa - pgd).abs() < 0.1 * pgd, "the LSA's error is not 1-step GD's:\n{shown}");
    // For Σ = I, Γ* = η*·I: the learned Γ is close to it.
    let (g, best) = gammas(&figures(&mut toy));
    let diff: Vec<f64> = g.iter().zip(&best).map(|(a, b)| a - b).collect();
    assert!(frobenius(&diff) < 0.2 * frobenius(&best), "Γ = {g:?}\nΓ* = {best:?}");
}

#[test]
fn linear_attention_learns_the_preconditioned_step_not_the_plain_one_on_skewed_inputs() {
    let (d, n) = (4, 10);
    let set = [
        ("d", "4"),
        ("n", "10"),
        ("covariance", "skewed"),
        ("d_model", "16"),
        ("layers", "1"),
        ("heads", "1"),
        ("batch_size", "256"),
        ("lsa_lr", "0.03"),
        ("eval_every", "100"),
    ];
    let rows = step(&mut build("icl-linreg", &set), 300);
    // The toy's own test prompts (same streams), to measure how far plain 1-step GD with its
    // best η is from the preconditioned step, in the units of `lsa/gd_gap`.
    let task = Task::new(d, 0.25, Covariance::Skewed, 0);
    let test = task.sample(&mut Rng::stream(0, "test"), 512, n + 1);
    let eta = best_gd_step(&task.sample(&mut Rng::stream(0, "holdout"), 2048, n + 1), n);
    let (mut num, mut den) = (0.0, 0.0);
    for b in 0..test.batch {
        let pgd = Learner::PreconditionedGd.predict(&task, &test, b, n);
        num += (Learner::Gd(eta).predict(&task, &test, b, n) - pgd).powi(2);
        den += pgd * pgd;
    }
    let plain_gap = num / den;
    let gap = rows.last("lsa/gd_gap") as f64;
    let shown = rows.show(&LSA_METRICS);
    assert!(gap < 0.05, "the LSA's predictions are not those of 1-step preconditioned GD:\n{shown}");
    assert!(gap < 0.25 * plain_gap, "the LSA ({gap}) is not much closer to preconditioned GD than plain GD is ({plain_gap}):\n{shown}");
}
