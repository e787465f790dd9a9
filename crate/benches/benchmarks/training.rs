//! Training steps/s of `grokking` with its default config (p = 47, 1 layer, d_model 64, 4 heads,
//! batch 512, AdamW), driven exactly as the CLI and the page drive it: `toy.step(n)`.
//! PyTorch runs the same model in scripts/bench/torch_grokking.py.
//!
//! Two modes per backend:
//! - "train": eval_every = 1000, so the timed steps are training steps only (forward, backward,
//!   AdamW); this is the row compared with PyTorch.
//! - "defaults": eval_every = 10 as shipped, called as step(10) the way the CLI does: every 10
//!   steps the whole train and validation tables are evaluated and read back. This is the row
//!   compared with the page (wasm), which runs the same defaults.
//! - "small batch": "train" at batch 64 instead of 512, a model small enough that per-op
//!   overhead matters as much as arithmetic.
//!
//! `every_toy` then times each registered toy with its defaults as shipped (evaluation
//! included) on the CPU, the figure that says how long a toy's default run takes.
//!
//! On the GPU each repetition ends with one small read, so the time includes the GPU finishing
//! the work, not just recording it. The GPU discipline numbers come from `Gpu::stats()` over the
//! timed repetitions, after warm-up: submissions, buffers created and dispatches per step.

use std::rc::Rc;
use std::time::Instant;

use papertoys::Device;
use papertoys::backend::gpu::{Gpu, GpuStats};
use papertoys::toys::{self, Toy};
use serde_json::json;

use crate::Sink;
use crate::timing::gpu_sync;

/// (mode, eval_every, batch_size). "small batch" is the same training step at batch 64, where
/// per-op overhead weighs more than arithmetic (the regime the CPU target is about).
const MODES: [(&str, u64, usize); 3] = [("train", 1000, 512), ("defaults", 10, 512), ("small batch", 1000, 64)];

pub fn run(sink: &mut Sink, gpu: Option<&Rc<Gpu>>, with_gpu: bool) {
    let threads = std::thread::available_parallelism().map_or(1, |t| t.get());
    println!("\n== grokking training steps/s (defaults; median of {} repetitions; {threads} threads) ==", sink.reps());
    let mut devices = vec![Device::Cpu];
    match (with_gpu, gpu) {
        (true, Some(g)) => devices.push(Device::Gpu(g.clone())),
        (true, None) => println!("gpu: no adapter, skipped"),
        _ => {}
    }
    for device in &devices {
        for (mode, eval_every, batch) in MODES {
            let pairs = [("eval_every", eval_every.to_string()), ("batch_size", batch.to_string())];
            let r = measure_toy(sink, device, "grokking", &pairs);
            let per = |x: u64| x as f64 / r.steps as f64;
            let mut rec = json!({ "section": "training", "toy": "grokking", "backend": device.name(), "mode": mode,
                "eval_every": eval_every, "batch": batch, "threads": threads, "steps_per_s": r.steps_per_s, "min": r.min, "max": r.max,
                "steps_per_rep": r.steps_per_rep, "reps": r.reps });
            let mut line = format!("{:<4} {:<9} {:>8.2} steps/s", device.name(), mode, r.steps_per_s);
            if let Some(d) = r.gpu_delta {
                // Every repetition ends with one synchronising read (one submission) of our own.
                let subs = d.submissions - r.reps as u64;
                rec["gpu"] = json!({ "submissions_per_step": per(subs), "buffers_created_per_step": per(d.buffers_created),
                    "dispatches_per_step": per(d.dispatches) });
                line +=
                    &format!("  ({:.2} submissions, {:.2} buffers created, {:.1} dispatches per step)", per(subs), per(d.buffers_created), per(d.dispatches));
            }
            sink.record(rec);
            println!("{line}");
        }
    }
}

/// Seconds the timed repetitions of one (backend, mode) may take when a step is slow.
const SLOW_BUDGET: f64 = 30.0;

struct ToyTiming {
    steps_per_s: f64,
    min: f64,
    max: f64,
    steps_per_rep: u64,
    reps: usize,
    steps: u64,
    /// Change of `Gpu::stats()` over the timed repetitions.
    gpu_delta: Option<GpuStats>,
}

/// Steps/s of every registered toy with its defaults, on the CPU. (On lavapipe, a CPU
/// emulation of a GPU, these would take minutes and say nothing about a real GPU.)
pub fn every_toy(sink: &mut Sink) {
    println!("\n== every toy with its defaults as shipped (evaluation included), CPU steps/s ==");
    for entry in toys::REGISTRY {
        let r = measure_toy(sink, &Device::Cpu, entry.id(), &[]);
        sink.record(json!({ "section": "toys", "toy": entry.id(), "backend": "cpu", "steps_per_s": r.steps_per_s,
            "min": r.min, "max": r.max, "default_steps": entry.about.default_steps, "steps_per_rep": r.steps_per_rep, "reps": r.reps }));
        println!(
            "{:<12} {:>8.2} steps/s  (default run: {} steps, about {:.0} s)",
            entry.id(),
            r.steps_per_s,
            entry.about.default_steps,
            entry.about.default_steps as f64 / r.steps_per_s
        );
    }
}

fn measure_toy(sink: &Sink, device: &Device, id: &str, pairs: &[(&str, String)]) -> ToyTiming {
    let entry = toys::find(id).expect("the toy is registered");
    let pairs: Vec<(String, String)> = pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
    let config = entry.config_from_pairs(&pairs).expect("valid config");
    let mut toy = pollster::block_on((entry.build)(config, device.clone())).expect("toy builds");
    let eval_every = toy.eval_every();
    let gpu = match device {
        Device::Gpu(g) => Some(g.clone()),
        Device::Cpu => None,
    };
    let probe = gpu.as_ref().map(|g| g.alloc(1));
    // One timed chunk: n steps, called as step(eval_every) pieces like the CLI, then a GPU sync.
    let chunk = |toy: &mut Box<dyn Toy>, n: u64| -> f64 {
        let t = Instant::now();
        let mut done = 0;
        while done < n {
            let k = eval_every.min(n - done);
            pollster::block_on(toy.step(k)).expect("step");
            done += k;
        }
        if let (Some(g), Some(p)) = (&gpu, &probe) {
            gpu_sync(g, p);
        }
        t.elapsed().as_secs_f64()
    };
    // Warm-up: the step-0 evaluation, pipelines, the buffer pool, the bind group cache.
    chunk(&mut toy, 10);
    let per_step = chunk(&mut toy, 10) / 10.0;
    // About 4 target-lengths per repetition, in whole eval periods; "train" stays below step 1000
    // so that no evaluation falls inside the timed steps.
    let mut n = ((4.0 * sink.target_secs() / per_step) as u64).clamp(10, 200);
    n = n.div_ceil(10) * 10;
    // A slow backend (a CPU-emulated GPU: about a second per step) gets fewer repetitions,
    // at least 3, so that the whole bench stays within minutes.
    let reps = sink.reps().min((SLOW_BUDGET / (n as f64 * per_step)) as usize).max(3);
    if eval_every == 1000 {
        n = n.min((1000 - 20) / reps as u64 / 10 * 10);
    }
    let before = gpu.as_ref().map(|g| g.stats());
    let mut rates: Vec<f64> = (0..reps).map(|_| n as f64 / chunk(&mut toy, n)).collect();
    let gpu_delta = gpu.as_ref().zip(before).map(|(g, b)| {
        let a = g.stats();
        GpuStats { buffers_created: a.buffers_created - b.buffers_created, submissions: a.submissions - b.submissions, dispatches: a.dispatches - b.dispatches }
    });
    rates.sort_by(f64::total_cmp);
    ToyTiming { steps_per_s: rates[reps / 2], min: rates[0], max: rates[reps - 1], steps_per_rep: n, reps, steps: n * reps as u64, gpu_delta }
}
