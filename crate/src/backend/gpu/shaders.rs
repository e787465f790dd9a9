//! The shader table of contents: every WGSL file in `shaders/` that the engine runs, included at
//! compile time, and every compute entry point the GPU backend dispatches, with its binding
//! layout. (softmax.wgsl and heads.wgsl serve only the attention benchmark's unfused reference,
//! which lists them itself: crate/benches/benchmarks/unfused_attention.rs.)
//!
//! Binding convention shared by all files: `@group(0) @binding(0)` is a uniform struct of 4-byte
//! sizes and scalars; storage buffers follow at bindings 1, 2, … in the Rust method's argument
//! order, inputs `read`, outputs `read_write`. The layouts below must match the WGSL
//! declarations; a mismatch is a wgpu validation error naming the entry point.

/// Tiled batched matmul (and the naive reference variant).
pub const MATMUL: &str = include_str!("../../../../shaders/matmul.wgsl");
/// add, mul, scale, add_bias, and the unary ops of `backend::UnaryOp` (GELU, ReLU, elu+1, exp).
pub const ELEMENTWISE: &str = include_str!("../../../../shaders/elementwise.wgsl");
/// sum, sum_squares, sum_rows, count_zeros.
pub const REDUCE: &str = include_str!("../../../../shaders/reduce.wgsl");
/// The AdamW update and ⊥Grad's projection.
pub const OPTIM: &str = include_str!("../../../../shaders/optim.wgsl");
/// Layer normalisation, forward and backward.
pub const LAYERNORM: &str = include_str!("../../../../shaders/layernorm.wgsl");
/// Fused causal softmax attention, forward and backward.
pub const ATTENTION: &str = include_str!("../../../../shaders/attention.wgsl");
/// Causal linear attention as a scan over time, forward and backward.
pub const LINEAR_ATTENTION: &str = include_str!("../../../../shaders/linear_attention.wgsl");
/// The entropy of attention rows and its gradient (the attention-sharpening penalty).
pub const ATTENTION_ENTROPY: &str = include_str!("../../../../shaders/attention_entropy.wgsl");
/// Softmax and StableMax cross-entropy, forward and backward.
pub const CROSS_ENTROPY: &str = include_str!("../../../../shaders/cross_entropy.wgsl");
/// gather_rows (embedding lookup) and scatter_rows (its gradient).
pub const EMBEDDING: &str = include_str!("../../../../shaders/embedding.wgsl");
/// Inverted dropout with a counter-based mask (forward and backward are the same kernel).
pub const DROPOUT: &str = include_str!("../../../../shaders/dropout.wgsl");
/// Grokfast's slow-gradient (EMA) filter.
pub const GRAD_FILTER: &str = include_str!("../../../../shaders/grad_filter.wgsl");
/// Row-wise log-softmax, forward and backward (next-token log-probabilities for sampling).
pub const LOG_SOFTMAX: &str = include_str!("../../../../shaders/log_softmax.wgsl");
/// The LSTM recurrence over t, forward and backward through time.
pub const LSTM: &str = include_str!("../../../../shaders/lstm.wgsl");

/// How an entry point uses one storage binding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Read,
    ReadWrite,
}

/// One compute entry point: the file it lives in and its storage bindings 1.. in order.
/// Pipelines and layouts are cached by `entry`, so entry names are unique across files.
pub struct Kernel {
    pub file: &'static str,
    pub source: &'static str,
    pub entry: &'static str,
    pub storage: &'static [Access],
}

const fn k(file: &'static str, source: &'static str, entry: &'static str, storage: &'static [Access]) -> Kernel {
    Kernel { file, source, entry, storage }
}

// One line per entry point, so the table reads as a table.
#[rustfmt::skip]
mod table {
    use super::Access::{Read as R, ReadWrite as W};
    use super::*;
    use crate::backend::UnaryOp;

    pub const MATMUL_TILED: Kernel = k("matmul.wgsl", MATMUL, "matmul", &[R, R, W]);
    pub const MATMUL_NAIVE: Kernel = k("matmul.wgsl", MATMUL, "matmul_naive", &[R, R, W]);

    pub const ADD: Kernel = k("elementwise.wgsl", ELEMENTWISE, "add", &[R, R, W]);
    pub const MUL: Kernel = k("elementwise.wgsl", ELEMENTWISE, "mul", &[R, R, W]);
    pub const SCALE: Kernel = k("elementwise.wgsl", ELEMENTWISE, "scale", &[R, W]);
    pub const ADD_BIAS: Kernel = k("elementwise.wgsl", ELEMENTWISE, "add_bias", &[R, R, W]);

    /// The forward and backward entry points of an element-wise unary op, as its row of
    /// `backend::UnaryOp`'s table names them: x (read) → y; x or y (read), dy (read) → dx.
    pub const fn unary(op: UnaryOp) -> [Kernel; 2] {
        let [forward, backward] = op.wgsl();
        [k("elementwise.wgsl", ELEMENTWISE, forward, &[R, W]), k("elementwise.wgsl", ELEMENTWISE, backward, &[R, R, W])]
    }

    pub const SUM: Kernel = k("reduce.wgsl", REDUCE, "sum", &[R, W]);
    pub const SUM_SQUARES: Kernel = k("reduce.wgsl", REDUCE, "sum_squares", &[R, W]);
    pub const SUM_ROWS: Kernel = k("reduce.wgsl", REDUCE, "sum_rows", &[R, W]);

    pub const ADAMW_UPDATE: Kernel = k("optim.wgsl", OPTIM, "adamw_update", &[W, R, W, W]);

    pub const LAYERNORM_FORWARD: Kernel = k("layernorm.wgsl", LAYERNORM, "layernorm_forward", &[R, R, R, W, W, W]);
    // Both backward entry points declare the same eight bindings:
    // dy, x, gamma, mean, rstd (read), dx, dgamma, dbeta (read_write).
    pub const LAYERNORM_BACKWARD_DX: Kernel = k("layernorm.wgsl", LAYERNORM, "layernorm_backward_dx", &[R, R, R, R, R, W, W, W]);
    pub const LAYERNORM_BACKWARD_DPARAMS: Kernel = k("layernorm.wgsl", LAYERNORM, "layernorm_backward_dparams", &[R, R, R, R, R, W, W, W]);

    pub const ATTENTION_FORWARD: Kernel = k("attention.wgsl", ATTENTION, "attention_forward", &[R, W, W]);
    pub const ATTENTION_BACKWARD: Kernel = k("attention.wgsl", ATTENTION, "attention_backward", &[R, R, R, W, R]);
    pub const ATTENTION_ENTROPY_FORWARD: Kernel = k("attention_entropy.wgsl", ATTENTION_ENTROPY, "attention_entropy_forward", &[R, W]);
    pub const ATTENTION_ENTROPY_BACKWARD: Kernel = k("attention_entropy.wgsl", ATTENTION_ENTROPY, "attention_entropy_backward", &[R, R, W]);

    pub const LINEAR_ATTENTION_FORWARD: Kernel = k("linear_attention.wgsl", LINEAR_ATTENTION, "linear_attention_forward", &[R, R, R, W, W]);
    // Both backward entry points bind dout, out, fq, fk, v, den (read) first.
    pub const LINEAR_ATTENTION_BACKWARD_Q: Kernel = k("linear_attention.wgsl", LINEAR_ATTENTION, "linear_attention_backward_q", &[R, R, R, R, R, R, W]);
    pub const LINEAR_ATTENTION_BACKWARD_KV: Kernel = k("linear_attention.wgsl", LINEAR_ATTENTION, "linear_attention_backward_kv", &[R, R, R, R, R, R, W, W]);

    pub const CROSS_ENTROPY_FORWARD: Kernel = k("cross_entropy.wgsl", CROSS_ENTROPY, "cross_entropy_forward", &[R, R, W, W, W]);
    pub const CROSS_ENTROPY_BACKWARD: Kernel = k("cross_entropy.wgsl", CROSS_ENTROPY, "cross_entropy_backward", &[R, R, R, W]);

    pub const GATHER_ROWS: Kernel = k("embedding.wgsl", EMBEDDING, "gather_rows", &[R, R, W]);
    pub const SCATTER_ROWS: Kernel = k("embedding.wgsl", EMBEDDING, "scatter_rows", &[R, R, R, W]);

    pub const DROPOUT_MASK: Kernel = k("dropout.wgsl", DROPOUT, "dropout", &[R, W]);
    pub const STABLEMAX_CROSS_ENTROPY_FORWARD: Kernel = k("cross_entropy.wgsl", CROSS_ENTROPY, "stablemax_cross_entropy_forward", &[R, R, W, W, W]);
    pub const STABLEMAX_CROSS_ENTROPY_BACKWARD: Kernel = k("cross_entropy.wgsl", CROSS_ENTROPY, "stablemax_cross_entropy_backward", &[R, R, R, R, W]);
    pub const COUNT_ZEROS: Kernel = k("reduce.wgsl", REDUCE, "count_zeros", &[R, W]);
    pub const ORTHOGONAL_GRAD: Kernel = k("optim.wgsl", OPTIM, "orthogonal_grad", &[R, R, W]);

    pub const GRAD_FILTER_EMA: Kernel = k("grad_filter.wgsl", GRAD_FILTER, "grad_filter_ema", &[R, R, W, W]);

    pub const LOG_SOFTMAX_FORWARD: Kernel = k("log_softmax.wgsl", LOG_SOFTMAX, "log_softmax_forward", &[R, W]);
    pub const LOG_SOFTMAX_BACKWARD: Kernel = k("log_softmax.wgsl", LOG_SOFTMAX, "log_softmax_backward", &[R, R, W]);

    pub const LSTM_FORWARD: Kernel = k("lstm.wgsl", LSTM, "lstm_forward", &[R, R, W, W, W, W]);
    pub const LSTM_BACKWARD: Kernel = k("lstm.wgsl", LSTM, "lstm_backward", &[R, R, R, R, W]);
}

pub use table::*;
