// attention.wgsl — fused causal softmax attention, forward and backward (spec: docs/kernels.md).
//
// Shapes (named dims; hs = C / NH):
//   qkv  (B, T, 3C): the row for (b, t) starts at (b*T + t)*3C; head h reads
//        q at +h*hs, k at +C + h*hs, v at +2C + h*hs.
//   out, dout (B, T, C): element (b, t, h, i) at (b*T + t)*C + h*hs + i.
//   att  (B, NH, T, T): element (b, h, t, u) at ((b*NH + h)*T + t)*T + u; 0 above the diagonal.
//   dqkv (B, T, 3C): same layout as qkv.
//
// Workgroup layout: one workgroup of 64 threads per (b, h) pair; dispatch (b*nh, 1, 1).
// (If b*nh ever exceeds 65535 the host may split it as (min(g, 65535), ceil(g/65535), 1)
// with g = b*nh: the pair index is wg.x + wg.y * num_workgroups.x and extra groups return.)
// Inside a workgroup thread `lid` owns rows t = lid, lid+64, ... so any T works.
//
// Each pass is ONE kernel, because toy models are launch-bound: the forward does scores,
// causal mask, max-subtracted softmax and the weighted sum of v; the backward computes all of
// dq, dk, dv. Every sum is a plain loop over an ascending index inside one thread, starting
// from 0.0: no atomics, no cross-thread float reduction, so a run repeats exactly.
//
// Host limits: T <= MAX_T (1024) for the backward (one f32 per row lives in workgroup memory,
// 4 KiB of the 16 KiB WebGPU guarantees); crate/src/limits.rs holds it for both backends. hs is unrestricted (dq and dk are accumulated in
// chunks of HS_CHUNK channels). Every element of out, att and dqkv is overwritten.

// has_datt (backward only): 1 when binding 5 holds an extra gradient on the probabilities.
struct Dims { b: u32, t: u32, c: u32, nh: u32, has_datt: u32 }

const WG: u32 = 64u;
const MAX_T: u32 = 1024u;
const HS_CHUNK: u32 = 64u;

@group(0) @binding(0) var<uniform> dims: Dims;

// ---------------------------------------------------------------- forward
// bindings: 1 qkv (read), 2 out (read_write), 3 att (read_write)
@group(0) @binding(1) var<storage, read> qkv: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<storage, read_write> att: array<f32>;

@compute @workgroup_size(64)
fn attention_forward(@builtin(workgroup_id) wg: vec3<u32>,
                     @builtin(num_workgroups) nwg: vec3<u32>,
                     @builtin(local_invocation_id) l: vec3<u32>) {
    let bh = wg.x + wg.y * nwg.x;
    if (bh >= dims.b * dims.nh) { return; }   // the grid may be rounded up
    let T = dims.t;
    let C = dims.c;
    let hs = C / dims.nh;
    let b = bh / dims.nh;
    let h = bh % dims.nh;
    let scale = 1.0 / sqrt(f32(hs));
    let att_bh = bh * T * T;                 // (b*NH + h)*T*T

    for (var t = l.x; t < T; t += WG) {
        let q_off = (b * T + t) * 3u * C + h * hs;
        let att_row = att_bh + t * T;
        // 1) raw scores s[u] = q_t . k_u / sqrt(hs) for u <= t; kept in att as scratch
        var mx = -3.402823e38;
        for (var u = 0u; u <= t; u++) {
            let k_off = (b * T + u) * 3u * C + C + h * hs;
            var s = 0.0;
            for (var i = 0u; i < hs; i++) { s += qkv[q_off + i] * qkv[k_off + i]; }
            s = s * scale;
            att[att_row + u] = s;
            mx = max(mx, s);
        }
        // 2) exponentials and their sum (u ascending); subtracting the max keeps exp <= 1
        var sum = 0.0;
        for (var u = 0u; u <= t; u++) {
            let e = exp(att[att_row + u] - mx);
            att[att_row + u] = e;
            sum += e;
        }
        // 3) normalise; the causal mask writes explicit zeros so att is a full T x T matrix
        for (var u = 0u; u < T; u++) {
            if (u <= t) { att[att_row + u] = att[att_row + u] / sum; }
            else { att[att_row + u] = 0.0; }
        }
        // 4) out_t[i] = sum_{u<=t} att[t,u] v_u[i], u ascending
        let o_off = (b * T + t) * C + h * hs;
        for (var i = 0u; i < hs; i++) {
            var acc = 0.0;
            for (var u = 0u; u <= t; u++) {
                acc += att[att_row + u] * qkv[(b * T + u) * 3u * C + 2u * C + h * hs + i];
            }
            out[o_off + i] = acc;
        }
    }
}

// ---------------------------------------------------------------- backward
// bindings: 1 dout (read), 2 qkv (read), 3 att (read), 4 dqkv (read_write), 5 datt (read)
// datt (B, NH, T, T) is an extra gradient on the probabilities (an entropy penalty's), added to
// dout_t . v_u when dims.has_datt = 1; otherwise the host binds any buffer there and it is unread.
// (Declared as separate module-scope variables; each entry point uses only its own set, so
// wgpu's per-entry-point layout contains exactly the bindings listed for that entry point.)
@group(0) @binding(1) var<storage, read> bw_dout: array<f32>;
@group(0) @binding(2) var<storage, read> bw_qkv: array<f32>;
@group(0) @binding(3) var<storage, read> bw_att: array<f32>;
@group(0) @binding(4) var<storage, read_write> dqkv: array<f32>;
@group(0) @binding(5) var<storage, read> bw_datt: array<f32>;

// rowdot[t] = sum_u' att[t,u'] * datt[t,u']: the softmax-backward correction of row t.
// Phase 1 writes it (one row per thread), phase 2 reads every row's value.
var<workgroup> rowdot: array<f32, MAX_T>;

// datt[t,u] = dout_t . v_u (i ascending), plus the extra datt[t,u] when there is one
fn datt_at(b: u32, h: u32, t: u32, u: u32) -> f32 {
    let T = dims.t;
    let C = dims.c;
    let hs = C / dims.nh;
    let d_off = (b * T + t) * C + h * hs;
    let v_off = (b * T + u) * 3u * C + 2u * C + h * hs;
    var s = 0.0;
    for (var i = 0u; i < hs; i++) { s += bw_dout[d_off + i] * bw_qkv[v_off + i]; }
    if (dims.has_datt == 1u) { s += bw_datt[((b * dims.nh + h) * T + t) * T + u]; }
    return s;
}

@compute @workgroup_size(64)
fn attention_backward(@builtin(workgroup_id) wg: vec3<u32>,
                      @builtin(num_workgroups) nwg: vec3<u32>,
                      @builtin(local_invocation_id) l: vec3<u32>) {
    let bh = wg.x + wg.y * nwg.x;
    if (bh >= dims.b * dims.nh) { return; }   // uniform per workgroup, so barriers stay legal
    let T = dims.t;
    let C = dims.c;
    let hs = C / dims.nh;
    let b = bh / dims.nh;
    let h = bh % dims.nh;
    let scale = 1.0 / sqrt(f32(hs));
    let att_bh = bh * T * T;

    // Phase 1 (rows t owned by this thread): rowdot[t], then
    // dq_t = sum_{u<=t} dpre[t,u] k_u / sqrt(hs), dpre[t,u] = att[t,u]*(datt[t,u] - rowdot[t]).
    // Row t only needs row t, so dq is finished here; datt is recomputed rather than stored
    // because a T x T scratch would not fit in workgroup memory and att is read-only.
    for (var t = l.x; t < T; t += WG) {
        let att_row = att_bh + t * T;
        var rd = 0.0;
        for (var u = 0u; u <= t; u++) { rd += bw_att[att_row + u] * datt_at(b, h, t, u); }
        rowdot[t] = rd;
        // dpre[t,u] costs a length-hs dot product, so compute it once per (u, chunk of
        // HS_CHUNK channels) and keep the chunk's partial sums in a private array.
        let dq_off = (b * T + t) * 3u * C + h * hs;
        for (var i0 = 0u; i0 < hs; i0 += HS_CHUNK) {
            let n = min(HS_CHUNK, hs - i0);
            var dq = array<f32, HS_CHUNK>();   // zeros, re-made for every chunk
            for (var u = 0u; u <= t; u++) {
                let dpre = bw_att[att_row + u] * (datt_at(b, h, t, u) - rd);
                let k_off = (b * T + u) * 3u * C + C + h * hs + i0;
                for (var i = 0u; i < n; i++) { dq[i] += dpre * bw_qkv[k_off + i]; }
            }
            for (var i = 0u; i < n; i++) { dqkv[dq_off + i0 + i] = dq[i] * scale; }
        }
    }
    workgroupBarrier();   // every rowdot[t] is written before any thread reads it

    // Phase 2 (columns u owned by this thread): dk_u and dv_u sum over the rows t >= u.
    for (var u = l.x; u < T; u += WG) {
        let dk_off = (b * T + u) * 3u * C + C + h * hs;
        let dv_off = (b * T + u) * 3u * C + 2u * C + h * hs;
        // dv_u[i] = sum_{t>=u} att[t,u] dout_t[i], t ascending
        for (var i = 0u; i < hs; i++) {
            var acc = 0.0;
            for (var t = u; t < T; t++) {
                acc += bw_att[att_bh + t * T + u] * bw_dout[(b * T + t) * C + h * hs + i];
            }
            dqkv[dv_off + i] = acc;
        }
        // dk_u[i] = sum_{t>=u} dpre[t,u] q_t[i] / sqrt(hs), t ascending; chunked as dq above.
        for (var i0 = 0u; i0 < hs; i0 += HS_CHUNK) {
            let n = min(HS_CHUNK, hs - i0);
            var dk = array<f32, HS_CHUNK>();   // zeros, re-made for every chunk
            for (var t = u; t < T; t++) {
                let dpre = bw_att[att_bh + t * T + u] * (datt_at(b, h, t, u) - rowdot[t]);
                let q_off = (b * T + t) * 3u * C + h * hs + i0;
                for (var i = 0u; i < n; i++) { dk[i] += dpre * bw_qkv[q_off + i]; }
            }
            for (var i = 0u; i < n; i++) { dqkv[dk_off + i0 + i] = dk[i] * scale; }
        }
    }
}
