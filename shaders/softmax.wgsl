// softmax.wgsl — causal (masked) row softmax, forward and backward: the middle pass of the
// UNFUSED attention reference (matmul → masked softmax → matmul) that `npm run bench` compares
// with the fused kernels of attention.wgsl. Training never dispatches these.
//
// Shapes (named dims): x, y, dy, dx: (rows, T) with rows = B·NH·T; row r holds the scores of
// query position t = r % T of its (b, h) pair, so only the columns u ≤ t take part (causal mask).
//   softmax_causal_forward:  m = max_{u≤t} scale·x[r,u];
//                            y[r,u] = exp(scale·x[r,u] − m) / Σ_{u'≤t} exp(scale·x[r,u'] − m), u ≤ t;
//                            y[r,u] = 0, u > t.
//   softmax_causal_backward: dx[r,u] = scale · y[r,u] · (dy[r,u] − Σ_{u'} y[r,u']·dy[r,u'])
//                            (0 above the diagonal, because y is).
// `scale` is 1/√hs: the attention's score scale, folded in here so the matmuls stay plain.
//
// Workgroup layout: 64 threads, ONE ROW PER THREAD (T is small in the toys: 4 to 256). With
// g = ceil(rows / 64) workgroups the host dispatches (min(g, 65535), ceil(g / 65535), 1).
// How it sums: inside one thread, u ascending from 0.0, like the CPU reference; no atomics,
// so a run repeats exactly on one device.

struct Dims { rows: u32, t: u32, scale: f32 }

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
fn softmax_causal_forward(@builtin(workgroup_id) wg: vec3<u32>,
                          @builtin(num_workgroups) nwg: vec3<u32>,
                          @builtin(local_invocation_index) lid: u32) {
    let r = row_of(wg, nwg, lid);
    if (r >= dims.rows) { return; }   // the grid is rounded up
    let T = dims.t;
    let t = r % T;
    let row = r * T;
    var mx = -3.402823e38;
    for (var u = 0u; u <= t; u++) { mx = max(mx, dims.scale * x[row + u]); }
    var sum = 0.0;
    for (var u = 0u; u <= t; u++) {
        let e = exp(dims.scale * x[row + u] - mx);
        y[row + u] = e;
        sum += e;
    }
    let inv = 1.0 / sum;
    for (var u = 0u; u < T; u++) {
        if (u <= t) { y[row + u] = y[row + u] * inv; } else { y[row + u] = 0.0; }
    }
}

@compute @workgroup_size(64)
fn softmax_causal_backward(@builtin(workgroup_id) wg: vec3<u32>,
                           @builtin(num_workgroups) nwg: vec3<u32>,
                           @builtin(local_invocation_index) lid: u32) {
    let r = row_of(wg, nwg, lid);
    if (r >= dims.rows) { return; }
    let T = dims.t;
    let t = r % T;
    let row = r * T;
    var dot = 0.0;
    for (var u = 0u; u <= t; u++) { dot += bw_y[row + u] * bw_dy[row + u]; }
    for (var u = 0u; u < T; u++) {
        dx[row + u] = dims.scale * bw_y[row + u] * (bw_dy[row + u] - dot);
    }
}
