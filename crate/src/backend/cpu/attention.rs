//! Causal softmax self-attention, forward and backward, the reference for `shaders/attention.wgsl`.
//! Fused as in llm.c's `attention_forward`: scores, mask, softmax and the weighted sum of values
//! in one pass per (b, h, t) row, keeping the probabilities `att` for the backward pass.
//!
//! qkv: (B, T, 3C) holds q, k, v side by side; head h uses channels h·hs..(h+1)·hs of each,
//! hs = C / NH. att: (B, NH, T, T), zero above the diagonal.

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
pub fn attention_backward(
    dout: &[f32],
    qkv: &[f32],
    att: &[f32],
    dqkv: &mut [f32],
    b: usize,
    t: usize,
    c: usize,
    nh: usize,
) {
    if b * t * c == 0 {
        return;
    }
    let bp = batches_per_part(b, 3 * t * t * c);
    let c3 = 3 * c;
    let parts = dqkv.chunks_mut(bp * t * c3).zip(dout.chunks(bp * t * c)).zip(qkv.chunks(bp * t * c3)).zip(att.chunks(bp * nh * t * t));
    threads::run(parts, |(((dqkv, dout), qkv), att)| backward_part(dout, qkv, att, dqkv, dout.len() / (t * c), t, c, nh));
}

#[allow(clippy::too_many_arguments)]
fn backward_part(dout: &[f32], qkv: &[f32], att: &[f32], dqkv: &mut [f32], b: usize, t: usize, c: usize, nh: usize) {
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
                    datt[u] = dot(d_o, v_of(bi, u, h));
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
                    let dpre = a * (dot(d_o, v) - dots[ti]);
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
