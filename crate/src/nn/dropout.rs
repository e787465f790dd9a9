//! `Dropout`: inverted dropout whose masks are drawn from the run's seeded stream, so that a run
//! stays a pure function of its seed and both backends drop the same units.

use std::cell::RefCell;

use crate::backend::DropoutMask;
use crate::rng::Rng;
use crate::tensor::Tensor;

/// Inverted dropout for training: each call draws a fresh mask seed from the run's stream, so a
/// run stays a pure function of its seed and both backends drop the same units.
pub struct Dropout {
    pub p: f32,
    seeds: RefCell<Rng>,
}

impl Dropout {
    pub fn new(p: f32, seeds: Rng) -> Dropout {
        Dropout { p, seeds: RefCell::new(seeds) }
    }
    pub fn apply(&self, x: &Tensor) -> Tensor {
        x.dropout(DropoutMask::new(self.p, self.seeds.borrow_mut().next_u32()))
    }
}

/// `x` with `dropout` applied, when there is one.
pub(super) fn maybe_drop(x: Tensor, dropout: Option<&Dropout>) -> Tensor {
    match dropout {
        Some(d) => d.apply(&x),
        None => x,
    }
}
