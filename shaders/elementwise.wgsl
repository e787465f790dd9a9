// elementwise.wgsl — one thread per element: add, mul, scale, add_bias, and the GELU, ReLU, elu+1
// and exp activations forward and backward (spec: docs/kernels.md). The activations are the rows
// of `UnaryOp`'s table (crate/src/backend/unary.rs), which names each one's two entry points here;
// the host dispatches them all through `Gpu::unary_forward` / `unary_backward`.
//
// Shapes: every array is (n) flat; add_bias reads x, out as (rows, cols) and bias as (cols).
//   add:           out = a + b                 mul:           out = a · b
//   scale:         out = s · a                 add_bias:      out[r,c] = x[r,c] + bias[c]
//   gelu_forward:  y = 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
//   gelu_backward: dx = dy · gelu'(x)          relu_forward:  y = max(x, 0)
//   relu_backward: dx = x > 0 ? dy : 0
//   elu_plus_one_forward:  y = x > 0 ? x + 1 : exp(x)
//   elu_plus_one_backward: dx = x > 0 ? dy : dy · exp(x)
//   exp_forward:   y = exp(x)                  exp_backward:  dx = dy · y (from the output y)
//
// Workgroup layout: 256 threads, one element each. With g = ceil(n / 256) workgroups the host
// dispatches (min(g, 65535), ceil(g / 65535), 1) and element = (wg.x + wg.y·nwg.x)·256 + lid,
// so any n fits under the 65535-per-dimension limit; threads past n return.
// Nothing is summed, so results do not depend on the layout.
//
// Bindings follow the Rust method's argument order. Binary kernels: 1 a r, 2 b r, 3 out rw;
// unary kernels: 1 x r, 2 y rw. Each entry point only references its own variables, so the
// two sets may share binding numbers.

struct Dims { n: u32 }
struct ScaleDims { n: u32, s: f32 }
struct BiasDims { rows: u32, cols: u32 }

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(0) var<uniform> sdims: ScaleDims;
@group(0) @binding(0) var<uniform> bdims: BiasDims;

// binary: add, mul, add_bias (a = x, b = bias), gelu/relu/elu_plus_one_backward (a = x, b = dy),
// exp_backward (a = y, b = dy)
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

// unary: scale, gelu_forward, relu_forward, elu_plus_one_forward, exp_forward
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

const WG: u32 = 256u;
const GELU_K: f32 = 0.7978845608;   // sqrt(2/π)

fn element(wg: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
    return (wg.x + wg.y * nwg.x) * WG + lid;
}

// tanh of the GELU argument. Clamped because some drivers build tanh from exp(2u) and
// return NaN once that overflows; tanh(±10) already rounds to ±1 in f32, so nothing changes.
fn gelu_tanh(v: f32) -> f32 {
    return tanh(clamp(GELU_K * (v + 0.044715 * v * v * v), -10.0, 10.0));
}

@compute @workgroup_size(256)
fn add(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
       @builtin(local_invocation_index) lid: u32) {
    let i = element(wg, nwg, lid);
    if (i >= dims.n) { return; }
    out[i] = a[i] + b[i];
}

@compute @workgroup_size(256)
fn mul(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
       @builtin(local_invocation_index) lid: u32) {
    let i = element(wg, nwg, lid);
    if (i >= dims.n) { return; }
    out[i] = a[i] * b[i];
}

@compute @workgroup_size(256)
fn scale(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) lid: u32) {
    let i = element(wg, nwg, lid);
    if (i >= sdims.n) { return; }
    y[i] = sdims.s * x[i];
}

@compute @workgroup_size(256)
fn add_bias(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) lid: u32) {
    let i = element(wg, nwg, lid);
    if (i >= bdims.rows * bdims.cols) { return; }
    out[i] = a[i] + b[i % bdims.cols];
}

@compute @workgroup_size(256)
fn gelu_forward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) lid: u32) {
    let i = element(wg, nwg, lid);
    if (i >= dims.n) { return; }
    let v = x[i];
    y[i] = 0.5 * v * (1.0 + gelu_tanh(v));
}

@compute @workgroup_size(256)
fn gelu_backward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) lid: u32) {
    let i = element(wg, nwg, lid);
    if (i >= dims.n) { return; }
    let v = a[i];
    let th = gelu_tanh(v);
    // d/dx [0.5 x (1 + tanh u)] = 0.5 (1 + tanh u) + 0.5 x (1 − tanh² u) u',
    // u' = √(2/π)(1 + 3·0.044715·x²); 1 − tanh² avoids cosh, which overflows for large u.
    let du = GELU_K * (1.0 + 3.0 * 0.044715 * v * v);
    out[i] = b[i] * (0.5 * (1.0 + th) + 0.5 * v * (1.0 - th * th) * du);
}

@compute @workgroup_size(256)
fn relu_forward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) lid: u32) {
    let i = element(wg, nwg, lid);
    if (i >= dims.n) { return; }
    y[i] = select(0.0, x[i], x[i] > 0.0);
}

@compute @workgroup_size(256)
fn relu_backward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) lid: u32) {
    let i = element(wg, nwg, lid);
    if (i >= dims.n) { return; }
    out[i] = select(0.0, b[i], a[i] > 0.0);
}

// elu+1 (Katharopoulos et al. 2020): x + 1 for x > 0, exp(x) otherwise; a positive feature map.
@compute @workgroup_size(256)
fn elu_plus_one_forward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                        @builtin(local_invocation_index) lid: u32) {
    let i = element(wg, nwg, lid);
    if (i >= dims.n) { return; }
    let v = x[i];
    y[i] = select(exp(min(v, 0.0)), v + 1.0, v > 0.0);
}

@compute @workgroup_size(256)
fn elu_plus_one_backward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                         @builtin(local_invocation_index) lid: u32) {
    let i = element(wg, nwg, lid);
    if (i >= dims.n) { return; }
    let v = a[i];
    out[i] = select(b[i] * exp(min(v, 0.0)), b[i], v > 0.0);
}

@compute @workgroup_size(256)
fn exp_forward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
    let i = element(wg, nwg, lid);
    if (i >= dims.n) { return; }
    y[i] = exp(x[i]);
}

// dx = dy · exp(x), from the forward's output: a = y, b = dy.
@compute @workgroup_size(256)
fn exp_backward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) lid: u32) {
    let i = element(wg, nwg, lid);
    if (i >= dims.n) { return; }
    out[i] = a[i] * b[i];
}
