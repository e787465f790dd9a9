// linear_attention.wgsl — causal linear attention as a scan over time, forward and backward
// (spec: docs/kernels.md; CPU reference: crate/src/backend/cpu/linear_attention.rs).
//
//   out_t = φq_tᵀ S_t / (φq_t·z_t + ε),  S_t = Σ_{s≤t} φk_s v_sᵀ (F × hs),  z_t = Σ_{s≤t} φk_s
//
// Shapes (named dims; hs = C / NH, F = features per head):
//   fq, fk, dfq, dfk (B, T, NH·F): element (b, t, h, i) at (b*T + t)*NH*F + h*F + i.
//   v, out, dout, dv (B, T, C):    element (b, t, h, j) at (b*T + t)*C + h*hs + j.
//   den (B, NH, T): the denominators φq_t·z_t + ε, at (b*NH + h)*T + t.
//
// Workgroup layout: one workgroup of 64 threads per (b, h) pair; dispatch (b*nh, 1, 1) (split
// over y past 65535 as in attention.wgsl). Time runs sequentially inside every thread: each
// thread carries its own slice of the state through t, so nothing is shared, no barrier is
// needed and every sum is a plain loop in ascending index order (as the CPU reference), which
// makes a run repeat exactly.
//   forward:      thread j (j = lid, lid+64, …) owns column j of S (F values) and a copy of z.
//   backward_q:   thread i owns row i of S (hs values) and z[i]: dφq_t[i] = S_t[i,:]·dA_t + dD_t z_t[i].
//   backward_kv:  thread i owns row i of G_s = Σ_{t≥s} φq_t dA_tᵀ for dφk; thread j owns column j
//                 of G for dv (a reverse scan over t).
// with dA_t = dout_t / den_t and dD_t = −(dout_t·out_t) / den_t, recomputed by every thread.
//
// Host limits: F ≤ MAX_F and hs ≤ MAX_HS (the per-thread state lives in private arrays);
// crate/src/limits.rs declares them for both backends.

struct Dims { b: u32, t: u32, c: u32, nh: u32, f: u32 }

const WG: u32 = 64u;
const MAX_F: u32 = 128u;
const MAX_HS: u32 = 128u;
const EPS: f32 = 1e-6;

@group(0) @binding(0) var<uniform> dims: Dims;

// ---------------------------------------------------------------- forward
// bindings: 1 fq, 2 fk, 3 v (read), 4 out, 5 den (read_write)
@group(0) @binding(1) var<storage, read> fq: array<f32>;
@group(0) @binding(2) var<storage, read> fk: array<f32>;
@group(0) @binding(3) var<storage, read> vv: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<storage, read_write> den: array<f32>;

@compute @workgroup_size(64)
fn linear_attention_forward(@builtin(workgroup_id) wg: vec3<u32>,
                            @builtin(num_workgroups) nwg: vec3<u32>,
                            @builtin(local_invocation_id) l: vec3<u32>) {
    let bh = wg.x + wg.y * nwg.x;
    if (bh >= dims.b * dims.nh) { return; }   // the grid may be rounded up
    let T = dims.t;
    let C = dims.c;
    let F = dims.f;
    let hs = C / dims.nh;
    let b = bh / dims.nh;
    let h = bh % dims.nh;
    let NF = dims.nh * F;
    for (var j = l.x; j < hs; j += WG) {
        var s = array<f32, MAX_F>();   // S[:, j], zeros
        var z = array<f32, MAX_F>();
        for (var t = 0u; t < T; t++) {
            let row = b * T + t;
            let kq = row * NF + h * F;
            let vj = vv[row * C + h * hs + j];
            for (var i = 0u; i < F; i++) {
                z[i] += fk[kq + i];
                s[i] += fk[kq + i] * vj;
            }
            var dn = 0.0;
            for (var i = 0u; i < F; i++) { dn += fq[kq + i] * z[i]; }
            dn += EPS;
            if (j == 0u) { den[bh * T + t] = dn; }
            var num = 0.0;
            for (var i = 0u; i < F; i++) { num += fq[kq + i] * s[i]; }
            out[row * C + h * hs + j] = num / dn;
        }
    }
}

// ---------------------------------------------------------------- backward
// Both entry points bind 1 dout, 2 out, 3 fq, 4 fk, 5 v, 6 den (read); backward_q writes
// 7 dfq; backward_kv writes 7 dfk and 8 dv (two passes: nine buffers would pass WebGPU's
// default limit of eight storage buffers per stage).
@group(0) @binding(1) var<storage, read> b_dout: array<f32>;
@group(0) @binding(2) var<storage, read> b_out: array<f32>;
@group(0) @binding(3) var<storage, read> b_fq: array<f32>;
@group(0) @binding(4) var<storage, read> b_fk: array<f32>;
@group(0) @binding(5) var<storage, read> b_v: array<f32>;
@group(0) @binding(6) var<storage, read> b_den: array<f32>;
@group(0) @binding(7) var<storage, read_write> dfq: array<f32>;
@group(0) @binding(7) var<storage, read_write> dfk: array<f32>;
@group(0) @binding(8) var<storage, read_write> dv: array<f32>;

// dD_t = −(dout_t·out_t) / den_t (j ascending).
fn d_den(o_off: u32, hs: u32, dn: f32) -> f32 {
    var od = 0.0;
    for (var j = 0u; j < hs; j++) { od += b_dout[o_off + j] * b_out[o_off + j]; }
    return -od / dn;
}

@compute @workgroup_size(64)
fn linear_attention_backward_q(@builtin(workgroup_id) wg: vec3<u32>,
                               @builtin(num_workgroups) nwg: vec3<u32>,
                               @builtin(local_invocation_id) l: vec3<u32>) {
    let bh = wg.x + wg.y * nwg.x;
    if (bh >= dims.b * dims.nh) { return; }
    let T = dims.t;
    let C = dims.c;
    let F = dims.f;
    let hs = C / dims.nh;
    let b = bh / dims.nh;
    let h = bh % dims.nh;
    let NF = dims.nh * F;
    for (var i = l.x; i < F; i += WG) {
        var s = array<f32, MAX_HS>();   // S[i, :], zeros
        var zi = 0.0;
        for (var t = 0u; t < T; t++) {
            let row = b * T + t;
            let ki = b_fk[row * NF + h * F + i];
            let o_off = row * C + h * hs;
            zi += ki;
            for (var j = 0u; j < hs; j++) { s[j] += ki * b_v[o_off + j]; }
            let dn = b_den[bh * T + t];
            let dd = d_den(o_off, hs, dn);
            var g = 0.0;
            for (var j = 0u; j < hs; j++) { g += (b_dout[o_off + j] / dn) * s[j]; }
            dfq[row * NF + h * F + i] = g + dd * zi;
        }
    }
}

@compute @workgroup_size(64)
fn linear_attention_backward_kv(@builtin(workgroup_id) wg: vec3<u32>,
                                @builtin(num_workgroups) nwg: vec3<u32>,
                                @builtin(local_invocation_id) l: vec3<u32>) {
    let bh = wg.x + wg.y * nwg.x;
    if (bh >= dims.b * dims.nh) { return; }
    let T = dims.t;
    let C = dims.c;
    let F = dims.f;
    let hs = C / dims.nh;
    let b = bh / dims.nh;
    let h = bh % dims.nh;
    let NF = dims.nh * F;
    // dφk_s[i] = G_s[i, :]·v_s + g_s[i], t from T−1 down to 0.
    for (var i = l.x; i < F; i += WG) {
        var gr = array<f32, MAX_HS>();   // G[i, :], zeros
        var gi = 0.0;
        for (var tt = 0u; tt < T; tt++) {
            let row = b * T + (T - 1u - tt);
            let qi = b_fq[row * NF + h * F + i];
            let o_off = row * C + h * hs;
            let dn = b_den[bh * T + (T - 1u - tt)];
            gi += qi * d_den(o_off, hs, dn);
            for (var j = 0u; j < hs; j++) { gr[j] += qi * (b_dout[o_off + j] / dn); }
            var g = 0.0;
            for (var j = 0u; j < hs; j++) { g += gr[j] * b_v[o_off + j]; }
            dfk[row * NF + h * F + i] = g + gi;
        }
    }
    // dv_s[j] = φk_s·G_s[:, j].
    for (var j = l.x; j < hs; j += WG) {
        var gc = array<f32, MAX_F>();   // G[:, j], zeros
        for (var tt = 0u; tt < T; tt++) {
            let row = b * T + (T - 1u - tt);
            let kq = row * NF + h * F;
            let o_off = row * C + h * hs;
            let da = b_dout[o_off + j] / b_den[bh * T + (T - 1u - tt)];
            for (var i = 0u; i < F; i++) { gc[i] += b_fq[kq + i] * da; }
            var g = 0.0;
            for (var i = 0u; i < F; i++) { g += b_fk[kq + i] * gc[i]; }
            dv[o_off + j] = g;
        }
    }
}
