// optim.wgsl — optimizer updates, in place, one thread per parameter (spec: docs/kernels.md).
//
// Shapes: param, grad, m, v all (n).
//   adamw_update (Loshchilov & Hutter, decoupled weight decay):
//     m = β1·m + (1−β1)·g;  v = β2·v + (1−β2)·g²;
//     p = p − lr·wd·p;      p = p − lr·(m/bc1)/(sqrt(v/bc2) + eps)
//     bc1 = 1 − β1ᵗ and bc2 = 1 − β2ᵗ come from the host, so both backends use the same f32s.
//   orthogonal_grad (⊥Grad, Prieto et al. 2025, §5): out = g − (g·w / w·w)·w (out = g when w = 0),
//     for one parameter tensor; ONE workgroup of 256 threads, dispatch (1, 1, 1): thread l sums
//     the products of elements l, l+256, … ascending, then a fixed tree (s = 128, …, 1), then
//     every thread writes its elements. Bindings 1 w r, 2 g r, 3 out rw.
//
// Workgroup layout: 256 threads, one parameter each. With g = ceil(n / 256) workgroups the host
// dispatches (min(g, 65535), ceil(g / 65535), 1); index = (wg.x + wg.y·nwg.x)·256 + lid.
// Nothing is summed across threads.
//
// Bindings follow the Rust argument order: adamw 1 param rw, 2 grad r, 3 m rw, 4 v rw.
// The uniform structs list the scalars in the spec's order.

struct AdamDims {
    n: u32,
    lr: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    weight_decay: f32,
    bc1: f32,
    bc2: f32,
}

@group(0) @binding(0) var<uniform> adam: AdamDims;
@group(0) @binding(1) var<storage, read_write> param: array<f32>;
@group(0) @binding(2) var<storage, read> grad: array<f32>;
@group(0) @binding(3) var<storage, read_write> m: array<f32>;
@group(0) @binding(4) var<storage, read_write> v: array<f32>;

const WG: u32 = 256u;

@compute @workgroup_size(256)
fn adamw_update(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) lid: u32) {
    let i = (wg.x + wg.y * nwg.x) * WG + lid;
    if (i >= adam.n) { return; }
    let g = grad[i];
    let mi = adam.beta1 * m[i] + (1.0 - adam.beta1) * g;
    let vi = adam.beta2 * v[i] + (1.0 - adam.beta2) * g * g;
    m[i] = mi;
    v[i] = vi;
    var p = param[i];
    p -= adam.lr * adam.weight_decay * p;
    p -= adam.lr * (mi / adam.bc1) / (sqrt(vi / adam.bc2) + adam.eps);
    param[i] = p;
}

struct OrthoDims { n: u32 }
@group(0) @binding(0) var<uniform> ortho: OrthoDims;
@group(0) @binding(1) var<storage, read> og_w: array<f32>;
@group(0) @binding(2) var<storage, read> og_g: array<f32>;
@group(0) @binding(3) var<storage, read_write> og_out: array<f32>;

var<workgroup> part_gw: array<f32, WG>;
var<workgroup> part_ww: array<f32, WG>;

@compute @workgroup_size(256)
fn orthogonal_grad(@builtin(local_invocation_index) l: u32) {
    var gw = 0.0;
    var ww = 0.0;
    for (var i = l; i < ortho.n; i += WG) {
        let w = og_w[i];
        gw += og_g[i] * w;
        ww += w * w;
    }
    part_gw[l] = gw;
    part_ww[l] = ww;
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        workgroupBarrier();
        if (l < s) {
            part_gw[l] += part_gw[l + s];
            part_ww[l] += part_ww[l + s];
        }
    }
    workgroupBarrier();
    let wsq = part_ww[0];
    let c = select(0.0, part_gw[0] / wsq, wsq > 0.0);
    for (var i = l; i < ortho.n; i += WG) { og_out[i] = og_g[i] - c * og_w[i]; }
}
