//! papertoys: runnable toy reproductions of machine-learning papers.
//!
//! The engine (`tensor`, `autograd`, `nn`, `optim` over the `backend`s, whose size limits are
//! `limits`), the toys, and the
//! wasm bindings for the browser. The native CLI is `src/bin/papertoys.rs`.
//! A run is a pure function of (toy id, config, seed, backend): see `rng` and `metrics`.

pub mod autograd;
pub mod backend;
pub mod error;
pub mod figures;
pub mod learner;
pub mod limits;
pub mod linear_self_attention;
pub mod metrics;
pub mod nn;
pub mod optim;
pub mod rng;
pub mod sample;
pub mod schema;
pub mod tasks;
pub mod tensor;
pub mod toys;
#[cfg(feature = "cli")]
pub mod typescript;

pub use error::{Error, Result};
pub use tensor::{Device, Tensor};
#[cfg(target_arch = "wasm32")]
pub mod wasm;
