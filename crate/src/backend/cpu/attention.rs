//! Causal softmax self-attention, forward and backward, the reference for `shaders/attention.wgsl`.
//! Fused as in llm.c's `attention_forward`: scores, mask, softmax and the weighted sum of values
//! in one pass per (b, h, t) row, keeping the probabilities `att` for the backward pass.
//!
//! qkv: (B, T, 3C) holds q, k, v side by side; head h uses channels h·hs..(h+1)·hs of each,
//! hs = C / NH. att: (B, NH, T, T), zero above the diagonal.

// The loops index q, k, v and att by the positions t, u as the formulas do; iterator chains
// would hide which row and column each term comes from.
#![allow(clippy::needless_range_loop)]

use super::threads;

/// Batches per part when the work of `b` batches (`work_per_batch` units each) is split over threads.
fn batches_per_part(b: usize, work_per_batch: usize) -> usize {
    b.div_ceil(threads::parts(b * work_per_batch)).max(1)
}

/// qkv: (B, T, 3C) → out: (B, T, C), att: (B, NH, T, T). Batches are independent: split over threads.
pub fn attention_forward(qkv: &[f32], out: &mut [f32], att: &mut [f32], b: usize, t: usize, c: usize, nh: usize) {
    if b * t * c == 0 {
        return;
    }
    let bp = batches_per_part(b, t * t * (c + 16 * nh));
    let parts = out.chunks_mut(bp * t * c).zip(att.chunks_mut(bp * nh * t * t)).zip(qkv.chunks(bp * t * 3 * c));
    threads::run(parts, |((out, att), qkv)| forward_part(qkv, out, att, out.len() / (t * c), t, c, nh));
}

fn forward_part(qkv: &[f32], out: &mut [f32], att: &mut [f32], b: usize, t: usize, c: usize, nh: usize) {
    let hs = c / nh;
    let scale = 1.0 / (hs as f32).sqrt();
    let c3 = 3 * c;
    for bi in 0..b {
        for h in 0..nh {
            for ti in 0..t {
                let q = &qkv[(bi * t + ti) * c3 + h * hs..][..hs];
                let row = &mut att[((bi * nh + h) * t + ti) * t..][..t];
                let mut max = f32::NEG_INFINITY;
                for u in 0..=ti {
                    let k = &qkv[(bi * t + u) * c3 + c + h * hs..][..hs];
                    let mut s = 0.0f32;
                    for i in 0..hs {
                        s += q[i] * k[i];
                    }
                    row[u] = s * scale;
                    max = max.max(row[u]);
                }
                let mut sum = 0.0f32;
                for u in 0..=ti {
                    row[u] = libm::expf(row[u] - max);
                    sum += row[u];
                }
                let inv = 1.0 / sum;
                for u in 0..t {
                    row[u] = if u <= ti { row[u] * inv } else { 0.0 };
                }
                let o = &mut out[(bi * t + ti) * c + h * hs..][..hs];
                o.fill(0.0);
                for u in 0..=ti {
                    let v = &qkv[(bi * t + u) * c3 + 2 * c + h * hs..][..hs];
                    for i in 0..hs {
                        o[i] += row[u] * v[i];
                    }
                }
            }
        }
    }
}

/// dout: (B, T, C), qkv: (B, T, 3C), att: (B, NH, T, T) → dqkv: (B, T, 3C), batches split over threads.
#[allow(clippy::too_many_arguments)]
pub fn attention_backward(dout: &[f32], qkv: &[f32], att: &[f32], dqkv: &mut [f32], b: usize, t: usize, c: usize, nh: usize) {
    attention_backward_with(dout, qkv, att, None, dqkv, b, t, c, nh)
}

/// `attention_backward` when the probabilities themselves also receive a gradient `datt`:
/// (B, NH, T, T), e.g. from a penalty on their entropy. It joins dout_t·v_u before the softmax
/// Jacobian: datt[t,u] = dout_t·v_u + datt_in[t,u].
#[allow(clippy::too_many_arguments)]
pub fn attention_backward_with(dout: &[f32], qkv: &[f32], att: &[f32], datt: Option<&[f32]>, dqkv: &mut [f32], b: usize, t: usize, c: usize, nh: usize) {
    if b * t * c == 0 {
        return;
    }
    let bp = batches_per_part(b, 3 * t * t * c);
    let c3 = 3 * c;
    let datt = datt.map(|d| d.chunks(bp * nh * t * t));
    let mut datt = datt.into_iter().flatten();
    let parts = dqkv.chunks_mut(bp * t * c3).zip(dout.chunks(bp * t * c)).zip(qkv.chunks(bp * t * c3)).zip(att.chunks(bp * nh * t * t));
    let parts = parts.map(|p| (p, datt.next()));
    threads::run(parts, |((((dqkv, dout), qkv), att), datt)| backward_part(dout, qkv, att, datt, dqkv, dout.len() / (t * c), t, c, nh));
}

#[allow(clippy::too_many_arguments)]
fn backward_part(dout: &[f32], qkv: &[f32], att: &[f32], datt_in: Option<&[f32]>, dqkv: &mut [f32], b: usize, t: usize, c: usize, nh: usize) {
    let hs = c / nh;
    let scale = 1.0 / (hs as f32).sqrt();
    let c3 = 3 * c;
    let at = |bi: usize, h: usize, ti: usize, u: usize| att[((bi * nh + h) * t + ti) * t + u];
    let dot = |x: &[f32], y: &[f32]| {
        let mut s = 0.0f32;
        for i in 0..hs {
            s += x[i] * y[i];
        }
        s
    };
    let q_of = |bi: usize, ti: usize, h: usize| &qkv[(bi * t + ti) * c3 + h * hs..][..hs];
    let k_of = |bi: usize, ti: usize, h: usize| &qkv[(bi * t + ti) * c3 + c + h * hs..][..hs];
    let v_of = |bi: usize, ti: usize, h: usize| &qkv[(bi * t + ti) * c3 + 2 * c + h * hs..][..hs];
    let do_of = |bi: usize, ti: usize, h: usize| &dout[(bi * t + ti) * c + h * hs..][..hs];
    // Nothing is added without datt_in, so that case keeps its bits.
    let plus_in = |d: f32, bi: usize, h: usize, ti: usize, u: usize| match datt_in {
        Some(extra) => d + extra[((bi * nh + h) * t + ti) * t + u],
        None => d,
    };
    let mut datt = vec![0.0f32; t];
    let mut dots = vec![0.0f32; t]; // Σ_u' att[t,u']·datt[t,u'] per row, the softmax Jacobian term
    let (mut dk, mut dv) = (vec![0.0f32; hs], vec![0.0f32; hs]);
    for bi in 0..b {
        for h in 0..nh {
            // dq_t = Σ_{u≤t} dpre[t,u] k_u · scale, with dpre = att·(datt − Σ att·datt).
            for ti in 0..t {
                let d_o = do_of(bi, ti, h);
                let mut s = 0.0f32;
                for u in 0..=ti {
                    datt[u] = plus_in(dot(d_o, v_of(bi, u, h)), bi, h, ti, u);
                    s += at(bi, h, ti, u) * datt[u];
                }
                dots[ti] = s;
                let dq = &mut dqkv[(bi * t + ti) * c3 + h * hs..][..hs];
                dq.fill(0.0);
                for u in 0..=ti {
                    let dpre = at(bi, h, ti, u) * (datt[u] - s);
                    let k = k_of(bi, u, h);
                    for i in 0..hs {
                        dq[i] += dpre * scale * k[i];
                    }
                }
            }
            // dk_u = Σ_{t≥u} dpre[t,u] q_t · scale; dv_u = Σ_{t≥u} att[t,u] dout_t.
            for u in 0..t {
                let v = v_of(bi, u, h);
                let base = (bi * t + u) * c3;
                dk.fill(0.0);
                dv.fill(0.0);
                for ti in u..t {
                    let a = at(bi, h, ti, u);
                    let d_o = do_of(bi, ti, h);
                    let dpre = a * (plus_in(dot(d_o, v), bi, h, ti, u) - dots[ti]);
                    let q = q_of(bi, ti, h);
                    for i in 0..hs {
                        dk[i] += dpre * scale * q[i];
                        dv[i] += a * d_o[i];
                    }
                }
                dqkv[base + c + h * hs..][..hs].copy_from_slice(&dk);
                dqkv[base + 2 * c + h * hs..][..hs].copy_from_slice(&dv);
            }
        }
    }
}

/// att: (B, NH, T, T) → ent: (B·NH·T), each row's entropy H = −Σ_u a·ln a, u ascending, with
/// a = 0 (above the diagonal, or underflowed) contributing 0, its limit.
pub fn attention_entropy_forward(att: &[f32], ent: &mut [f32], t: usize) {
    for (row, e) in att.chunks_exact(t).zip(ent.iter_mut()) {
        let mut s = 0.0f32;
        for &a in row {
            if a > 0.0 {
                s += a * libm::logf(a);
            }
        }
        *e = -s;
    }
}

/// att: (B, NH, T, T), dloss: (1) → datt: (B, NH, T, T), the gradient of scale·Σ_rows H with
/// respect to the probabilities: datt = −dloss·scale·(ln a + 1) where a > 0, else 0.
/// `attention_backward_with` carries it through the softmax to q and k.
pub fn attention_entropy_backward(att: &[f32], dloss: &[f32], datt: &mut [f32], scale: f32) {
    let g = dloss[0] * scale;
    for (d, &a) in datt.iter_mut().zip(att) {
        *d = if a > 0.0 { -g * (libm::logf(a) + 1.0) } else { 0.0 };
    }
}
