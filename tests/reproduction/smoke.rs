//! Every toy of the registry, with no test of its own needed: its defaults are in range and
//! valid, every key survives a link's round trip, and a few steps on each backend give rows
//! whose names match their values, finite metrics, figures that serialise and a verdict.

use papertoys::Device;
use papertoys::figures::Figure;
use papertoys::schema::Kind;
use papertoys::toys::REGISTRY;
use serde_json::{Map, Value};

use crate::support::{build_on, figures, gpu, step};

#[test]
fn every_toy_describes_itself_and_its_defaults_are_valid() {
    let mut ids = std::collections::BTreeSet::new();
    for entry in REGISTRY {
        let a = &entry.about;
        assert!(ids.insert(a.id), "{}: two toys share the id", a.id);
        assert!(!a.title.is_empty() && !a.claim.is_empty() && a.default_steps > 0, "{}: incomplete about", a.id);
        assert!(!a.papers.is_empty() && a.papers.iter().all(|p| p.url.starts_with("https://")), "{}: papers need links", a.id);
        entry.check(&(entry.defaults)()).unwrap_or_else(|e| panic!("{}: the defaults are not valid: {e}", a.id));
        let params = (entry.params)();
        let names: std::collections::BTreeSet<_> = params.iter().map(|p| p.name).collect();
        assert_eq!(names.len(), params.len(), "{}: a key is declared twice", a.id);
        assert!(names.contains("seed") && names.contains("eval_every"), "{}: every toy has the run keys", a.id);
    }
}

/// The files README's "Adding a toy" names exist for every registered toy.
#[test]
fn every_toy_has_its_page_its_reproduction_and_its_readme_row() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    for entry in REGISTRY {
        let id = entry.id();
        assert!(root.join(format!("web/src/toys/{id}.ts")).exists(), "{id}: no page text web/src/toys/{id}.ts");
        assert!(root.join(format!("tests/reproduction/{}.rs", id.replace('-', "_"))).exists(), "{id}: no tests/reproduction/ module");
        assert!(readme.contains(&format!("| `{id}` |")), "{id}: no row in README.md's table of toys");
    }
}

/// A value of `kind` other than `default`, as a link would write it.
fn other_value(kind: Kind, default: &Value) -> String {
    match kind {
        Kind::Int { min, max } => (if default.as_i64() == Some(min) { max.min(min + 1) } else { min }).to_string(),
        Kind::Float { min, max, .. } => (if default.as_f64() == Some(max) { min } else { max }).to_string(),
        Kind::Choice { options } => options.iter().find(|o| Some(**o) != default.as_str()).unwrap_or(&options[0]).to_string(),
    }
}

/// A config as a link carries it: the keys that differ from the defaults, as text.
fn encode(config: &Map<String, Value>, defaults: &Map<String, Value>) -> Vec<(String, String)> {
    config.iter().filter(|(k, v)| defaults.get(*k) != Some(v)).map(|(k, v)| (k.clone(), v.as_str().map_or_else(|| v.to_string(), str::to_string))).collect()
}

#[test]
fn a_config_survives_its_link_for_every_key() {
    for entry in REGISTRY {
        let defaults = (entry.defaults)();
        for p in (entry.params)() {
            let change: Map<String, Value> = [(p.name.to_string(), Value::from(other_value(p.kind, &defaults[p.name])))].into_iter().collect();
            let accepted = entry.accept(None, &change, None);
            if !accepted.rejected.is_empty() {
                continue; // the other value breaks a cross-field rule: nothing to encode
            }
            let link = encode(&accepted.config, &defaults);
            let decoded = entry.config_from_pairs(&link).unwrap_or_else(|e| panic!("{}: {link:?} does not decode: {e}", entry.id()));
            assert_eq!(decoded, accepted.config, "{}: {link:?}", entry.id());
        }
    }
}

fn few_steps_on(device: &Device) {
    for entry in REGISTRY {
        let id = entry.id();
        let mut toy = build_on(device, id, &[("eval_every", "1")]);
        let names: Vec<String> = toy.metrics().iter().map(|m| m.name.clone()).collect();
        let unique: std::collections::BTreeSet<_> = names.iter().collect();
        assert_eq!(unique.len(), names.len(), "{id}: a metric name repeats: {names:?}");
        let rows = step(&mut toy, 2).0;
        assert_eq!(rows.iter().map(|r| r.step).collect::<Vec<_>>(), [0, 1, 2], "{id}: one row per evaluation point");
        for r in &rows {
            assert_eq!((r.names.to_vec(), r.values.len()), (names.clone(), names.len()), "{id}: row {} does not match its names", r.step);
            assert!(
                r.values.iter().all(|v| v.is_finite()),
                "{id}: a metric is not finite at step {}: {:?}",
                r.step,
                names.iter().zip(&r.values).collect::<Vec<_>>()
            );
        }
        for f in figures(&mut toy) {
            serde_json::to_string(&f).unwrap_or_else(|e| panic!("{id}: figure {} does not serialise: {e}", f.id()));
            match &f {
                Figure::Lines(l) => assert!(l.series.iter().all(|s| s.y.len() == l.x.len()), "{id}: figure {} has a series off its x", l.id),
                Figure::Heatmap(h) => assert_eq!(h.values.len(), h.rows * h.cols, "{id}: heat map {}", h.id),
                Figure::Table(t) => assert!(t.rows.iter().all(|r| r.cells.len() == t.columns.len()), "{id}: table {} has a ragged row", t.id),
            }
        }
        // Even two steps get a verdict: a line that says what happened, not an error.
        let verdict = pollster::block_on(toy.verdict()).unwrap_or_else(|e| panic!("{id}: no verdict: {e}"));
        assert!(!verdict.line.is_empty(), "{id}: an empty verdict line");
    }
}

#[test]
fn every_toy_takes_a_few_steps_on_the_cpu() {
    few_steps_on(&Device::Cpu);
}

#[test]
fn every_toy_takes_a_few_steps_on_the_gpu() {
    few_steps_on(&gpu());
}

#[test]
fn the_pages_types_are_the_crates() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../web/src/generated/engine.ts");
    let now = papertoys::typescript::declarations();
    if std::fs::read_to_string(&path).ok().as_deref() != Some(now.as_str()) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &now).unwrap();
        panic!("{} was stale and has been rewritten: commit it", path.display());
    }
}
