//! `hedgehog` (Zhang et al. 2024, "The Hedgehog & the Porcupine"): on multi-query associative
//! recall, softmax attention learns to recall, linear attention with elu+1 features stays far
//! below it with flatter (higher-entropy) attention rows, and linear attention with Hedgehog's
//! learned feature map recovers most of the accuracy with rows about as spiky as softmax's. The
//! toy's defaults with a smaller test set and 700 steps instead of 1,000.

use papertoys::figures::Figure;
use papertoys::toys;

use crate::support::{build, build_on, figures, gpu, step, table};

const BUDGET: u64 = 700;
const SMALL: [(&str, &str); 2] = [("test_sequences", "128"), ("eval_every", "100")];
const ARMS: [&str; 3] = ["softmax", "linear", "hedgehog"];

#[test]
fn hedgehog_recovers_most_of_softmax_recall_where_elu_linear_attention_fails() {
    let mut toy = build("hedgehog", &SMALL);
    let rows = step(&mut toy, BUDGET);
    let names: Vec<String> = ARMS.iter().flat_map(|a| [format!("{a}/test/acc"), format!("{a}/test/entropy")]).collect();
    let shown = rows.show(&names.iter().map(String::as_str).collect::<Vec<_>>());
    let [soft, lin, hh] = ARMS.map(|a| rows.last(&format!("{a}/test/acc")));
    assert!(soft >= 0.9, "softmax attention does not learn to recall ({soft}):\n{shown}");
    assert!(lin <= 0.5 * soft, "elu+1 linear attention recalls {lin}, not clearly below softmax's {soft}:\n{shown}");
    assert!(hh >= lin + 0.3, "Hedgehog recalls {hh}, not clearly above elu+1's {lin}:\n{shown}");
    let [h_soft, h_lin, h_hh] = ARMS.map(|a| rows.last(&format!("{a}/test/entropy")));
    assert!(h_hh < h_lin - 0.2, "Hedgehog's attention rows (entropy {h_hh}) are not spikier than elu+1's ({h_lin}):\n{shown}");
    assert!(h_soft < h_lin - 0.2, "softmax's attention rows (entropy {h_soft}) are not spikier than elu+1's ({h_lin}):\n{shown}");

    // Every arm's attention maps are causal rows over the past, summing to 1; a linear arm's to
    // Σ/(Σ + ε) with ε = 1e-6 in its denominator, a little under 1 where Hedgehog's normalised
    // features give small dot products (Σ ~ 1e-3). The recall table agrees with the last row.
    let figs = figures(&mut toy);
    let t = 32;
    for arm in ARMS {
        for layer in [1, 2] {
            let id = format!("attention-{arm}-layer{layer}");
            let Some(Figure::Heatmap(map)) = figs.iter().find(|f| f.id() == id) else { panic!("no figure {id}") };
            assert_eq!((map.rows, map.cols), (t, t));
            for (q, r) in map.values.chunks(t).enumerate() {
                let sum: f32 = r.iter().sum();
                assert!(sum > 0.97 && sum < 1.0 + 1e-4 && r[q + 1..].iter().all(|&a| a == 0.0), "{id} row {q} is not a causal distribution: {r:?}");
            }
        }
    }
    let recall = table(&figs, "recall");
    assert_eq!(recall.rows.len(), 3);
    assert_eq!(recall.rows[2].cells[1], format!("{:.1}%", 100.0 * hh));
}

#[test]
fn impossible_settings_are_refused_with_a_message() {
    let entry = toys::find("hedgehog").unwrap();
    for ((key, value), needle) in [(("vocab", "12"), "vocab/2"), (("queries", "9"), "pairs"), (("heads", "3"), "divide"), (("d_model", "128"), "64")] {
        let err = entry.config_from_pairs(&[(key.into(), value.into())]).expect_err(&format!("{key} = {value} was accepted"));
        assert!(err.to_string().contains(needle), "{key} = {value}: unhelpful error '{err}'");
    }
}

#[test]
fn gpu_follows_cpu_for_20_steps() {
    // All three arms, the linear ones through linear_attention.wgsl, on whatever adapter wgpu
    // finds (lavapipe in CI; without one this fails). Tolerances as in training.rs: the GPU sums
    // in its own fixed order and may fuse multiply-adds, which 20 Adam steps amplify a little; an
    // accuracy may differ by a couple of borderline queries (out of 64).
    let tiny = [("vocab", "16"), ("pairs", "4"), ("queries", "2"), ("d_model", "16"), ("batch_size", "16"), ("test_sequences", "32"), ("eval_every", "10")];
    let cpu = step(&mut build("hedgehog", &tiny), 20);
    let gpu = step(&mut build_on(&gpu(), "hedgehog", &tiny), 20);
    assert_eq!(cpu.0.0.len(), gpu.0.0.len());
    for (c, g) in cpu.0.0.iter().zip(&gpu.0) {
        for (name, (&cv, &gv)) in c.names.iter().zip(c.values.iter().zip(&g.values)) {
            let tol = if name.ends_with("acc") { 0.04 } else { 1e-2 * cv.abs().max(1.0) };
            assert!((cv - gv).abs() <= tol, "step {}: {name} cpu {cv} gpu {gv} (|diff| {} > {tol})", c.step, (cv - gv).abs());
        }
    }
}
