// dropout.wgsl — inverted dropout with a counter-based mask (spec: docs/kernels.md).
//
// Shapes: x, y (n) flat. y[i] = keep(i) ? scale·x[i] : 0, keep(i) = (hash(seed, i) >> 8) >= threshold,
// with threshold = round(p·2²⁴) and scale = 1/(1 − p) computed by the host. The mask is a pure
// function of (seed, i) in integer arithmetic, so the CPU reference draws the very same units and
// nothing has to be stored for the backward pass: y = x·m gives dx = dy·m, the same kernel on dy.
//
// Workgroup layout: 256 threads, one element each; the host dispatches
// (min(g, 65535), ceil(g / 65535), 1) with g = ceil(n / 256), as elementwise.wgsl does.
// Bindings: 0 uniform dims, 1 x (read), 2 y (read_write).

struct Dims { n: u32, seed: u32, threshold: u32, scale: f32 }

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

// PCG's output permutation (O'Neill 2014, "RXS M XS" variant) as a 32-bit hash.
fn pcg_hash(v: u32) -> u32 {
    let state = v * 747796405u + 2891336453u;
    let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
    return (word >> 22u) ^ word;
}

@compute @workgroup_size(256)
fn dropout(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) lid: u32) {
    let i = (wg.x + wg.y * nwg.x) * 256u + lid;
    if (i >= dims.n) { return; }
    let keep = (pcg_hash(i ^ pcg_hash(dims.seed)) >> 8u) >= dims.threshold;
    y[i] = select(0.0, dims.scale * x[i], keep);
}
