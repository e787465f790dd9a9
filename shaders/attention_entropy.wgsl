// attention_entropy.wgsl — the entropy of each attention row and its gradient, for the
// attention-sharpening penalty (Liu et al. 2023's flip-flop regularizers; spec: docs/kernels.md;
// CPU reference: crate/src/backend/cpu/attention.rs).
//
// Shapes: att, datt (B, NH, T, T) as attention_forward writes them, rows = B·NH·T; ent (rows).
//   forward:  ent[r] = −Σ_u a·ln a over row r, u ascending, a = 0 contributing 0 (its limit)
//   backward: datt = −dloss[0]·scale·(ln a + 1) where a > 0, else 0: the gradient of
//             scale·Σ_r ent[r] with respect to the probabilities; attention_backward (with
//             has_datt = 1) carries it through the softmax to q and k.
//
// Workgroup layout: 64 threads; forward one thread per row, backward one thread per element;
// g workgroups are dispatched as (min(g, 65535), ceil(g / 65535), 1) and threads past the end
// return. Each sum is one thread's loop in ascending order: a run repeats exactly.

struct Dims { n: u32, t: u32, scale: f32 }

const WG: u32 = 64u;

@group(0) @binding(0) var<uniform> dims: Dims;

// forward bindings: 1 att r, 2 ent rw
@group(0) @binding(1) var<storage, read> att: array<f32>;
@group(0) @binding(2) var<storage, read_write> ent: array<f32>;

// backward bindings: 1 att r, 2 dloss r, 3 datt rw
@group(0) @binding(1) var<storage, read> bw_att: array<f32>;
@group(0) @binding(2) var<storage, read> dloss: array<f32>;
@group(0) @binding(3) var<storage, read_write> datt: array<f32>;

fn index(wg: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
    return (wg.x + wg.y * nwg.x) * WG + lid;
}

// dims.n = rows
@compute @workgroup_size(64)
fn attention_entropy_forward(@builtin(workgroup_id) wg: vec3<u32>,
                             @builtin(num_workgroups) nwg: vec3<u32>,
                             @builtin(local_invocation_index) lid: u32) {
    let r = index(wg, nwg, lid);
    if (r >= dims.n) { return; }
    var s = 0.0;
    for (var u = 0u; u < dims.t; u++) {
        let a = att[r * dims.t + u];
        if (a > 0.0) { s += a * log(a); }
    }
    ent[r] = -s;
}

// dims.n = elements (rows·T)
@compute @workgroup_size(64)
fn attention_entropy_backward(@builtin(workgroup_id) wg: vec3<u32>,
                              @builtin(num_workgroups) nwg: vec3<u32>,
                              @builtin(local_invocation_index) lid: u32) {
    let i = index(wg, nwg, lid);
    if (i >= dims.n) { return; }
    let a = bw_att[i];
    var d = 0.0;
    if (a > 0.0) { d = -(dloss[0] * dims.scale) * (log(a) + 1.0); }
    datt[i] = d;
}
