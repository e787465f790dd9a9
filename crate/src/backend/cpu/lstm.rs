//! The LSTM recurrence (Hochreiter & Schmidhuber 1997, with a forget gate as in PyTorch's
//! `nn.LSTM`), the reference for `shaders/lstm.wgsl`. Split as cuDNN does it: the input
//! projection x·W_x + b for every t is an ordinary op outside (here `xw`), so these kernels only
//! run what is sequential in t; the backward pass writes the pre-activation gradients of every
//! step, so that dW_h = hprevᵀ·dpre is one matmul over the B·T rows and dxw = dpre.
//!
//! Gates in PyTorch's order i, f, g, o, each H wide: pre = xw_t + h_{t−1}·W_h,
//! i = σ(pre_i), f = σ(pre_f), g = tanh(pre_g), o = σ(pre_o), c_t = f·c_{t−1} + i·g,
//! h_t = o·tanh(c_t), with h_0 = c_0 = 0. σ(x) = ½ + ½·tanh(x/2), so that the one
//! transcendental is `tanh`, the rational function in plain f32 operations that GELU uses
//! (deliberate: it is bit-identical natively and in wasm). Sums over k run in ascending order
//! from 0.0, with xw added after.

use super::tanh;

/// σ(x) = ½ + ½·tanh(x/2).
#[inline(always)]
fn sigmoid(x: f32) -> f32 {
    0.5 + 0.5 * tanh(0.5 * x)
}

/// xw: (B, T, 4H), w_h: (H, 4H) → h: (B, T, H). Also saves, for the backward pass,
/// gates: (B, T, 4H) after their activations, c: (B, T, H) and hprev: (B, T, H) (h_{t−1}).
#[allow(clippy::too_many_arguments)]
pub fn lstm_forward(xw: &[f32], w_h: &[f32], h: &mut [f32], gates: &mut [f32], c: &mut [f32], hprev: &mut [f32], b: usize, t: usize, hs: usize) {
    let g4 = 4 * hs;
    let mut pre = vec![0.0f32; g4];
    for bi in 0..b {
        for ti in 0..t {
            let row = bi * t + ti;
            // h_{t−1} and c_{t−1}: the previous row of this sequence, or zeros at t = 0.
            if ti == 0 {
                hprev[row * hs..][..hs].fill(0.0);
            } else {
                hprev[row * hs..][..hs].copy_from_slice(&h[(row - 1) * hs..][..hs]);
            }
            pre.fill(0.0);
            // Σ_k h_{t−1}[k]·W_h[k, m], k ascending; vectorises across the 4H independent m.
            for k in 0..hs {
                let hk = hprev[row * hs + k];
                for (p, &w) in pre.iter_mut().zip(&w_h[k * g4..][..g4]) {
                    *p += hk * w;
                }
            }
            let x = &xw[row * g4..][..g4];
            for j in 0..hs {
                let i = sigmoid(x[j] + pre[j]);
                let f = sigmoid(x[hs + j] + pre[hs + j]);
                let g = tanh(x[2 * hs + j] + pre[2 * hs + j]);
                let o = sigmoid(x[3 * hs + j] + pre[3 * hs + j]);
                let c_prev = if ti == 0 { 0.0 } else { c[(row - 1) * hs + j] };
                let cj = f * c_prev + i * g;
                c[row * hs + j] = cj;
                h[row * hs + j] = o * tanh(cj);
                let gr = &mut gates[row * g4..][..g4];
                (gr[j], gr[hs + j], gr[2 * hs + j], gr[3 * hs + j]) = (i, f, g, o);
            }
        }
    }
}

/// dh: (B, T, H), gates: (B, T, 4H), c: (B, T, H), w_h: (H, 4H) → dpre: (B, T, 4H), the
/// gradient of the gates' pre-activations (which is also d xw). Backpropagation through time,
/// t descending; per step and unit j, with dh_t = dh[t] + Σ_m W_h[j, m]·dpre_{t+1}[m]
/// (m ascending) and dc carried from t + 1:
/// do = dh_t·tanh(c_t); dc = dc_{t+1}·f_{t+1} + dh_t·o·(1 − tanh²c_t);
/// di = dc·g; df = dc·c_{t−1}; dg = dc·i; then through σ' = σ(1 − σ) and tanh' = 1 − tanh².
#[allow(clippy::too_many_arguments)]
pub fn lstm_backward(dh: &[f32], gates: &[f32], c: &[f32], w_h: &[f32], dpre: &mut [f32], b: usize, t: usize, hs: usize) {
    let g4 = 4 * hs;
    let mut dc_next = vec![0.0f32; hs]; // dL/dc_t · f_{t+1}, carried from the later step
    for bi in 0..b {
        dc_next.fill(0.0);
        for ti in (0..t).rev() {
            let row = bi * t + ti;
            let (before, after) = dpre.split_at_mut((row + 1) * g4);
            let later = if ti + 1 < t { Some(&after[..g4]) } else { None };
            let out = &mut before[row * g4..];
            let gr = &gates[row * g4..][..g4];
            for j in 0..hs {
                let mut rec = 0.0f32;
                if let Some(d) = later {
                    for (&w, &dp) in w_h[j * g4..][..g4].iter().zip(d) {
                        rec += w * dp;
                    }
                }
                let dht = dh[row * hs + j] + rec;
                let (i, f, g, o) = (gr[j], gr[hs + j], gr[2 * hs + j], gr[3 * hs + j]);
                let tc = tanh(c[row * hs + j]);
                let c_prev = if ti == 0 { 0.0 } else { c[(row - 1) * hs + j] };
                let d_o = dht * tc;
                let dc = dc_next[j] + dht * o * (1.0 - tc * tc);
                dc_next[j] = dc * f;
                out[j] = dc * g * i * (1.0 - i);
                out[hs + j] = dc * c_prev * f * (1.0 - f);
                out[2 * hs + j] = dc * i * (1.0 - g * g);
                out[3 * hs + j] = d_o * o * (1.0 - o);
            }
        }
    }
}
