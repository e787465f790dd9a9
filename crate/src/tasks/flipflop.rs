//! Flip-flop languages (Liu et al., "Exposing Attention Glitches with Flip-Flop Language
//! Modeling", 2023, §3, Definition 1): strings of instruction–bit pairs over {w, r, i, 0, 1}.
//! `w b` writes bit b to a one-bit register, `i b` is noise to ignore, and `r b` reads: b must be
//! the last bit written. The first instruction is always a write and the last always a read, so
//! every string has at least one read. FFL(p_i) draws each other instruction as i with
//! probability p_i and as w or r with (1 − p_i)/2 each. Only the bit after an `r` is determined
//! by the past; those are the positions a model is scored on.
//! Token ids follow the paper's released data: w 0, r 1, i 2, bit 0 → 3, bit 1 → 4.

use crate::rng::Rng;

pub const W: u32 = 0;
pub const R: u32 = 1;
pub const I: u32 = 2;
pub const ZERO: u32 = 3;
pub const VOCAB: usize = 5;

/// The letter of a token, for showing strings.
pub fn letter(token: u32) -> char {
    ['w', 'r', 'i', '0', '1'][token as usize]
}

/// Strings of one flip-flop language, laid end to end.
pub struct Set {
    /// (N·T) token ids.
    pub tokens: Vec<u32>,
    /// Flat positions (into `tokens`) of every `r`: the model's output there must be the bit read.
    pub reads: Vec<u32>,
    /// (len(reads)) the correct next token at each read, ZERO or ZERO + 1.
    pub bits: Vec<u32>,
    pub seq_len: usize,
}

impl Set {
    /// `n` strings of `seq_len` tokens (seq_len/2 instructions) from FFL(p_ignore).
    pub fn sample(rng: &mut Rng, n: usize, seq_len: usize, p_ignore: f32) -> Set {
        debug_assert!(seq_len >= 4 && seq_len.is_multiple_of(2));
        let pairs = seq_len / 2;
        let mut set = Set { tokens: Vec::with_capacity(n * seq_len), reads: vec![], bits: vec![], seq_len };
        for _ in 0..n {
            let mut register = ZERO;
            for k in 0..pairs {
                let op = if k == 0 {
                    W
                } else if k == pairs - 1 {
                    R
                } else {
                    let u = rng.uniform();
                    if u < p_ignore {
                        I
                    } else if u < p_ignore + (1.0 - p_ignore) / 2.0 {
                        W
                    } else {
                        R
                    }
                };
                let bit = if op == R { register } else { ZERO + (rng.next_u32() & 1) };
                if op == W {
                    register = bit;
                }
                if op == R {
                    set.reads.push(set.tokens.len() as u32);
                    set.bits.push(bit);
                }
                set.tokens.push(op);
                set.tokens.push(bit);
            }
        }
        set
    }

    pub fn len(&self) -> usize {
        self.tokens.len() / self.seq_len
    }
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// String `s` as letters, e.g. "w1i0r1".
    pub fn text(&self, s: usize) -> String {
        self.tokens[s * self.seq_len..][..self.seq_len].iter().map(|&t| letter(t)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_return_the_last_write() {
        let set = Set::sample(&mut Rng::stream(3, "data"), 200, 64, 0.8);
        assert_eq!(set.tokens.len(), 200 * 64);
        assert!(set.reads.len() >= 200, "every string ends with a read");
        for (&at, &bit) in set.reads.iter().zip(&set.bits) {
            let at = at as usize;
            assert_eq!(set.tokens[at], R);
            assert_eq!(set.tokens[at + 1], bit);
            let start = at - at % 64;
            let last_write = (start..at).step_by(2).rev().find(|&j| set.tokens[j] == W).expect("starts with a write");
            assert_eq!(set.tokens[last_write + 1], bit, "string {}", set.text(at / 64));
        }
        assert!(set.text(0).starts_with('w'));
    }

    #[test]
    fn ignore_probability_sets_the_instruction_mix() {
        let count = |p: f32| {
            let set = Set::sample(&mut Rng::stream(1, "data"), 400, 128, p);
            let ignores = set.tokens.iter().step_by(2).filter(|&&t| t == I).count();
            ignores as f32 / (400.0 * 62.0) // the 62 instructions between the fixed first and last
        };
        assert!((count(0.98) - 0.98).abs() < 0.01);
        assert!((count(0.8) - 0.8).abs() < 0.02);
        assert!((count(0.1) - 0.1).abs() < 0.02);
    }
}
