// log_softmax.wgsl — row-wise log-softmax over (N, V), forward and backward (spec:
// docs/kernels.md). The sampler reads next-token log-probabilities from it; V is a toy
// vocabulary (a handful to a few hundred tokens), so one thread walks one whole row.
//
// Shapes: x, y, dy, dx: (N, V).
//   log_softmax_forward:  m = max_v x; y = x − m − ln Σ_v exp(x − m).
//   log_softmax_backward: dx = dy − exp(y)·Σ_v dy.
//
// Workgroup layout: 64 threads, ONE ROW PER THREAD. With g = ceil(N / 64) workgroups the host
// dispatches (min(g, 65535), ceil(g / 65535), 1); threads past the last row return.
// How it sums: inside one thread, v ascending from 0.0, like the CPU reference; no atomics.

struct Dims { n: u32, v: u32 }

@group(0) @binding(0) var<uniform> dims: Dims;

// forward: 1 x (read), 2 y (read_write)
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

// backward: 1 y (read), 2 dy (read), 3 dx (read_write)
@group(0) @binding(1) var<storage, read> bw_y: array<f32>;
@group(0) @binding(2) var<storage, read> bw_dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

const WG: u32 = 64u;

fn row_of(wg: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
    return (wg.x + wg.y * nwg.x) * WG + lid;
}

@compute @workgroup_size(64)
fn log_softmax_forward(@builtin(workgroup_id) wg: vec3<u32>,
                       @builtin(num_workgroups) nwg: vec3<u32>,
                       @builtin(local_invocation_index) lid: u32) {
    let r = row_of(wg, nwg, lid);
    if (r >= dims.n) { return; }   // the grid is rounded up
    let base = r * dims.v;
    var mx = x[base];
    for (var j = 1u; j < dims.v; j++) { mx = max(mx, x[base + j]); }
    var sum = 0.0;
    for (var j = 0u; j < dims.v; j++) { sum += exp(x[base + j] - mx); }
    let lse = mx + log(sum);
    for (var j = 0u; j < dims.v; j++) { y[base + j] = x[base + j] - lse; }
}

@compute @workgroup_size(64)
fn log_softmax_backward(@builtin(workgroup_id) wg: vec3<u32>,
                        @builtin(num_workgroups) nwg: vec3<u32>,
                        @builtin(local_invocation_index) lid: u32) {
    let r = row_of(wg, nwg, lid);
    if (r >= dims.n) { return; }
    let base = r * dims.v;
    var sum = 0.0;
    for (var j = 0u; j < dims.v; j++) { sum += bw_dy[base + j]; }
    for (var j = 0u; j < dims.v; j++) { dx[base + j] = bw_dy[base + j] - exp(bw_y[base + j]) * sum; }
}
