//! Modular arithmetic tables for grokking (Power et al., "Grokking: Generalization Beyond
//! Overfitting on Small Algorithmic Datasets", §2): every equation `a ∘ b = c (mod p)`, written
//! as the four tokens `a ∘ b =` with the answer c predicted at the last position.
//! Token ids: 0..p are the numbers, p is the operator, p+1 is "=".

use crate::rng::Rng;

crate::choice! {
    /// The binary operations of the paper's Table 1 that are defined on every pair (or every
    /// pair with b ≠ 0, for division).
    pub enum Op {
        Add = "add",
        Sub = "sub",
        Mul = "mul",
        Div = "div",
        Quad = "quad",
        CubeSum = "cube_sum",
    }
}

pub struct Split {
    /// (N·4) token ids, four per equation.
    pub tokens: Vec<u32>,
    /// (N) answers.
    pub targets: Vec<u32>,
}

impl Split {
    pub fn len(&self) -> usize {
        self.targets.len()
    }
    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }
}

pub const SEQ_LEN: usize = 4;

fn pow_mod(mut base: u64, mut exp: u64, p: u64) -> u64 {
    let mut acc = 1;
    base %= p;
    while exp > 0 {
        if exp & 1 == 1 {
            acc = acc * base % p;
        }
        base = base * base % p;
        exp >>= 1;
    }
    acc
}

/// How `op` is written between a and b in a figure's title.
pub fn symbol(op: Op) -> &'static str {
    match op {
        Op::Add => "+",
        Op::Sub => "−",
        Op::Mul => "·",
        Op::Div => "÷",
        Op::Quad => "∘ (a²+ab+b²)",
        Op::CubeSum => "∘ (a³+b³)",
    }
}

/// a ∘ b mod p, or None where the operation is undefined (division by 0).
pub fn apply(op: Op, a: u64, b: u64, p: u64) -> Option<u64> {
    Some(match op {
        Op::Add => (a + b) % p,
        Op::Sub => (a + p - b) % p,
        Op::Mul => a * b % p,
        // a / b = a · b^(p−2) by Fermat's little theorem (p prime).
        Op::Div if b == 0 => return None,
        Op::Div => a * pow_mod(b, p - 2, p) % p,
        Op::Quad => (a * a + a * b + b * b) % p,
        Op::CubeSum => (a * a % p * a + b * b % p * b) % p,
    })
}

/// All equations of the table, shuffled by the "data" stream, split into (train, val) with
/// round(train_fraction · N) training equations.
pub fn split(p: u64, op: Op, train_fraction: f64, seed: u64) -> (Split, Split) {
    let mut eqs: Vec<[u32; 5]> = Vec::new();
    for a in 0..p {
        for b in 0..p {
            if let Some(c) = apply(op, a, b, p) {
                eqs.push([a as u32, p as u32, b as u32, p as u32 + 1, c as u32]);
            }
        }
    }
    Rng::stream(seed, "data").shuffle(&mut eqs);
    let n_train = ((train_fraction * eqs.len() as f64).round() as usize).clamp(1, eqs.len() - 1);
    let to_split = |es: &[[u32; 5]]| Split { tokens: es.iter().flat_map(|e| e[..4].iter().copied()).collect(), targets: es.iter().map(|e| e[4]).collect() };
    (to_split(&eqs[..n_train]), to_split(&eqs[n_train..]))
}

pub fn is_prime(p: u64) -> bool {
    p >= 2 && (2..).take_while(|d| d * d <= p).all(|d| !p.is_multiple_of(d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_right() {
        assert_eq!(apply(Op::Add, 5, 6, 7), Some(4));
        assert_eq!(apply(Op::Sub, 2, 5, 7), Some(4));
        assert_eq!(apply(Op::Div, 3, 5, 7), Some(2)); // 2·5 = 10 ≡ 3
        assert_eq!(apply(Op::Div, 3, 0, 7), None);
        assert_eq!(apply(Op::Quad, 1, 2, 7), Some(0)); // 1 + 2 + 4 = 7
        let (tr, va) = split(7, Op::Div, 0.5, 1);
        assert_eq!(tr.len() + va.len(), 42);
        assert_eq!(tr.len(), 21);
        assert_eq!(tr.tokens.len(), 4 * 21);
        assert!(is_prime(97) && !is_prime(91));
    }
}
