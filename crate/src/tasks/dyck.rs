//! Dyck-k: balanced strings over k bracket types, the constrained language of `backtrack`
//! (Botta et al. 2025, §5.1 uses a Dyck grammar too). Tokens: 0 is BOS, 1..=k open a bracket
//! of type t, k+1..=2k close type t − k.
//!
//! Three things the toy needs: training strings of a fixed length whose nesting never goes
//! deeper than a cap, prompts that open deeper than that cap (so the trained model is off its
//! training distribution), and the exact process verifier: can this prefix still be completed
//! to a balanced string of the target length?

use crate::rng::Rng;
use crate::sample::constrained::Verifier;

pub const BOS: u32 = 0;

#[derive(Clone, Copy, Debug)]
pub struct Dyck {
    /// Bracket types.
    pub k: usize,
    /// Length of every string (even).
    pub len: usize,
}

/// How a new bracket's type is drawn: `favoured` with probability `p`, else uniformly among the
/// others (the authors' Dyck data: types 0.2 / 0.8 for training, swapped off-distribution).
#[derive(Clone, Copy, Debug)]
pub struct TypeMix {
    pub favoured: u32,
    pub p: f32,
}

impl Dyck {
    /// BOS plus k openers and k closers.
    pub fn vocab(&self) -> usize {
        2 * self.k + 1
    }

    fn opener(&self, tok: u32) -> Option<u32> {
        (1..=self.k as u32).contains(&tok).then_some(tok)
    }

    fn closer(&self, tok: u32) -> Option<u32> {
        let k = self.k as u32;
        (k + 1..=2 * k).contains(&tok).then(|| tok - k)
    }

    /// `prefix` (completable) completed at random to `len` tokens, never deeper than
    /// `max_depth` from there on: a walk that opens or closes with probability ½ each where
    /// both keep it completable. From an empty prefix: a training string.
    pub fn complete(&self, rng: &mut Rng, prefix: &[u32], max_depth: usize, mix: TypeMix) -> Vec<u32> {
        let mut stack = self.stack(prefix).expect("a completable prefix");
        let mut out = prefix.to_vec();
        while out.len() < self.len {
            let left = self.len - out.len();
            let can_open = stack.len() < max_depth && stack.len() < left - 1;
            let open = stack.is_empty() || (can_open && rng.below(2) == 0);
            if open {
                let t = self.pick(rng, mix);
                stack.push(t);
                out.push(t);
            } else {
                out.push(stack.pop().expect("closing a non-empty stack") + self.k as u32);
            }
        }
        out
    }

    /// A bracket type (an opener token) drawn from `mix`.
    fn pick(&self, rng: &mut Rng, mix: TypeMix) -> u32 {
        if self.k == 1 || rng.uniform() < mix.p {
            return mix.favoured;
        }
        let other = 1 + rng.below(self.k as u32 - 1);
        if other >= mix.favoured { other + 1 } else { other }
    }

    /// A prompt of `depth` openers with types from `mix`: off the training distribution when
    /// `depth` exceeds the training cap or `mix` differs from the training mix.
    pub fn prompt(&self, rng: &mut Rng, depth: usize, mix: TypeMix) -> Vec<u32> {
        (0..depth).map(|_| self.pick(rng, mix)).collect()
    }

    /// The open stack of `prefix`, or None if a closer does not match (or a BOS appears).
    fn stack(&self, prefix: &[u32]) -> Option<Vec<u32>> {
        let mut stack = Vec::new();
        for &tok in prefix {
            if let Some(t) = self.opener(tok) {
                stack.push(t);
            } else if self.closer(tok)? != stack.pop()? {
                return None;
            }
        }
        Some(stack)
    }

    /// The process verifier: `prefix` extends to a balanced string of `len` tokens iff every
    /// closer matches and the open brackets fit in what is left (parity then follows).
    pub fn completable(&self, prefix: &[u32]) -> bool {
        prefix.len() <= self.len && self.stack(prefix).is_some_and(|s| s.len() <= self.len - prefix.len())
    }

    /// A whole string is valid iff it has the target length and is balanced.
    pub fn valid(&self, s: &[u32]) -> bool {
        s.len() == self.len && self.completable(s)
    }

    /// The brackets as text: ( [ { < and their closers; BOS as '^'.
    pub fn render(&self, tok: u32) -> char {
        const OPEN: [char; 4] = ['(', '[', '{', '<'];
        const CLOSE: [char; 4] = [')', ']', '}', '>'];
        match (self.opener(tok), self.closer(tok)) {
            (Some(t), _) => OPEN[(t - 1) as usize],
            (_, Some(t)) => CLOSE[(t - 1) as usize],
            _ => '^',
        }
    }

    pub fn text(&self, s: &[u32]) -> String {
        s.iter().map(|&t| self.render(t)).collect()
    }
}

impl Verifier for Dyck {
    fn completable(&self, prefix: &[u32]) -> bool {
        Dyck::completable(self, prefix)
    }
    fn valid(&self, s: &[u32]) -> bool {
        Dyck::valid(self, s)
    }
    fn length(&self) -> usize {
        self.len
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: Dyck = Dyck { k: 2, len: 8 };

    fn toks(s: &str) -> Vec<u32> {
        s.chars()
            .map(|c| match c {
                '(' => 1,
                '[' => 2,
                ')' => 3,
                ']' => 4,
                _ => 0,
            })
            .collect()
    }

    #[test]
    fn verifier_checks_types_and_room_left() {
        assert!(D.completable(&toks("([")), "two open, six left");
        assert!(D.completable(&toks("([])")));
        assert!(!D.completable(&toks("([)")), "a ) cannot close a [");
        assert!(!D.completable(&toks(")")), "nothing to close");
        assert!(!D.completable(&toks("(((([")), "five open with three left cannot close");
        assert!(D.completable(&toks("((((")), "four open, four left: exactly enough");
        assert!(D.valid(&toks("([])()[]")));
        assert!(!D.valid(&toks("([])()[")), "too short");
        assert!(!D.valid(&toks("((((")), "unclosed");
        assert!(!D.completable(&[BOS]), "BOS is not a bracket");
    }

    #[test]
    fn samples_are_valid_and_respect_the_depth_cap() {
        let mut rng = Rng::stream(0, "test");
        let d = Dyck { k: 3, len: 20 };
        for _ in 0..200 {
            let s = d.complete(&mut rng, &[], 3, TypeMix { favoured: 2, p: 0.5 });
            assert!(d.valid(&s), "{}", d.text(&s));
            let mut depth = 0i32;
            for &t in &s {
                depth += if t <= 3 { 1 } else { -1 };
                assert!(depth <= 3, "{} goes deeper than 3", d.text(&s));
            }
        }
    }
}
