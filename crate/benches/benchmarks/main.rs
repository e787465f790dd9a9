//! The native half of `npm run bench` (scripts/bench.sh): matmul GFLOP/s, fused vs unfused
//! attention, and grokking training steps/s, on our CPU backend and our GPU backend (wgpu on
//! whatever adapter there is: Mesa's lavapipe, a CPU emulation of Vulkan, on the dev machine).
//!
//!     cargo bench -p papertoys --bench benchmarks -- [SECTION…] [--out FILE] [--tag TAG] [--quick]
//!
//! Sections: `matmul`, `attention`, `training` (CPU and GPU), `training-cpu` (CPU only); none
//! given runs `matmul attention training`. Each measurement prints a line and, with `--out`,
//! appends one JSON object per line to FILE, which `scripts/bench/report.mjs` turns into the
//! tables of docs/benchmarks.md. `--tag` is copied into every record (bench.sh runs
//! `training-cpu` a second time under `taskset -c 0` with `--tag "1 thread"`). `--quick` cuts
//! the repetitions for a smoke run.
//!
//! How it times (timing.rs): calibrate a number of iterations that takes ~0.25 s, then report
//! the MEDIAN over several repetitions of that many. GPU work is timed as the host sees it:
//! record all the iterations' dispatches, then one small read synchronises; nothing is
//! subtracted (the read and the submissions are part of the cost).
//! A benchmark, not a test: it asserts nothing about speed. It does check that what it times
//! computes the right thing (GPU vs CPU, fused vs unfused), so a fast wrong kernel cannot win.

mod attention;
mod matmul;
mod timing;
mod training;
mod unfused_attention;

use std::fs::OpenOptions;
use std::io::Write;
use std::rc::Rc;

use papertoys::backend::gpu::Gpu;
use serde_json::{Value, json};

/// Where results go: stdout for people, a JSON-lines file for the report.
pub struct Sink {
    file: Option<std::fs::File>,
    tag: Option<String>,
    pub quick: bool,
}

impl Sink {
    /// Appends one record (with the tag, when there is one).
    pub fn record(&mut self, mut rec: Value) {
        if let (Some(tag), Some(obj)) = (&self.tag, rec.as_object_mut()) {
            obj.insert("tag".into(), json!(tag));
        }
        if let Some(f) = &mut self.file {
            writeln!(f, "{rec}").expect("write the --out file");
        }
    }

    /// Repetitions per measurement.
    pub fn reps(&self) -> usize {
        if self.quick { 3 } else { 7 }
    }

    /// Seconds one repetition aims for.
    pub fn target_secs(&self) -> f64 {
        if self.quick { 0.05 } else { 0.25 }
    }
}

/// The GPU, or why there is none (then every GPU row says so instead of failing the run).
pub fn open_gpu(sink: &mut Sink) -> Option<Rc<Gpu>> {
    match pollster::block_on(Gpu::new()) {
        Ok(g) => {
            println!("GPU adapter: {} (CPU emulation: {})", g.describe(), g.is_cpu_adapter());
            sink.record(json!({ "section": "gpu", "adapter": g.describe(), "cpu_adapter": g.is_cpu_adapter() }));
            Some(g)
        }
        Err(e) => {
            println!("no GPU adapter, GPU rows skipped: {e}");
            sink.record(json!({ "section": "gpu", "adapter": null, "error": e }));
            None
        }
    }
}

fn main() {
    let mut sections = Vec::new();
    let mut sink = Sink { file: None, tag: None, quick: false };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--out" => {
                let path = args.next().expect("--out FILE");
                let f = OpenOptions::new().create(true).append(true).open(&path);
                sink.file = Some(f.unwrap_or_else(|e| panic!("--out {path}: {e}")));
            }
            "--tag" => sink.tag = Some(args.next().expect("--tag TAG")),
            "--quick" => sink.quick = true,
            "--bench" => {} // cargo bench passes this to harness = false targets
            s if s.starts_with('-') => panic!("unknown option {s}"),
            s => sections.push(s.to_string()),
        }
    }
    if sections.is_empty() {
        sections = ["matmul", "attention", "training"].map(String::from).to_vec();
    }
    let threads = std::thread::available_parallelism().map_or(1, |t| t.get());
    println!("papertoys benchmarks: {} (threads available: {threads})", sections.join(", "));
    sink.record(json!({ "section": "native", "threads": threads, "quick": sink.quick }));
    let needs_gpu = sections.iter().any(|s| s == "matmul" || s == "attention" || s == "training");
    let gpu = if needs_gpu { open_gpu(&mut sink) } else { None };
    for s in &sections {
        match s.as_str() {
            "matmul" => matmul::run(&mut sink, gpu.as_ref()),
            "attention" => attention::run(&mut sink, gpu.as_ref()),
            "training" => training::run(&mut sink, gpu.as_ref(), true),
            "training-cpu" => training::run(&mut sink, None, false),
            "toys" => training::every_toy(&mut sink),
            other => panic!("unknown section {other} (matmul, attention, training, training-cpu, toys)"),
        }
    }
}
