// grad_filter.wgsl — Grokfast's slow-gradient filter (Lee et al. 2024, Algorithm 2), applied to
// a gradient before the optimizer sees it (spec: docs/kernels.md).
//
// Shapes: grad, ema, ema_out, out all (n).
//   grad_filter_ema: ema_out = α·ema + (1−α)·grad;  out = grad + λ·ema_out
//
// Workgroup layout: 256 threads, one element each. With g = ceil(n / 256) workgroups the host
// dispatches (min(g, 65535), ceil(g / 65535), 1); index = (wg.x + wg.y·nwg.x)·256 + lid.
// Nothing is summed across threads.
//
// Bindings follow the Rust argument order: 1 grad r, 2 ema r, 3 ema_out rw, 4 out rw.

struct FilterDims { n: u32, alpha: f32, lamb: f32 }

@group(0) @binding(0) var<uniform> dims: FilterDims;
@group(0) @binding(1) var<storage, read> grad: array<f32>;
@group(0) @binding(2) var<storage, read> ema: array<f32>;
@group(0) @binding(3) var<storage, read_write> ema_out: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

const WG: u32 = 256u;

@compute @workgroup_size(256)
fn grad_filter_ema(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                   @builtin(local_invocation_index) lid: u32) {
    let i = (wg.x + wg.y * nwg.x) * WG + lid;
    if (i >= dims.n) { return; }
    let g = grad[i];
    let e = dims.alpha * ema[i] + (1.0 - dims.alpha) * g;
    ema_out[i] = e;
    out[i] = g + dims.lamb * e;
}
