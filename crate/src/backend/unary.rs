//! The element-wise unary ops in one table (the role of candle's `UnaryOpT` in candle-core
//! `op.rs`). A row gives an op its name, its CPU function of one f32 and its backward (in
//! `cpu/unary.rs`), which value that backward reads besides dy (the input x, or the output y
//! where the derivative is cheaper from it, as exp's is), the work one element costs (for the
//! CPU's thread split), and its two WGSL entry points in `shaders/elementwise.wgsl`.
//!
//! Everything else reads the table: `Tensor::unary` and `Op::Unary`, their one autograd arm,
//! `cpu::unary_forward` / `unary_backward` (generated here, one loop per op) and
//! `Gpu::unary_forward` / `unary_backward`. A new gelu-like op is one row below, its two scalar
//! functions in `cpu/unary.rs` and its two WGSL entry points, which stay hand-written.

use super::cpu::unary::{self as f, map, map_backward};

/// Which value an op's backward reads besides dy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Saved {
    /// The op's input x.
    Input,
    /// The op's output y.
    Output,
}

/// Declares `UnaryOp` and the CPU kernels from the rows of the table.
macro_rules! unary_ops {
    ($($(#[doc = $doc:literal])* $op:ident: $name:literal, $forward:path, $backward:path, $saved:ident, $work:literal, $wgsl_forward:literal, $wgsl_backward:literal;)*) => {
        /// An element-wise unary op: the argument of `Tensor::unary`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum UnaryOp {
            $($(#[doc = $doc])* $op,)*
        }

        impl UnaryOp {
            /// Every op, in the table's order.
            pub const ALL: &[UnaryOp] = &[$(UnaryOp::$op),*];

            /// Its name, that of its `Tensor` method.
            pub const fn name(self) -> &'static str {
                match self { $(UnaryOp::$op => $name,)* }
            }

            /// Which value its backward reads besides dy.
            pub const fn saved(self) -> Saved {
                match self { $(UnaryOp::$op => Saved::$saved,)* }
            }

            /// Its WGSL entry points: the forward (x) → y and the backward (x or y, dy) → dx.
            pub const fn wgsl(self) -> [&'static str; 2] {
                match self { $(UnaryOp::$op => [$wgsl_forward, $wgsl_backward],)* }
            }
        }

        /// y = f(x) for every element. x, y: (n). One loop per op, so that its function inlines
        /// into the loop and the loop vectorises (a call through the table per element would not).
        pub fn unary_forward(op: UnaryOp, x: &[f32], y: &mut [f32]) {
            match op { $(UnaryOp::$op => map(x, y, $work, $forward),)* }
        }

        /// dx = dy·f'(x) for every element, from v = x or y as `op.saved()` says. v, dy, dx: (n)
        pub fn unary_backward(op: UnaryOp, v: &[f32], dy: &[f32], dx: &mut [f32]) {
            match op { $(UnaryOp::$op => map_backward(v, dy, dx, $work, $backward),)* }
        }
    };
}

#[rustfmt::skip]
unary_ops! {
    // op:      name,            forward,          backward,                  reads,  work, WGSL entry points
    /// 0.5·x·(1 + tanh(√(2/π)(x + 0.044715x³))), GPT-2's tanh approximation of GELU.
    Gelu:       "gelu",          f::gelu,          f::gelu_backward,          Input,  16,   "gelu_forward", "gelu_backward";
    /// max(x, 0).
    Relu:       "relu",          f::relu,          f::relu_backward,          Input,  1,    "relu_forward", "relu_backward";
    /// elu(x) + 1 = x + 1 for x > 0, exp(x) otherwise: linear attention's positive feature map
    /// (Katharopoulos et al. 2020, §3.2).
    EluPlusOne: "elu_plus_one",  f::elu_plus_one,  f::elu_plus_one_backward,  Input,  16,   "elu_plus_one_forward", "elu_plus_one_backward";
    /// exp(x); its backward reads the output, dy·y.
    Exp:        "exp",           f::exp,           f::exp_backward,           Output, 16,   "exp_forward", "exp_backward";
}
