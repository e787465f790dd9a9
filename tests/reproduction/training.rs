//! Whole training runs through the harness: a CPU run is a pure function of its config and seed,
//! stepping in pieces changes nothing, and the GPU backend (on Mesa's lavapipe here) follows the
//! CPU within a stated tolerance for 50 steps, repeats itself exactly, and allocates nothing per
//! step after warm-up.

use papertoys::Device;

use crate::support::{build, build_on, gpu, run, step};

/// Small enough for lavapipe: p = 23, width 32, two layers so that attention backward
/// feeds a second block.
const SMALL: &[(&str, &str)] = &[("p", "23"), ("d_model", "32"), ("heads", "4"), ("layers", "2"), ("batch_size", "128"), ("eval_every", "10")];

#[test]
fn cpu_run_is_a_pure_function_of_config_and_seed() {
    let (a, b) = (run("grokking", SMALL, 20), run("grokking", SMALL, 20));
    assert_eq!(a.0.0, b.0.0, "same config and seed, same rows bit for bit");
    assert_eq!(a.digest(), b.digest());
    let other_seed = [SMALL, &[("seed", "1")]].concat();
    assert_ne!(a.digest(), run("grokking", &other_seed, 20).digest());
}

#[test]
fn stepping_in_pieces_gives_the_same_rows() {
    let whole = run("grokking", SMALL, 30);
    let mut toy = build("grokking", SMALL);
    let mut pieces = step(&mut toy, 7).0.0;
    pieces.extend(step(&mut toy, 23).0.0);
    assert_eq!(whole.0.0, pieces);
}

#[test]
fn gpu_follows_cpu_for_50_steps_and_repeats_exactly() {
    let cpu = run("grokking", SMALL, 50);
    let dev = gpu();
    let g1 = step(&mut build_on(&dev, "grokking", SMALL), 50);
    let g2 = step(&mut build_on(&dev, "grokking", SMALL), 50);
    assert_eq!(g1.0, g2.0, "the same GPU run twice gives identical metrics");
    assert_eq!(cpu.0.0.len(), g1.0.len());
    // Tolerances: GPU sums run in another (fixed) order and may fuse multiply-adds, so values
    // drift by float rounding that 50 Adam steps amplify a little. Losses and the weight norm
    // within 1% relative; an accuracy may differ by a few borderline equations (2 % of ~260).
    for (c, g) in cpu.0.0.iter().zip(&g1.0) {
        assert_eq!(c.step, g.step);
        for (name, (&cv, &gv)) in c.names.iter().zip(c.values.iter().zip(&g.values)) {
            let tol = if name.ends_with("acc") { 0.02 } else { 1e-2 * cv.abs().max(1.0) };
            assert!((cv - gv).abs() <= tol, "step {}: {name} cpu {cv} gpu {gv} (|diff| {} > {tol})", c.step, (cv - gv).abs());
        }
    }
}

#[test]
fn gpu_training_allocates_no_buffers_after_warm_up() {
    let dev = gpu();
    let Device::Gpu(g) = &dev else { unreachable!() };
    let mut toy = build_on(&dev, "grokking", SMALL);
    step(&mut toy, 20); // warm-up: two eval points and minibatches
    let before = g.stats();
    step(&mut toy, 20);
    let after = g.stats();
    assert_eq!(after.buffers_created, before.buffers_created, "training steps after warm-up created buffers");
    // One submission per step (uploads of minibatch ids and the seed gradient go to buffers no
    // recorded work uses, so they need none), plus one readback per evaluation point.
    let per_step = (after.submissions - before.submissions) as f64 / 20.0;
    assert!(per_step <= 1.0 + 2.0 / 20.0, "{per_step} submissions per step");
}
