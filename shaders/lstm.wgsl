// lstm.wgsl — the LSTM recurrence over t, forward and backward through time
// (spec: docs/kernels.md; CPU reference: crate/src/backend/cpu/lstm.rs).
//
// As in cuDNN, the input projection xw = x·W_x + b of every step is computed outside (one
// ordinary op for all t); these kernels run only the sequential part, and the backward writes
// the pre-activation gradient of every step, so that dW_h = hprevᵀ·dpre is a plain matmul.
//
// Shapes (named dims): xw, gates, dpre (B, T, 4H), gates in the order i, f, g, o, each H wide;
// w_h (H, 4H); h, c, hprev, dh (B, T, H). Row (b, t) of a (B, T, X) tensor starts at (b*T + t)*X.
//   forward:  pre = xw_t + h_{t-1}·W_h; i, f, o = σ(pre); g = tanh(pre);
//             c_t = f·c_{t-1} + i·g; h_t = o·tanh(c_t); h_0 = c_0 = 0; σ(x) = ½ + ½·tanh(x/2)
//   backward: dh_t = dh[t] + W_h·dpre_{t+1}; do = dh_t·tanh(c_t);
//             dc = dc_{t+1}·f_{t+1} + dh_t·o·(1 − tanh²c_t);
//             dpre = (dc·g·i(1−i), dc·c_{t-1}·f(1−f), dc·i·(1−g²), do·o(1−o))
//
// Workgroup layout: one workgroup of 64 threads per sequence b; dispatch
// (min(B, 65535), ceil(B / 65535), 1), b = wg.x + wg.y·nwg.x, groups past B return. Thread l
// owns the units j = l, l+64, l+128, l+192 (H ≤ MAX_H = 256, declared for both backends in crate/src/limits.rs) and keeps their c (forward) or dc
// (backward) in registers; h_{t-1} (forward) or dpre_{t+1} (backward) is shared in workgroup
// memory, written between two barriers per step. Each sum is one thread's loop over an
// ascending index from 0.0: no atomics, so a run repeats exactly on one device.

struct Dims { b: u32, t: u32, h: u32 }

const WG: u32 = 64u;
const MAX_H: u32 = 256u;
const PER: u32 = MAX_H / WG;

@group(0) @binding(0) var<uniform> dims: Dims;

// Clamped because some drivers build tanh from exp(2u) and return NaN once that overflows;
// tanh(±10) already rounds to ±1 in f32.
fn tanh_c(x: f32) -> f32 {
    return tanh(clamp(x, -10.0, 10.0));
}

fn sigmoid(x: f32) -> f32 {
    return 0.5 + 0.5 * tanh_c(0.5 * x);
}

// ---------------------------------------------------------------- forward
// bindings: 1 xw r, 2 w_h r, 3 h rw, 4 gates rw, 5 c rw, 6 hprev rw
@group(0) @binding(1) var<storage, read> xw: array<f32>;
@group(0) @binding(2) var<storage, read> w_h: array<f32>;
@group(0) @binding(3) var<storage, read_write> h: array<f32>;
@group(0) @binding(4) var<storage, read_write> gates: array<f32>;
@group(0) @binding(5) var<storage, read_write> c: array<f32>;
@group(0) @binding(6) var<storage, read_write> hprev: array<f32>;

var<workgroup> h_sh: array<f32, MAX_H>;

@compute @workgroup_size(64)
fn lstm_forward(@builtin(workgroup_id) wg: vec3<u32>,
                @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_id) lid: vec3<u32>) {
    let bi = wg.x + wg.y * nwg.x;
    if (bi >= dims.b) { return; }   // uniform per workgroup: the barriers below stay legal
    let l = lid.x;
    let H = dims.h;
    let G = 4u * H;
    var c_reg: array<f32, PER>;   // c_{t-1} of this thread's units (zero-initialised)
    var h_new: array<f32, PER>;
    for (var j = l; j < H; j += WG) { h_sh[j] = 0.0; }
    for (var ti = 0u; ti < dims.t; ti++) {
        workgroupBarrier();   // h_sh holds h_{t-1}
        let row = bi * dims.t + ti;
        for (var u = 0u; u < PER; u++) {
            let j = l + u * WG;
            if (j < H) {
                // Σ_k h_{t-1}[k]·W_h[k, gate·H + j], k ascending, the four gates side by side
                var p = vec4<f32>(0.0);
                for (var k = 0u; k < H; k++) {
                    let w = k * G + j;
                    p += h_sh[k] * vec4<f32>(w_h[w], w_h[w + H], w_h[w + 2u * H], w_h[w + 3u * H]);
                }
                let x = row * G + j;
                let i = sigmoid(xw[x] + p.x);
                let f = sigmoid(xw[x + H] + p.y);
                let g = tanh_c(xw[x + 2u * H] + p.z);
                let o = sigmoid(xw[x + 3u * H] + p.w);
                let cj = f * c_reg[u] + i * g;
                c_reg[u] = cj;
                let hj = o * tanh_c(cj);
                h_new[u] = hj;
                hprev[row * H + j] = h_sh[j];
                h[row * H + j] = hj;
                c[row * H + j] = cj;
                gates[x] = i;
                gates[x + H] = f;
                gates[x + 2u * H] = g;
                gates[x + 3u * H] = o;
            }
        }
        workgroupBarrier();   // every thread has read h_{t-1}
        for (var u = 0u; u < PER; u++) {
            let j = l + u * WG;
            if (j < H) { h_sh[j] = h_new[u]; }
        }
    }
}

// ---------------------------------------------------------------- backward
// bindings: 1 dh r, 2 gates r, 3 c r, 4 w_h r, 5 dpre rw
@group(0) @binding(1) var<storage, read> bw_dh: array<f32>;
@group(0) @binding(2) var<storage, read> bw_gates: array<f32>;
@group(0) @binding(3) var<storage, read> bw_c: array<f32>;
@group(0) @binding(4) var<storage, read> bw_w_h: array<f32>;
@group(0) @binding(5) var<storage, read_write> dpre: array<f32>;

var<workgroup> d_sh: array<f32, 1024>;   // dpre_{t+1}: 4·MAX_H

@compute @workgroup_size(64)
fn lstm_backward(@builtin(workgroup_id) wg: vec3<u32>,
                 @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_id) lid: vec3<u32>) {
    let bi = wg.x + wg.y * nwg.x;
    if (bi >= dims.b) { return; }
    let l = lid.x;
    let H = dims.h;
    let G = 4u * H;
    var dc_reg: array<f32, PER>;   // dc_{t+1}·f_{t+1} of this thread's units (zero-initialised)
    var d_new: array<vec4<f32>, PER>;
    for (var m = l; m < G; m += WG) { d_sh[m] = 0.0; }
    for (var s = 0u; s < dims.t; s++) {
        let ti = dims.t - 1u - s;
        workgroupBarrier();   // d_sh holds dpre_{t+1} (zeros at the last step)
        let row = bi * dims.t + ti;
        for (var u = 0u; u < PER; u++) {
            let j = l + u * WG;
            if (j < H) {
                var rec = 0.0;
                for (var m = 0u; m < G; m++) { rec += bw_w_h[j * G + m] * d_sh[m]; }
                let dht = bw_dh[row * H + j] + rec;
                let x = row * G + j;
                let i = bw_gates[x];
                let f = bw_gates[x + H];
                let g = bw_gates[x + 2u * H];
                let o = bw_gates[x + 3u * H];
                let tc = tanh_c(bw_c[row * H + j]);
                var c_prev = 0.0;
                if (ti > 0u) { c_prev = bw_c[(row - 1u) * H + j]; }
                let d_o = dht * tc;
                let dc = dc_reg[u] + dht * o * (1.0 - tc * tc);
                dc_reg[u] = dc * f;
                let d = vec4<f32>(dc * g * i * (1.0 - i), dc * c_prev * f * (1.0 - f),
                                  dc * i * (1.0 - g * g), d_o * o * (1.0 - o));
                d_new[u] = d;
                dpre[x] = d.x;
                dpre[x + H] = d.y;
                dpre[x + 2u * H] = d.z;
                dpre[x + 3u * H] = d.w;
            }
        }
        workgroupBarrier();   // every thread has read dpre_{t+1}
        for (var u = 0u; u < PER; u++) {
            let j = l + u * WG;
            if (j < H) {
                d_sh[j] = d_new[u].x;
                d_sh[j + H] = d_new[u].y;
                d_sh[j + 2u * H] = d_new[u].z;
                d_sh[j + 3u * H] = d_new[u].w;
            }
        }
    }
}
