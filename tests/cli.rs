//! The command line as a person uses it: listing, a JSON run whose last line names the run,
//! and one-line errors with a non-zero exit for bad toy ids, keys and values.

use std::process::{Command, Output};

fn papertoys(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_papertoys")).args(args).output().expect("the binary runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn list_names_every_toy_with_its_claim() {
    let o = papertoys(&["list"]);
    assert!(o.status.success());
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(out.lines().any(|l| l.starts_with("grokking") && l.contains("weight decay")), "{out}");
}

const SMALL: &[&str] = &["--set", "p=11", "--set", "d_model=16", "--set", "eval_every=5", "--steps", "10", "--json"];

#[test]
fn json_run_prints_rows_then_figures_then_the_digest_line() {
    let o = papertoys(&[&["run", "grokking", "--seed", "3"], SMALL].concat());
    assert!(o.status.success(), "{}", stderr(&o));
    let lines: Vec<serde_json::Value> =
        String::from_utf8(o.stdout).unwrap().lines().map(|l| serde_json::from_str(l).expect("one JSON object per line")).collect();
    // Rows at steps 0, 5, 10, the figure (the answer map), then the summary.
    assert_eq!(lines.len(), 5);
    for (row, step) in lines.iter().zip([0, 5, 10]) {
        assert_eq!(row["step"], step);
        assert!(row["transformer/val/acc"].as_f64().is_some_and(|a| (0.0..=1.0).contains(&a)), "{row}");
    }
    let map = &lines[3]["figure"];
    assert_eq!((map["kind"].as_str(), map["id"].as_str(), map["rows"].as_u64(), map["cols"].as_u64()), (Some("heatmap"), Some("answers"), Some(11), Some(11)));
    let cells = map["values"].as_array().unwrap();
    assert_eq!(cells.len(), 121);
    assert!(cells.iter().all(|v| v.as_f64().is_some_and(|p| (0.0..=1.0).contains(&p))), "every a + b has a probability: {map}");
    let last = &lines[4];
    assert_eq!(last["toy"], "grokking");
    assert_eq!(last["steps"], 10);
    assert_eq!(last["config"]["seed"], 3);
    assert_eq!(last["config"]["p"], 11);
    assert_eq!(last["config"]["weight_decay"], 1.0, "defaults are filled in");
    assert_eq!(last["digest"].as_str().unwrap().len(), 16);
}

#[test]
fn bad_input_exits_nonzero_with_one_line() {
    for (args, expect) in [
        (vec!["run", "grokkin"], "unknown toy 'grokkin' (known: grokking"),
        (vec!["run", "grokking", "--set", "lr_rate=0.1"], "unknown key 'lr_rate'"),
        (vec!["run", "grokking", "--set", "weight_decay=20"], "weight_decay = 20.0 is out of range [0, 10]"),
        (vec!["run", "grokking", "--set", "p=abc"], "p = abc is not an integer"),
        (vec!["run", "grokking", "--set", "p=91"], "p = 91 is not prime"),
        (vec!["run", "grokking", "--set", "heads=3"], "heads = 3 must divide d_model = 64"),
        (vec!["run", "grokking", "--set", "lr"], "expected KEY=VALUE"),
    ] {
        let o = papertoys(&args);
        let err = stderr(&o);
        assert!(!o.status.success(), "{args:?} should fail");
        assert_eq!(err.lines().count(), 1, "{args:?}: one line, got {err}");
        assert!(err.contains(expect), "{args:?}: {err}");
    }
}
