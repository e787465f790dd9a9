//! Reproduction of `icl-linreg`'s claims on a reduced budget, through the same `Toy` interface
//! as the CLI and the page:
//! - a transformer trained on in-context regression prompts predicts, once it has k ≥ d
//!   examples, far better than averaging the examples or predicting zero, and close to least
//!   squares / ridge (Garg et al. 2022, Figure 2; Akyürek et al. 2023);
//! - one layer of linear self-attention learns one step of preconditioned GD: its predictions
//!   match that learner's and, for Σ = I, its Γ is the optimal η*·I; on skewed inputs its
//!   predictions are those of the preconditioned step, far from plain GD's (Ahn et al. 2023,
//!   Theorem 1; Mahankali et al. 2023).

use papertoys::Device;
use papertoys::figures::Figure;
use papertoys::metrics::MetricRow;
use papertoys::rng::Rng;
use papertoys::tasks::linreg::{Learner, Task, best_gd_step};
use papertoys::toys::{self, Toy};

fn build(set: &[(&str, &str)]) -> Box<dyn Toy> {
    let entry = toys::find("icl-linreg").unwrap();
    let pairs: Vec<(String, String)> = set.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    (entry.build)(&entry.config_from_pairs(&pairs).unwrap(), &Device::Cpu).unwrap()
}

fn train(toy: &mut Box<dyn Toy>, steps: u64) -> (Vec<MetricRow>, Vec<Figure>) {
    let rows = pollster::block_on(toy.step(steps)).unwrap();
    (rows, pollster::block_on(toy.figures()).unwrap())
}

const TRANSFORMER: usize = 0;
const LSA: usize = 1;
const PGD: usize = 3;
const GD_GAP: usize = 5;

fn show(rows: &[MetricRow]) -> String {
    rows.iter().map(|r| format!("{}: {:?}", r.step, r.values)).collect::<Vec<_>>().join("\n")
}

/// The curve named `name` of the error-against-k figure.
fn curve<'a>(figures: &'a [Figure], name: &str) -> &'a [f64] {
    let Some(Figure::Lines(l)) = figures.iter().find(|f| f.id() == "error_vs_k") else { panic!("no error_vs_k figure") };
    &l.series.iter().find(|s| s.name == name).unwrap_or_else(|| panic!("no series '{name}'")).y
}

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

#[test]
fn transformer_error_once_k_exceeds_d_is_near_ridge_and_far_below_one_step_of_gd() {
    // d = 3 and no curriculum: at this size the transformer leaves its plateau by itself.
    let (d, n) = (3, 8);
    let mut toy = build(&[("d", "3"), ("n", "8"), ("curriculum", "0"), ("eval_every", "500")]);
    let (rows, figures) = train(&mut toy, 1500);
    let (tf, ridge, gd, avg, zero) = (
        curve(&figures, "transformer"),
        curve(&figures, "ridge (λ = σ²)"),
        curve(&figures, "1-step GD (best η)"),
        curve(&figures, "averaging"),
        curve(&figures, "zero"),
    );
    let table = format!(
        "k: transformer ridge 1-step-GD averaging zero\n{}\nrows:\n{}",
        (0..=n).map(|k| format!("{k}: {:.3} {:.3} {:.3} {:.3} {:.3}", tf[k], ridge[k], gd[k], avg[k], zero[k])).collect::<Vec<_>>().join("\n"),
        show(&rows)
    );
    for k in d + 1..=n {
        assert!(tf[k] < 0.6 * gd[k] && tf[k] < 0.5 * avg[k], "k = {k}: the transformer is not far below 1-step GD and averaging\n{table}");
        assert!(tf[k] - ridge[k] < gd[k] - tf[k], "k = {k}: the transformer is not closer to ridge than to 1-step GD\n{table}");
    }
    assert!(tf[n] < 0.15 * zero[n], "with all n examples the transformer is not far below predicting zero\n{table}");
    let chart = rows.last().unwrap().values[TRANSFORMER] as f64;
    assert!((chart - tf[n]).abs() < 1e-4 * tf[n], "the step chart's transformer/mse {chart} is not the figure's {} at k = n", tf[n]);
}

#[test]
fn linear_attention_learns_one_step_of_gd_on_isotropic_inputs() {
    // A tiny transformer beside it: only the linear-attention arm is checked here.
    let mut toy = build(&[("d", "4"), ("n", "10"), ("d_model", "16"), ("layers", "1"), ("heads", "1"), ("batch_size", "256"), ("eval_every", "100")]);
    let (rows, figures) = train(&mut toy, 300);
    let last = &rows.last().unwrap().values;
    assert!(rows[0].values[GD_GAP] > 0.5, "at initialisation the LSA is far from GD:\n{}", show(&rows));
    assert!(last[GD_GAP] < 0.05, "the LSA's predictions are not those of 1-step GD:\n{}", show(&rows));
    assert!((last[LSA] - last[PGD]).abs() < 0.1 * last[PGD], "the LSA's error is not 1-step GD's:\n{}", show(&rows));
    // For Σ = I, Γ* = η*·I: the learned Γ is close to it.
    let (g, best) = gammas(&figures);
    let diff: Vec<f64> = g.iter().zip(&best).map(|(a, b)| a - b).collect();
    assert!(frobenius(&diff) < 0.2 * frobenius(&best), "Γ = {g:?}\nΓ* = {best:?}");
}

#[test]
fn linear_attention_learns_the_preconditioned_step_not_the_plain_one_on_skewed_inputs() {
    let (d, n) = (4, 10);
    let mut toy = build(&[
        ("d", "4"),
        ("n", "10"),
        ("covariance", "skewed"),
        ("d_model", "16"),
        ("layers", "1"),
        ("heads", "1"),
        ("batch_size", "256"),
        ("lsa_lr", "0.03"),
        ("eval_every", "100"),
    ]);
    let (rows, _) = train(&mut toy, 300);
    // The toy's own test prompts (same streams), to measure how far plain 1-step GD with its
    // best η is from the preconditioned step, in the units of `lsa/gd_gap`.
    let task = Task::new(d, 0.25, "skewed", 0);
    let test = task.sample(&mut Rng::stream(0, "test"), 512, n + 1);
    let eta = best_gd_step(&task.sample(&mut Rng::stream(0, "holdout"), 2048, n + 1), n);
    let (mut num, mut den) = (0.0, 0.0);
    for b in 0..test.batch {
        let pgd = Learner::PreconditionedGd.predict(&task, &test, b, n);
        num += (Learner::Gd(eta).predict(&task, &test, b, n) - pgd).powi(2);
        den += pgd * pgd;
    }
    let plain_gap = num / den;
    let gap = rows.last().unwrap().values[GD_GAP] as f64;
    assert!(gap < 0.05, "the LSA's predictions are not those of 1-step preconditioned GD:\n{}", show(&rows));
    assert!(gap < 0.25 * plain_gap, "the LSA ({gap}) is not much closer to preconditioned GD than plain GD is ({plain_gap}):\n{}", show(&rows));
}
