//! Constrained generation with a generator and a verifier: the samplers compared by Botta et
//! al. (2025), "On the Query Complexity of Verifier-Assisted Language Generation",
//! https://arxiv.org/abs/2502.12123.
//!
//! * blockwise rejection: generate a whole string, check it, start over if it is invalid;
//!   with top-p < 1 this is nucleus sampling with accept/reject;
//! * tokenwise rejection: after each token ask the process verifier whether the prefix can
//!   still be completed, and draw that token again until it can;
//! * tokenwise rejection with backtracking (the paper's Algorithm 1): when the verifier rejects
//!   a token, also erase the last `backtrack` tokens, at most `max_backtracks` times a string;
//!   the erased positions are then redone with the generator's most likely token, as the
//!   authors' released code does by default (`redo_backtrack_with_argmax`).
//!
//! Each draw is one generator query, as in the paper's cost model (a rejected token redrawn
//! from the same distribution counts again). A `Chain` keeps drawing strings for one prompt until
//! it has spent its query budget; `run` advances many chains together, one batched forward pass
//! per round for the chains that need a new next-token distribution.

use super::{argmax, draw, next_logprobs};
use crate::error::Result;
use crate::nn::Transformer;
use crate::rng::Rng;
use crate::tensor::Device;

/// What the sampler may ask about the constraint.
pub trait Verifier {
    /// The process verifier: can `prefix` still be extended to a valid string?
    fn completable(&self, prefix: &[u32]) -> bool;
    /// The outcome verifier: is `s` a finished, valid string?
    fn valid(&self, s: &[u32]) -> bool;
    /// Tokens in a finished string (prompt included).
    fn length(&self) -> usize;
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Strategy {
    Blockwise { top_p: f64 },
    Tokenwise { backtrack: usize, max_backtracks: usize },
}

/// A token of the current attempt and whether it was later erased by a backtrack.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Step {
    pub token: u32,
    pub erased: bool,
}

/// A valid string found, the queries spent on the chain up to it, and how it was reached.
#[derive(Clone, Debug)]
pub struct Accepted {
    pub queries: u64,
    pub completion: Vec<u32>,
    pub trace: Vec<Step>,
}

/// Strings drawn for one prompt under one strategy until `budget` queries are spent.
pub struct Chain {
    pub strategy: Strategy,
    pub prompt: Vec<u32>,
    pub budget: u64,
    pub queries: u64,
    pub accepted: Vec<Accepted>,
    /// Strings finished that the outcome verifier rejected (blockwise only).
    pub rejected: u64,
    tokens: Vec<u32>,
    trace: Vec<Step>,
    backtracks: usize,
    /// Positions still to redo greedily after a backtrack.
    greedy: usize,
    rng: Rng,
}

impl Chain {
    pub fn new(strategy: Strategy, prompt: Vec<u32>, budget: u64, rng: Rng) -> Chain {
        Chain { strategy, tokens: prompt.clone(), prompt, budget, queries: 0, accepted: vec![], rejected: 0, trace: vec![], backtracks: 0, greedy: 0, rng }
    }

    pub fn active(&self) -> bool {
        self.queries < self.budget
    }

    /// The prefix whose next-token distribution the chain needs.
    pub fn prefix(&self) -> &[u32] {
        &self.tokens
    }

    fn push(&mut self, token: u32) {
        self.tokens.push(token);
        self.trace.push(Step { token, erased: false });
    }

    /// A finished string: keep it if valid, then start the next attempt from the prompt.
    fn finish(&mut self, v: &impl Verifier) {
        if v.valid(&self.tokens) {
            let completion = self.tokens[self.prompt.len()..].to_vec();
            self.accepted.push(Accepted { queries: self.queries, completion, trace: std::mem::take(&mut self.trace) });
        } else {
            self.rejected += 1;
        }
        self.tokens.truncate(self.prompt.len());
        self.trace.clear();
        self.backtracks = 0;
        self.greedy = 0;
    }

    /// Spends queries on the distribution `logp` after `prefix()` until the prefix changes.
    pub fn feed(&mut self, logp: &[f32], v: &impl Verifier) {
        match self.strategy {
            Strategy::Blockwise { top_p } => {
                self.queries += 1;
                let t = draw(logp, 1.0, top_p, &mut self.rng);
                self.push(t);
            }
            Strategy::Tokenwise { backtrack, max_backtracks } => loop {
                if !self.active() {
                    return;
                }
                self.queries += 1;
                let t = if self.greedy > 0 { argmax(logp) } else { draw(logp, 1.0, 1.0, &mut self.rng) };
                self.tokens.push(t);
                if v.completable(&self.tokens) {
                    self.tokens.pop();
                    self.push(t);
                    self.greedy = self.greedy.saturating_sub(1);
                    break;
                }
                self.tokens.pop();
                // A rejected greedy token would be drawn again forever: sample from here on.
                self.greedy = 0;
                let generated = self.tokens.len() - self.prompt.len();
                if backtrack > 0 && generated > 0 && self.backtracks < max_backtracks {
                    let erase = backtrack.min(generated);
                    self.backtracks += 1;
                    self.greedy = erase;
                    self.tokens.truncate(self.tokens.len() - erase);
                    // Mark the last kept tokens of the trace as erased, newest first.
                    let mut left = erase;
                    for s in self.trace.iter_mut().rev().filter(|s| !s.erased) {
                        if left == 0 {
                            break;
                        }
                        s.erased = true;
                        left -= 1;
                    }
                    return;
                }
            },
        }
        if self.tokens.len() == v.length() {
            self.finish(v);
        }
    }
}

/// Runs every chain until it has spent its budget: each round, one forward pass answers the
/// queries of all active chains.
pub async fn run(model: &Transformer, device: &Device, bos: u32, v: &impl Verifier, chains: &mut [Chain]) -> Result<()> {
    loop {
        let active: Vec<usize> = (0..chains.len()).filter(|&i| chains[i].active()).collect();
        if active.is_empty() {
            return Ok(());
        }
        let prefixes: Vec<&[u32]> = active.iter().map(|&i| chains[i].prefix()).collect();
        let logps = next_logprobs(model, device, bos, &prefixes).await?;
        for (&i, logp) in active.iter().zip(&logps) {
            chains[i].feed(logp, v);
        }
    }
}
