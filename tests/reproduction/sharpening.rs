//! `sharpening` (Huang et al. 2024, "Self-Improvement in Language Models: The Sharpening
//! Mechanism", abstract and Figure 1): choosing the likeliest of N own samples raises accuracy
//! with N, and fine-tuning on those choices (SFT-sharpening) moves the model's mass onto the
//! correct answers, so that one plain sample does about what best-of-N did for the base model.
//! Fewer steps than the defaults (pre-training 500 instead of 600, sharpening 150 instead of 300),
//! on each of three seeds.

use crate::support::{SEEDS, build, figures, lines, series, step, text};

const SHARPEN_AT: u64 = 500;
const STEPS: u64 = 650;

#[test]
fn best_of_n_by_self_likelihood_helps_and_sft_sharpening_amortizes_it() {
    for seed in SEEDS {
        let mut toy = build("sharpening", &[("seed", seed), ("sharpen_at", "500"), ("eval_every", "50")]);
        let rows = step(&mut toy, STEPS);
        let figs = figures(&mut toy);
        let text = format!("seed {seed}:\n{}", text(&figs));
        let bon = lines(&figs, "bon_vs_n");
        let at = |n: f64| bon.x.iter().position(|&x| x == n).unwrap();
        let (base, after) = (series(bon, "base model"), series(bon, "after SFT-sharpening"));
        // Inference time: the model's own likelihood picks the correct answer far more often than one sample.
        assert!(base[at(64.0)] > base[at(1.0)] + 0.3, "base best-of-64 {} vs best-of-1 {}:\n{text}", base[at(64.0)], base[at(1.0)]);
        assert!(base[at(8.0)] > base[at(1.0)] + 0.2, "base best-of-8 {} vs best-of-1 {}:\n{text}", base[at(8.0)], base[at(1.0)]);
        let (mass, greedy, bon_acc, loglik) = ("sample/acc", "greedy/acc", "best_of_n/acc", "sample/self_loglik");
        // The base model learnt the noisy labels: about coverage (0.3) of its mass on the correct
        // answer, and greedy decoding, which opens with the distractor, mostly wrong.
        let before = |n| rows.at(SHARPEN_AT, n);
        let end = |n| rows.at(STEPS, n);
        assert!(before(mass) > 0.15 && before(mass) < 0.5, "base mass on the correct answer {}", before(mass));
        assert!(before(greedy) < before(bon_acc), "base greedy accuracy {} not below its best-of-N accuracy {}", before(greedy), before(bon_acc));
        // Sharpening moves the mass onto the correct answers ...
        assert!(end(mass) > before(mass) + 0.4, "mass on the correct answer {} → {}", before(mass), end(mass));
        assert!(end(loglik) > before(loglik) + 1.0, "mean self log-likelihood of a sample {} → {}", before(loglik), end(loglik));
        // ... so that one sample of the sharpened model is about as good as best-of-8 of the base.
        assert!(after[at(1.0)] > base[at(8.0)] - 0.1, "sharpened best-of-1 {} vs base best-of-8 {}:\n{text}", after[at(1.0)], base[at(8.0)]);
        assert!(after[at(1.0)] > base[at(1.0)] + 0.4, "best-of-1 {} → {}:\n{text}", base[at(1.0)], after[at(1.0)]);
    }
}
