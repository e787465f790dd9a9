//! Reproduction of backtrack's claim on a reduced budget, through the same `Toy` interface as
//! the CLI and the page (Botta et al. 2025, abstract and §5.1): with a process verifier,
//! tokenwise rejection sampling with backtracking completes off-distribution prompts validly
//! with fewer generator queries than blockwise rejection sampling. Shorter strings, a
//! smaller model, fewer training steps and fewer prompts than the defaults keep this to about a minute on the CPU.

use papertoys::Device;
use papertoys::figures::{Figure, Lines};
use papertoys::toys;

const STEPS: u64 = 300;
/// Share of prompts that must have a valid completion.
const TARGET: f64 = 0.5;

fn figures() -> Vec<Figure> {
    let entry = toys::find("backtrack").unwrap();
    let set = [("length", "24"), ("prompt_depth", "8"), ("d_model", "32"), ("eval_every", "50"), ("prompts", "12"), ("budget", "192")];
    let pairs: Vec<(String, String)> = set.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let mut toy = (entry.build)(&entry.config_from_pairs(&pairs).unwrap(), &Device::Cpu).unwrap();
    let rows = pollster::block_on(toy.step(STEPS)).unwrap();
    let (first, last) = (&rows[0].values, &rows.last().unwrap().values);
    assert!(last[1] < 0.8 * first[1], "the LM did not learn: validation loss {} → {}", first[1], last[1]);
    pollster::block_on(toy.figures()).unwrap()
}

fn lines<'a>(figs: &'a [Figure], id: &str) -> &'a Lines {
    figs.iter()
        .find_map(|f| match f {
            Figure::Lines(l) if l.id == id => Some(l),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no Lines figure '{id}'"))
}

fn series<'a>(l: &'a Lines, prefix: &str) -> &'a [f64] {
    &l.series.iter().find(|s| s.name.starts_with(prefix)).unwrap_or_else(|| panic!("no series '{prefix}' in '{}'", l.id)).y
}

#[test]
fn backtracking_reaches_the_target_accuracy_with_fewer_queries_than_blockwise_rejection() {
    let figs = figures();
    let acc = lines(&figs, "accuracy");
    let table: String = figs.iter().map(Figure::to_text).collect::<Vec<_>>().join("\n\n");
    // The first query budget at which each sampler has solved TARGET of the prompts.
    let reach = |name: &str| series(acc, name).iter().position(|&y| y >= TARGET).map(|i| acc.x[i]);
    let backtrack = reach("backtrack").unwrap_or_else(|| panic!("backtracking never solved {TARGET} of the prompts:\n{table}"));
    let blockwise = reach("blockwise").unwrap_or(f64::INFINITY);
    assert!(backtrack < blockwise, "backtracking needs {backtrack} queries for accuracy {TARGET}, blockwise {blockwise}:\n{table}");
    // The model must be imperfect off-distribution, or there is nothing to compare.
    let at_end = |name: &str| *series(acc, name).last().unwrap();
    assert!(at_end("blockwise") < 1.0, "blockwise rejection solved every prompt: the prompts are too easy\n{table}");
    // And per valid string found over the whole budget, backtracking is cheaper too.
    let cost = lines(&figs, "queries_vs_b");
    let b4 = cost.x.iter().position(|&b| b == 4.0).unwrap();
    let (bt, bw) = (series(cost, "tokenwise")[b4], series(cost, "blockwise")[b4]);
    assert!(bt < bw, "queries per valid string: backtracking (B = 4) {bt}, blockwise {bw}\n{table}");
}
