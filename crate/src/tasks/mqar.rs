//! Multi-query associative recall (MQAR; Arora et al., "Zoology: Measuring and Improving Recall
//! in Efficient Language Models", 2023, §3.2): a sequence lists key–value pairs, then asks for
//! several of the keys again; after each queried key the model must produce that key's value.
//! Keys come from the first half of the vocabulary and values from the second, as in Zoology.
//!
//! Layout of one sequence of T = 2·(pairs + queries) tokens:
//! `k1 v1 k2 v2 … kP vP | q1 a1 q2 a2 … qQ aQ`, the P keys distinct, the queries Q distinct keys
//! among them in random order, each followed by its value a = v(q). A model is scored at the
//! query positions only: the next token after q_i must be a_i. Zoology spreads the queries among
//! noise tokens over a longer sequence; here they come back to back, which keeps T small.

use crate::rng::Rng;

/// Sequences of one MQAR task, laid end to end.
pub struct Set {
    /// (N·T) token ids.
    pub tokens: Vec<u32>,
    /// Flat positions (into `tokens`) of every queried key: where the value must be predicted.
    pub queries: Vec<u32>,
    /// (len(queries)) the value that follows each queried key.
    pub answers: Vec<u32>,
}

impl Set {
    /// `n` sequences over `vocab` tokens (keys below vocab/2, values from vocab/2 on) with
    /// `pairs` key–value pairs and `queries` ≤ `pairs` queries each; pairs ≤ vocab/2.
    pub fn sample(rng: &mut Rng, n: usize, vocab: usize, pairs: usize, queries: usize) -> Set {
        debug_assert!(queries <= pairs && pairs <= vocab / 2);
        let half = (vocab / 2) as u32;
        let t = 2 * (pairs + queries);
        let mut set = Set { tokens: Vec::with_capacity(n * t), queries: vec![], answers: vec![] };
        let mut keys: Vec<u32> = (0..half).collect();
        let mut order: Vec<usize> = (0..pairs).collect();
        for s in 0..n {
            rng.shuffle(&mut keys);
            let values: Vec<u32> = (0..pairs).map(|_| half + rng.below(vocab as u32 - half)).collect();
            for i in 0..pairs {
                set.tokens.extend([keys[i], values[i]]);
            }
            rng.shuffle(&mut order);
            for (j, &i) in order[..queries].iter().enumerate() {
                set.queries.push((s * t + 2 * (pairs + j)) as u32);
                set.answers.push(values[i]);
                set.tokens.extend([keys[i], values[i]]);
            }
        }
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_query_is_an_earlier_key_followed_by_its_value() {
        let (vocab, pairs, queries) = (16, 5, 3);
        let set = Set::sample(&mut Rng::stream(1, "mqar"), 4, vocab, pairs, queries);
        let t = 2 * (pairs + queries);
        assert_eq!((set.tokens.len(), set.queries.len()), (4 * t, 4 * queries));
        for (&q, &a) in set.queries.iter().zip(&set.answers) {
            let (s, pos) = (q as usize / t, q as usize % t);
            let seq = &set.tokens[s * t..][..t];
            assert!(pos >= 2 * pairs && seq[pos] < 8 && seq[pos + 1] == a && a >= 8, "query {pos} of {seq:?}");
            let i = (0..pairs).find(|&i| seq[2 * i] == seq[pos]).expect("a query is one of the keys");
            assert_eq!(seq[2 * i + 1], a, "the answer is the key's value");
            let mut keys: Vec<u32> = (0..pairs).map(|i| seq[2 * i]).collect();
            keys.sort();
            keys.dedup();
            assert_eq!(keys.len(), pairs, "keys are distinct");
        }
    }
}
