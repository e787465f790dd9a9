//! Causal linear attention, forward and backward, the reference for `shaders/linear_attention.wgsl`
//! (Katharopoulos et al. 2020, "Transformers are RNNs", eq. 6 and §3.4): with feature-mapped
//! queries φq and keys φk,
//!
//! ```text
//! out_t = Σ_{s≤t} (φq_t·φk_s) v_s / (Σ_{s≤t} φq_t·φk_s + ε) = φq_tᵀ S_t / (φq_t·z_t + ε),
//! S_t = Σ_{s≤t} φk_s v_sᵀ (F × hs),   z_t = Σ_{s≤t} φk_s (F),
//! ```
//!
//! computed as a scan over t that carries S and z, so the cost is linear in T. The feature map is
//! not part of the kernel: any map built from ops (elu+1, Hedgehog's learned softmax map) feeds it.
//!
//! fq, fk: (B, T, NH·F), head h at channels h·F..(h+1)·F; v, out: (B, T, C), head h at channels
//! h·hs..(h+1)·hs, hs = C / NH; den: (B, NH, T), the denominators, kept for the backward pass.

use super::threads;

/// Added to every denominator, as in Katharopoulos et al.'s code: feature maps here are positive,
/// so it only matters when every φq_t·φk_s underflows.
pub const LINEAR_ATTENTION_EPS: f32 = 1e-6;

/// Sizes of one call: batch, time, channels of v, heads, features per head.
#[derive(Clone, Copy, Debug)]
pub struct LinearDims {
    pub b: usize,
    pub t: usize,
    pub c: usize,
    pub nh: usize,
    pub f: usize,
}

impl LinearDims {
    fn hs(&self) -> usize {
        self.c / self.nh
    }
    /// Batches per part when the batches are split over threads.
    fn batches_per_part(&self) -> usize {
        self.b.div_ceil(threads::parts(self.b * self.t * self.c * self.f)).max(1)
    }
}

/// fq, fk: (B, T, NH·F), v: (B, T, C) → out: (B, T, C), den: (B, NH, T).
pub fn linear_attention_forward(fq: &[f32], fk: &[f32], v: &[f32], out: &mut [f32], den: &mut [f32], d: LinearDims) {
    if d.b * d.t * d.c == 0 {
        return;
    }
    let (bp, (t, c, nh, f)) = (d.batches_per_part(), (d.t, d.c, d.nh, d.f));
    let parts =
        out.chunks_mut(bp * t * c).zip(den.chunks_mut(bp * nh * t)).zip(fq.chunks(bp * t * nh * f)).zip(fk.chunks(bp * t * nh * f)).zip(v.chunks(bp * t * c));
    threads::run(parts, |((((out, den), fq), fk), v)| forward_part(fq, fk, v, out, den, LinearDims { b: out.len() / (t * c), ..d }));
}

fn forward_part(fq: &[f32], fk: &[f32], v: &[f32], out: &mut [f32], den: &mut [f32], d: LinearDims) {
    let (t, c, nh, f, hs) = (d.t, d.c, d.nh, d.f, d.hs());
    let (mut s, mut z) = (vec![0.0f32; f * hs], vec![0.0f32; f]);
    for bi in 0..d.b {
        for h in 0..nh {
            s.fill(0.0);
            z.fill(0.0);
            for ti in 0..t {
                let row = bi * t + ti;
                let (q, k) = (&fq[row * nh * f + h * f..][..f], &fk[row * nh * f + h * f..][..f]);
                let vv = &v[row * c + h * hs..][..hs];
                // S += φk_t v_tᵀ, z += φk_t: the running sums, t ascending.
                for i in 0..f {
                    z[i] += k[i];
                    for j in 0..hs {
                        s[i * hs + j] += k[i] * vv[j];
                    }
                }
                let mut dn = 0.0f32;
                for i in 0..f {
                    dn += q[i] * z[i];
                }
                dn += LINEAR_ATTENTION_EPS;
                den[(bi * nh + h) * t + ti] = dn;
                let o = &mut out[row * c + h * hs..][..hs];
                for (j, oj) in o.iter_mut().enumerate() {
                    let mut num = 0.0f32;
                    for i in 0..f {
                        num += q[i] * s[i * hs + j];
                    }
                    *oj = num / dn;
                }
            }
        }
    }
}

/// dout, out: (B, T, C), fq, fk: (B, T, NH·F), v: (B, T, C), den: (B, NH, T) →
/// dfq, dfk: (B, T, NH·F), dv: (B, T, C). With A_t = φq_tᵀS_t and D_t = den_t, out_t = A_t/D_t:
/// dA_t = dout_t/D_t, dD_t = −(dout_t·out_t)/D_t;
/// dφq_t = S_t dA_t + dD_t z_t (a forward scan);
/// G_s = Σ_{t≥s} φq_t dA_tᵀ, g_s = Σ_{t≥s} dD_t φq_t (a reverse scan):
/// dφk_s = G_s v_s + g_s, dv_s = G_sᵀ φk_s.
#[allow(clippy::too_many_arguments)]
pub fn linear_attention_backward(
    dout: &[f32],
    out: &[f32],
    fq: &[f32],
    fk: &[f32],
    v: &[f32],
    den: &[f32],
    dfq: &mut [f32],
    dfk: &mut [f32],
    dv: &mut [f32],
    d: LinearDims,
) {
    if d.b * d.t * d.c == 0 {
        return;
    }
    let (bp, (t, c, nh, f)) = (d.batches_per_part(), (d.t, d.c, d.nh, d.f));
    let (tc, tf) = (bp * t * c, bp * t * nh * f);
    let outputs = dfq.chunks_mut(tf).zip(dfk.chunks_mut(tf)).zip(dv.chunks_mut(tc));
    let inputs = dout.chunks(tc).zip(out.chunks(tc)).zip(fq.chunks(tf)).zip(fk.chunks(tf)).zip(v.chunks(tc)).zip(den.chunks(bp * nh * t));
    threads::run(outputs.zip(inputs), |(((dfq, dfk), dv), (((((dout, out), fq), fk), v), den))| {
        backward_part(dout, out, fq, fk, v, den, dfq, dfk, dv, LinearDims { b: dv.len() / (t * c), ..d })
    });
}

#[allow(clippy::too_many_arguments)]
fn backward_part(dout: &[f32], out: &[f32], fq: &[f32], fk: &[f32], v: &[f32], den: &[f32], dfq: &mut [f32], dfk: &mut [f32], dv: &mut [f32], d: LinearDims) {
    let (t, c, nh, f, hs) = (d.t, d.c, d.nh, d.f, d.hs());
    let (mut s, mut z) = (vec![0.0f32; f * hs], vec![0.0f32; f]);
    let mut da = vec![0.0f32; hs];
    // (dA_t, dD_t) of row `row` of head h, into `da`; returns dD_t.
    let grads_at = |row: usize, h: usize, dn: f32, da: &mut [f32]| {
        let (d_o, o) = (&dout[row * c + h * hs..][..hs], &out[row * c + h * hs..][..hs]);
        let mut od = 0.0f32;
        for j in 0..hs {
            od += d_o[j] * o[j];
            da[j] = d_o[j] / dn;
        }
        -od / dn
    };
    for bi in 0..d.b {
        for h in 0..nh {
            s.fill(0.0);
            z.fill(0.0);
            for ti in 0..t {
                let row = bi * t + ti;
                let k = &fk[row * nh * f + h * f..][..f];
                let vv = &v[row * c + h * hs..][..hs];
                for i in 0..f {
                    z[i] += k[i];
                    for j in 0..hs {
                        s[i * hs + j] += k[i] * vv[j];
                    }
                }
                let dd = grads_at(row, h, den[(bi * nh + h) * t + ti], &mut da);
                let dq = &mut dfq[row * nh * f + h * f..][..f];
                for i in 0..f {
                    let mut g = 0.0f32;
                    for j in 0..hs {
                        g += da[j] * s[i * hs + j];
                    }
                    dq[i] = g + dd * z[i];
                }
            }
            // The reverse scan reuses s as G and z as g.
            s.fill(0.0);
            z.fill(0.0);
            for ti in (0..t).rev() {
                let row = bi * t + ti;
                let (q, k) = (&fq[row * nh * f + h * f..][..f], &fk[row * nh * f + h * f..][..f]);
                let vv = &v[row * c + h * hs..][..hs];
                let dd = grads_at(row, h, den[(bi * nh + h) * t + ti], &mut da);
                for i in 0..f {
                    z[i] += q[i] * dd;
                    for j in 0..hs {
                        s[i * hs + j] += q[i] * da[j];
                    }
                }
                let dk = &mut dfk[row * nh * f + h * f..][..f];
                for i in 0..f {
                    let mut g = 0.0f32;
                    for j in 0..hs {
                        g += s[i * hs + j] * vv[j];
                    }
                    dk[i] = g + z[i];
                }
                let dvv = &mut dv[row * c + h * hs..][..hs];
                for j in 0..hs {
                    let mut g = 0.0f32;
                    for i in 0..f {
                        g += k[i] * s[i * hs + j];
                    }
                    dvv[j] = g;
                }
            }
        }
    }
}

/// The attention weights that linear attention implies, for pictures only (quadratic in T):
/// att[b,h,t,s] = φq_t·φk_s / (Σ_{s'≤t} φq_t·φk_s' + ε) for s ≤ t, else 0.
/// fq, fk: (B, T, NH·F) → att: (B, NH, T, T).
pub fn linear_attention_weights(fq: &[f32], fk: &[f32], att: &mut [f32], b: usize, t: usize, nh: usize, f: usize) {
    for bi in 0..b {
        for h in 0..nh {
            for ti in 0..t {
                let q = &fq[(bi * t + ti) * nh * f + h * f..][..f];
                let row = &mut att[((bi * nh + h) * t + ti) * t..][..t];
                row.fill(0.0);
                let mut sum = 0.0f32;
                for (s, a) in row.iter_mut().enumerate().take(ti + 1) {
                    let k = &fk[(bi * t + s) * nh * f + h * f..][..f];
                    let mut dot = 0.0f32;
                    for i in 0..f {
                        dot += q[i] * k[i];
                    }
                    *a = dot;
                    sum += dot;
                }
                let inv = 1.0 / (sum + LINEAR_ATTENTION_EPS);
                for a in row.iter_mut() {
                    *a *= inv;
                }
            }
        }
    }
}
