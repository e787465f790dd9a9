//! Timing: calibrate, repeat, take the median. And the one way GPU work is synchronised.

use std::time::Instant;

use papertoys::backend::gpu::{Gpu, GpuBuffer};

/// Seconds per iteration: the median (what the tables quote) and the spread of the repetitions.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    /// Iterations per repetition.
    pub iters: usize,
    pub reps: usize,
}

/// Seconds a slow measurement may spend on its repetitions.
const SLOW_BUDGET: f64 = 8.0;

fn secs(f: impl FnOnce()) -> f64 {
    let t = Instant::now();
    f();
    t.elapsed().as_secs_f64()
}

/// `run(n)` performs n iterations (and, on the GPU, waits for them). Warms up, picks n so that
/// one repetition takes about `target` seconds, then times `reps` repetitions.
pub fn measure(target: f64, reps: usize, mut run: impl FnMut(usize)) -> Timing {
    // The first call pays for pipeline compilation and page faults: it only calibrates roughly.
    let one = secs(|| run(1)).max(1e-7);
    let (mut iters, mut reps) = (1, reps);
    if one >= target {
        // Slow (a 2048² product on a CPU-emulated GPU takes seconds): one iteration per
        // repetition, and no more repetitions than fit in SLOW_BUDGET, but at least 3.
        reps = reps.min((SLOW_BUDGET / one) as usize).max(3);
    } else {
        iters = ((target / one) as usize).clamp(1, 1_000_000);
        let t = secs(|| run(iters)).max(1e-7);
        if t < 0.5 * target {
            iters = ((iters as f64 * target / t) as usize).clamp(1, 1_000_000);
        }
    }
    let mut samples: Vec<f64> = (0..reps).map(|_| secs(|| run(iters)) / iters as f64).collect();
    samples.sort_by(f64::total_cmp);
    Timing { median: samples[samples.len() / 2], min: samples[0], max: samples[samples.len() - 1], iters, reps }
}

/// Waits until the GPU has run everything recorded so far: one read of a 1-element buffer
/// (a submission, a map, a wait). Part of the measured time, never subtracted.
pub fn gpu_sync(gpu: &Gpu, probe: &GpuBuffer) {
    pollster::block_on(gpu.read(&[probe])).unwrap_or_else(|e| panic!("GPU read failed: {e}"));
}

/// Largest |got − want| and whether every element is within atol + rtol·|want|.
pub fn max_diff(got: &[f32], want: &[f32], atol: f32, rtol: f32) -> (f32, bool) {
    assert_eq!(got.len(), want.len());
    let mut worst = 0.0f32;
    let mut ok = true;
    for (&g, &w) in got.iter().zip(want) {
        let d = (g - w).abs();
        worst = worst.max(d);
        ok &= d <= atol + rtol * w.abs();
    }
    (worst, ok)
}

/// Deterministic inputs in [-1, 1), from the project's own seeded streams.
pub fn random(n: usize, seed: u32) -> Vec<f32> {
    let mut rng = papertoys::rng::Rng::stream(seed as u64, "bench");
    (0..n).map(|_| 2.0 * rng.uniform() - 1.0).collect()
}
