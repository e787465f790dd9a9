//! `backtrack` (Botta et al. 2025, abstract and §5.1): with a process verifier, tokenwise
//! rejection sampling with backtracking completes off-distribution prompts validly with fewer
//! generator queries than blockwise rejection sampling. Shorter strings, a smaller model, fewer
//! training steps and fewer prompts than the defaults keep this to about a minute on the CPU.

use crate::support::{build, figures, lines, series, step, text};

const STEPS: u64 = 300;
/// Share of prompts that must have a valid completion.
const TARGET: f64 = 0.5;

#[test]
fn backtracking_reaches_the_target_accuracy_with_fewer_queries_than_blockwise_rejection() {
    let set = [("length", "24"), ("prompt_depth", "8"), ("d_model", "32"), ("eval_every", "50"), ("prompts", "12"), ("budget", "192")];
    let mut toy = build("backtrack", &set);
    let rows = step(&mut toy, STEPS);
    let val = rows.series("transformer/val/loss");
    assert!(val.last().unwrap() < &(0.8 * val[0]), "the LM did not learn: validation loss {} → {}", val[0], val.last().unwrap());
    let figs = figures(&mut toy);
    let acc = lines(&figs, "accuracy");
    let table = text(&figs);
    // The first query budget at which each sampler has solved TARGET of the prompts.
    let reach = |name: &str| series(acc, name).iter().position(|&y| y >= TARGET).map(|i| acc.x[i]);
    let backtrack = reach("backtrack").unwrap_or_else(|| panic!("backtracking never solved {TARGET} of the prompts:\n{table}"));
    let blockwise = reach("blockwise").unwrap_or(f64::INFINITY);
    assert!(backtrack < blockwise, "backtracking needs {backtrack} queries for accuracy {TARGET}, blockwise {blockwise}:\n{table}");
    // The model must be imperfect off-distribution, or there is nothing to compare.
    assert!(*series(acc, "blockwise").last().unwrap() < 1.0, "blockwise rejection solved every prompt: the prompts are too easy\n{table}");
    // And per valid string found over the whole budget, backtracking is cheaper too.
    let cost = lines(&figs, "queries_vs_b");
    let b4 = cost.x.iter().position(|&b| b == 4.0).unwrap();
    let (bt, bw) = (series(cost, "tokenwise")[b4], series(cost, "blockwise")[b4]);
    assert!(bt < bw, "queries per valid string: backtracking (B = 4) {bt}, blockwise {bw}\n{table}");
}
