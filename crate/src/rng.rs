//! Seeded random streams. Every random draw of a run comes from `config.seed` through a named
//! stream ("data", "init", "sampling", …), so that a run is a pure function of its config and
//! adding draws to one stream never shifts another. ChaCha8 gives the same numbers on every
//! target; uniforms are built from the raw bits and normals by Box–Muller with `libm`, not
//! from a distribution crate whose float code might differ between native and wasm.

use rand_chacha::ChaCha8Rng;
use rand_core::{Rng as _, SeedableRng};

pub struct Rng(ChaCha8Rng);

impl Rng {
    /// The stream `name` of run `seed`: the seed and an FNV-1a hash of the name pick the key.
    pub fn stream(seed: u64, name: &str) -> Rng {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in name.bytes() {
            h = (h ^ b as u64).wrapping_mul(0x0100_0000_01b3);
        }
        let mut key = [0u8; 32];
        key[..8].copy_from_slice(&seed.to_le_bytes());
        key[8..16].copy_from_slice(&h.to_le_bytes());
        Rng(ChaCha8Rng::from_seed(key))
    }

    pub fn next_u32(&mut self) -> u32 {
        self.0.next_u32()
    }

    /// Uniform in [0, 1) with 24 random bits, exactly representable in f32.
    pub fn uniform(&mut self) -> f32 {
        (self.next_u32() >> 8) as f32 * (1.0 / (1u32 << 24) as f32)
    }

    /// Uniform integer in [0, n), by rejection so that it is unbiased.
    pub fn below(&mut self, n: u32) -> u32 {
        let zone = u32::MAX - u32::MAX % n;
        loop {
            let x = self.next_u32();
            if x < zone {
                return x % n;
            }
        }
    }

    /// Standard normal by Box–Muller (one of the pair is discarded to keep streams simple).
    pub fn normal(&mut self) -> f32 {
        let u1 = 1.0 - self.uniform(); // (0, 1], so ln is finite
        let u2 = self.uniform();
        libm::sqrtf(-2.0 * libm::logf(u1)) * libm::cosf(2.0 * core::f32::consts::PI * u2)
    }

    /// Fisher–Yates shuffle.
    pub fn shuffle<T>(&mut self, xs: &mut [T]) {
        for i in (1..xs.len()).rev() {
            let j = self.below(i as u32 + 1) as usize;
            xs.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_independent() {
        let a: Vec<u32> = (0..4).map(|_| Rng::stream(7, "data").next_u32()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]), "same stream, same first draw");
        assert_ne!(Rng::stream(7, "data").next_u32(), Rng::stream(7, "init").next_u32());
        assert_ne!(Rng::stream(7, "data").next_u32(), Rng::stream(8, "data").next_u32());
    }

    #[test]
    fn normal_has_unit_moments() {
        let mut r = Rng::stream(1, "init");
        let xs: Vec<f32> = (0..20000).map(|_| r.normal()).collect();
        let mean = xs.iter().sum::<f32>() / xs.len() as f32;
        let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f32>() / xs.len() as f32;
        assert!(mean.abs() < 0.03, "mean {mean}");
        assert!((var - 1.0).abs() < 0.05, "var {var}");
    }
}
