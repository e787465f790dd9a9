//! Reproduction of sharpening's claim through the same `Toy` interface as the CLI and the page
//! (Huang et al. 2024, "Self-Improvement in Language Models: The Sharpening Mechanism",
//! abstract and Figure 1): choosing the likeliest of N own samples raises accuracy with N, and
//! fine-tuning on those choices (SFT-sharpening) moves the model's mass onto the correct answers,
//! so that one plain sample does about what best-of-N did for the base model. Fewer steps than
//! the defaults (pre-training 500 instead of 600, sharpening 150 instead of 300).

use papertoys::Device;
use papertoys::figures::{Figure, Lines};
use papertoys::metrics::MetricRow;
use papertoys::toys;

const SHARPEN_AT: u64 = 500;
const STEPS: u64 = 650;

fn run() -> (Vec<MetricRow>, Vec<Figure>) {
    let entry = toys::find("sharpening").unwrap();
    let pairs = [("sharpen_at", SHARPEN_AT.to_string()), ("eval_every", "50".to_string())];
    let pairs: Vec<(String, String)> = pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
    let mut toy = (entry.build)(&entry.config_from_pairs(&pairs).unwrap(), &Device::Cpu).unwrap();
    let rows = pollster::block_on(toy.step(STEPS)).unwrap();
    (rows, pollster::block_on(toy.figures()).unwrap())
}

fn bon_lines(figs: &[Figure]) -> &Lines {
    figs.iter()
        .find_map(|f| match f {
            Figure::Lines(l) if l.id == "bon_vs_n" => Some(l),
            _ => None,
        })
        .expect("a bon_vs_n figure")
}

#[test]
fn best_of_n_by_self_likelihood_helps_and_sft_sharpening_amortizes_it() {
    let (rows, figs) = run();
    let text: String = figs.iter().map(Figure::to_text).collect::<Vec<_>>().join("\n\n");
    let bon = bon_lines(&figs);
    let series = |prefix: &str| &bon.series.iter().find(|s| s.name.starts_with(prefix)).unwrap_or_else(|| panic!("no series '{prefix}':\n{text}")).y;
    let at = |n: f64| bon.x.iter().position(|&x| x == n).unwrap();
    let (base, after) = (series("base model"), series("after SFT-sharpening"));

    // Inference time: the model's own likelihood picks the correct answer far more often than one sample.
    assert!(base[at(64.0)] > base[at(1.0)] + 0.3, "base best-of-64 {} vs best-of-1 {}:\n{text}", base[at(64.0)], base[at(1.0)]);
    assert!(base[at(8.0)] > base[at(1.0)] + 0.2, "base best-of-8 {} vs best-of-1 {}:\n{text}", base[at(8.0)], base[at(1.0)]);

    // Metric rows: [train/loss, sample/acc (= mass on the correct answer), greedy/acc, best_of_n/acc, sample/self_loglik].
    let row = |step: u64| &rows.iter().find(|r| r.step == step).unwrap().values;
    let (before, end) = (row(SHARPEN_AT), row(STEPS));
    // The base model learnt the noisy labels: about coverage (0.3) of its mass on the correct
    // answer, and greedy decoding, which opens with the distractor, mostly wrong.
    assert!(before[1] > 0.15 && before[1] < 0.5, "base mass on the correct answer {}", before[1]);
    assert!(before[2] < before[3], "base greedy accuracy {} not below its best-of-N accuracy {}", before[2], before[3]);

    // Sharpening moves the mass onto the correct answers ...
    assert!(end[1] > before[1] + 0.4, "mass on the correct answer {} → {}", before[1], end[1]);
    assert!(end[4] > before[4] + 1.0, "mean self log-likelihood of a sample {} → {}", before[4], end[4]);
    // ... so that one sample of the sharpened model is about as good as best-of-8 of the base.
    assert!(after[at(1.0)] > base[at(8.0)] - 0.1, "sharpened best-of-1 {} vs base best-of-8 {}:\n{text}", after[at(1.0)], base[at(8.0)]);
    assert!(after[at(1.0)] > base[at(1.0)] + 0.4, "best-of-1 {} → {}:\n{text}", base[at(1.0)], after[at(1.0)]);
}
