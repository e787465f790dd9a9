//! Metric rows and the run digest.
//!
//! A toy reports rows (step, values) whose names it declares once (`train/loss`, `val/acc`, …).
//! The digest names a run's results: the first 16 hex digits of SHA-256 over every row,
//! each encoded as the step (u64, little-endian) followed by its values (f32 bits,
//! little-endian), in order. Timing never enters a row, so a CPU run's digest is the same on
//! every machine and in the browser, which computes it with this same code compiled to wasm.

use serde::Serialize;
use sha2::{Digest as _, Sha256};

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MetricRow {
    pub step: u64,
    pub values: Vec<f32>,
}

#[derive(Clone, Default)]
pub struct Digest(Sha256);

impl Digest {
    pub fn update(&mut self, row: &MetricRow) {
        self.0.update(row.step.to_le_bytes());
        for v in &row.values {
            self.0.update(v.to_bits().to_le_bytes());
        }
    }

    pub fn hex(&self) -> String {
        self.0.clone().finalize()[..8].iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// A row as one line of JSON, {"step": s, "<name>": value, …}, with each value in its shortest
/// f32 form (0.1, not 0.10000000149011612); non-finite values become null.
pub fn row_json(names: &[&str], row: &MetricRow) -> String {
    let mut s = format!("{{\"step\":{}", row.step);
    for (n, v) in names.iter().zip(&row.values) {
        let v = if v.is_finite() { serde_json::to_string(v).expect("finite f32") } else { "null".into() };
        s += &format!(",{}:{v}", serde_json::to_string(n).expect("str"));
    }
    s + "}"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_depends_on_every_bit() {
        let row = |v: f32| MetricRow { step: 10, values: vec![0.5, v] };
        let (mut a, mut b, mut c) = (Digest::default(), Digest::default(), Digest::default());
        a.update(&row(1.0));
        b.update(&row(1.0));
        c.update(&row(f32::from_bits(1.0f32.to_bits() + 1)));
        assert_eq!(a.hex(), b.hex());
        assert_ne!(a.hex(), c.hex());
        assert_eq!(a.hex().len(), 16);
    }
}
