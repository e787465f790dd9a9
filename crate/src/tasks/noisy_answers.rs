//! Prompts with short answers and noisy labels, for `sharpening` (Huang et al. 2024, "The
//! Sharpening Mechanism"): a data set on which the model that fits it best puts the most mass
//! on the correct answer, yet rarely writes it, greedily or by sampling.
//!
//! Each prompt (one token) has a true answer of `len` symbols from an alphabet of `alphabet`.
//! A label is the true answer with probability `coverage`; otherwise it starts with the
//! prompt's fixed *distractor* symbol (never the true first symbol) and goes on at random:
//! a tempting opening that leads nowhere in particular. So
//!   π(true answer) = coverage, π(each distractor answer) = (1 − coverage) / alphabet^(len − 1),
//! and the first symbol is the distractor with probability 1 − coverage. Below coverage ½,
//! greedy decoding therefore starts wrong and can never recover, a sample is right with
//! probability `coverage`, and the answer of highest likelihood is still the true one as long as
//! coverage > (1 − coverage) / alphabet^(len − 1) (`correct_is_modal`).

use crate::rng::Rng;

pub const BOS: u32 = 0;

pub struct NoisyAnswers {
    pub prompts: usize,
    pub len: usize,
    pub alphabet: usize,
    pub coverage: f64,
    /// The true answer of each prompt, as tokens.
    truth: Vec<Vec<u32>>,
    /// The distractor's first token for each prompt.
    distractor: Vec<u32>,
}

impl NoisyAnswers {
    /// True answers and distractors drawn from `rng`.
    pub fn new(rng: &mut Rng, prompts: usize, len: usize, alphabet: usize, coverage: f64) -> NoisyAnswers {
        let mut task = NoisyAnswers { prompts, len, alphabet, coverage, truth: vec![], distractor: vec![] };
        for _ in 0..prompts {
            let truth: Vec<u32> = (0..len).map(|_| task.symbol(rng.below(alphabet as u32))).collect();
            // Any symbol but the true first one.
            let other = rng.below(alphabet as u32 - 1);
            let first = task.symbol(other);
            task.distractor.push(if first >= truth[0] { first + 1 } else { first });
            task.truth.push(truth);
        }
        task
    }

    /// The mass of each distractor answer: (1 − coverage) / alphabet^(len − 1).
    pub fn distractor_mass(coverage: f64, len: usize, alphabet: usize) -> f64 {
        (1.0 - coverage) / libm::pow(alphabet as f64, (len - 1) as f64)
    }

    /// Whether the true answer is the single most likely one under the label distribution.
    pub fn correct_is_modal(coverage: f64, len: usize, alphabet: usize) -> bool {
        coverage > NoisyAnswers::distractor_mass(coverage, len, alphabet)
    }

    /// BOS, a token per prompt, a token per symbol.
    pub fn vocab(&self) -> usize {
        1 + self.prompts + self.alphabet
    }

    /// The prompt `i` as a one-token prefix.
    pub fn prompt(&self, i: usize) -> Vec<u32> {
        vec![1 + i as u32]
    }

    fn symbol(&self, s: u32) -> u32 {
        1 + self.prompts as u32 + s
    }

    pub fn truth(&self, i: usize) -> &[u32] {
        &self.truth[i]
    }

    /// A noisy label for prompt `i`.
    pub fn label(&self, rng: &mut Rng, i: usize) -> Vec<u32> {
        if (rng.uniform() as f64) < self.coverage {
            return self.truth[i].clone();
        }
        std::iter::once(self.distractor[i]).chain((1..self.len).map(|_| self.symbol(rng.below(self.alphabet as u32)))).collect()
    }

    /// An answer as text: symbols as letters a, b, c, …; any other token as '?'.
    pub fn text(&self, answer: &[u32]) -> String {
        answer
            .iter()
            .map(|&t| match t.checked_sub(1 + self.prompts as u32) {
                Some(s) if (s as usize) < self.alphabet => char::from(b'a' + s as u8),
                _ => '?',
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_put_coverage_on_the_truth_and_open_with_the_distractor_otherwise() {
        let task = NoisyAnswers::new(&mut Rng::stream(0, "task"), 4, 3, 8, 0.3);
        let mut rng = Rng::stream(0, "labels");
        let n = 20000;
        let (mut right, mut distracted) = (0, 0);
        for _ in 0..n {
            let y = task.label(&mut rng, 2);
            right += (y == task.truth(2)) as usize;
            distracted += (y[0] == task.distractor[2]) as usize;
        }
        // π(truth) = 0.3 (+ 0.7/64 would need the distractor to equal truth[0], which it never does).
        assert!((right as f64 / n as f64 - 0.3).abs() < 0.015, "truth drawn {right}/{n}");
        assert_eq!(right + distracted, n, "every label is the truth or opens with the distractor");
        assert_ne!(task.distractor[2], task.truth(2)[0]);
        // 0.3 > 0.7/64 but 0.3 < 0.7/2 (alphabet 2, length 2).
        assert!(NoisyAnswers::correct_is_modal(0.3, 3, 8));
        assert!(!NoisyAnswers::correct_is_modal(0.3, 2, 2));
        assert_eq!(task.text(task.truth(2)).len(), 3);
    }
}
