//! The toys' tests, in one binary: `smoke` runs every toy of the registry on both backends;
//! `training` checks what the harness promises of a run (determinism, GPU parity, no per-step
//! allocation); then one module per toy reproduces its paper's claim on a reduced budget,
//! through the same `Toy` interface as the CLI and the page.

mod support;

mod smoke;
mod training;

mod backtrack;
mod flipflop;
mod grokfast;
mod grokking;
mod hedgehog;
mod icl_linreg;
mod sharpening;
mod stablemax;
