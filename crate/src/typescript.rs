//! The TypeScript types of everything the page receives from the engine (`web/src/generated/
//! engine.ts`), written from the Rust types by ts-rs, so that the frontend mirrors nothing by
//! hand. A test regenerates the file and fails when it was stale.

use std::collections::BTreeMap;

use ts_rs::{Config, TS, TypeVisitor};

use crate::figures::Figure;
use crate::metrics::{MetricInfo, MetricRow, Verdict};
use crate::schema::Accepted;
use crate::toys::ToyInfo;

/// Collects the declaration of every type it visits and of everything those depend on.
struct Declarations<'a> {
    cfg: &'a Config,
    by_name: BTreeMap<String, String>,
}

impl TypeVisitor for Declarations<'_> {
    fn visit<T: TS + 'static + ?Sized>(&mut self) {
        let name = T::ident(self.cfg);
        if T::output_path().is_none() || self.by_name.contains_key(&name) {
            return; // a primitive or a container: nothing to declare
        }
        self.by_name.insert(name, format!("export {}", T::decl(self.cfg)));
        T::visit_dependencies(self);
    }
}

/// The declarations of the root types and all they depend on, each once, sorted by name.
pub fn declarations() -> String {
    let cfg = Config::new().with_large_int("number");
    let mut d = Declarations { cfg: &cfg, by_name: BTreeMap::new() };
    d.visit::<ToyInfo>();
    d.visit::<MetricInfo>();
    d.visit::<MetricRow>();
    d.visit::<Figure>();
    d.visit::<Accepted>();
    d.visit::<Verdict>();
    let header =
        "// Generated from the crate's types by `crate/src/typescript.rs` (ts-rs); do not edit.\n// `cargo test` rewrites it and fails when it was stale.\n\n";
    header.to_string() + &d.by_name.into_values().collect::<Vec<_>>().join("\n\n") + "\n"
}
