// layernorm.wgsl — layer normalisation over the last dim, forward and backward
// (spec: docs/kernels.md).
//
// Shapes: x, y, dy, dx (N, C) with N = dims.rows, C = dims.cols; gamma, beta, dgamma, dbeta (C);
// mean, rstd (N). eps = 1e-5, biased variance (divide by C).
//   forward:     mean = sum(x)/C; var = sum((x-mean)^2)/C; rstd = 1/sqrt(var + eps);
//                y = (x - mean)*rstd*gamma + beta
//   backward_dx: xhat = (x-mean)*rstd; dxhat = dy*gamma;
//                dx = rstd*(dxhat - mean_c(dxhat) - xhat*mean_c(dxhat*xhat))
//   backward_dparams: dgamma[c] = sum_r dy*xhat; dbeta[c] = sum_r dy (r ascending)
//
// Workgroup layout and EXACT dispatch grids (64 threads per workgroup):
//   layernorm_forward, layernorm_backward_dx: one workgroup per row;
//     dispatch (min(N, 65535), ceil(N / 65535), 1); row = wg.x + wg.y * num_workgroups.x,
//     groups past the last row return.
//   layernorm_backward_dparams: one thread per column;
//     dispatch (min(g, 65535), ceil(g / 65535), 1) with g = ceil(C / 64);
//     column = gid.x + gid.y * num_workgroups.x * 64.
//
// Summation, fixed order, no atomics: in a row kernel thread l first sums its columns
// l, l+64, l+128, ... in ascending order, then the 64 partial sums are combined by a fixed
// tree in workgroup memory (stride 32, 16, ..., 1). dparams loops the rows in ascending order
// inside one thread. So a run repeats bit for bit on one device.
//
// Bindings: both backward entry points declare the SAME 8 bindings (listed below) and each one
// touches all 8, so an automatic layout and an explicit 8-entry layout agree.

struct Dims { rows: u32, cols: u32 }

const WG: u32 = 64u;
const EPS: f32 = 1e-5;

@group(0) @binding(0) var<uniform> dims: Dims;

// ---------------------------------------------------------------- forward
// bindings: 1 x r, 2 gamma r, 3 beta r, 4 y rw, 5 mean rw, 6 rstd rw
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> beta: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read_write> mean: array<f32>;
@group(0) @binding(6) var<storage, read_write> rstd: array<f32>;

var<workgroup> part_a: array<f32, WG>;
var<workgroup> part_b: array<f32, WG>;

// Sum of one value per thread over the workgroup by a fixed tree; every thread gets the total.
// The leading barrier keeps a previous call's readers of part_a[0] from seeing it overwritten.
fn wg_sum(l: u32, v: f32) -> f32 {
    workgroupBarrier();
    part_a[l] = v;
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        workgroupBarrier();
        if (l < s) { part_a[l] += part_a[l + s]; }
    }
    workgroupBarrier();
    return part_a[0];
}

// Two sums at once (the backward needs two row means); same tree as wg_sum.
fn wg_sum2(l: u32, v: vec2<f32>) -> vec2<f32> {
    workgroupBarrier();
    part_a[l] = v.x;
    part_b[l] = v.y;
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        workgroupBarrier();
        if (l < s) {
            part_a[l] += part_a[l + s];
            part_b[l] += part_b[l + s];
        }
    }
    workgroupBarrier();
    return vec2<f32>(part_a[0], part_b[0]);
}

@compute @workgroup_size(64)
fn layernorm_forward(@builtin(workgroup_id) wg: vec3<u32>,
                     @builtin(num_workgroups) nwg: vec3<u32>,
                     @builtin(local_invocation_id) lid: vec3<u32>) {
    let row = wg.x + wg.y * nwg.x;
    if (row >= dims.rows) { return; }   // uniform per workgroup: the barriers below stay legal
    let l = lid.x;
    let C = dims.cols;
    let base = row * C;

    var s = 0.0;
    for (var c = l; c < C; c += WG) { s += x[base + c]; }
    let m = wg_sum(l, s) / f32(C);

    // second pass over x (two-pass variance: no cancellation from E[x^2] - E[x]^2)
    var sq = 0.0;
    for (var c = l; c < C; c += WG) { let d = x[base + c] - m; sq += d * d; }
    let r = 1.0 / sqrt(wg_sum(l, sq) / f32(C) + EPS);

    for (var c = l; c < C; c += WG) {
        y[base + c] = (x[base + c] - m) * r * gamma[c] + beta[c];
    }
    if (l == 0u) {
        mean[row] = m;
        rstd[row] = r;
    }
}

// ---------------------------------------------------------------- backward
// bindings (both entry points): 1 dy r, 2 x r, 3 gamma r, 4 mean r, 5 rstd r,
//                               6 dx rw, 7 dgamma rw, 8 dbeta rw
@group(0) @binding(1) var<storage, read> bw_dy: array<f32>;
@group(0) @binding(2) var<storage, read> bw_x: array<f32>;
@group(0) @binding(3) var<storage, read> bw_gamma: array<f32>;
@group(0) @binding(4) var<storage, read> bw_mean: array<f32>;
@group(0) @binding(5) var<storage, read> bw_rstd: array<f32>;
@group(0) @binding(6) var<storage, read_write> dx: array<f32>;
@group(0) @binding(7) var<storage, read_write> dgamma: array<f32>;
@group(0) @binding(8) var<storage, read_write> dbeta: array<f32>;

@compute @workgroup_size(64)
fn layernorm_backward_dx(@builtin(workgroup_id) wg: vec3<u32>,
                         @builtin(num_workgroups) nwg: vec3<u32>,
                         @builtin(local_invocation_id) lid: vec3<u32>) {
    // Static references only, so this entry point's layout also lists bindings 7 and 8.
    _ = &dgamma;
    _ = &dbeta;
    let row = wg.x + wg.y * nwg.x;
    if (row >= dims.rows) { return; }
    let l = lid.x;
    let C = dims.cols;
    let base = row * C;
    let m = bw_mean[row];
    let r = bw_rstd[row];

    // row sums of dxhat and dxhat*xhat
    var acc = vec2<f32>(0.0, 0.0);
    for (var c = l; c < C; c += WG) {
        let xhat = (bw_x[base + c] - m) * r;
        let dxhat = bw_dy[base + c] * bw_gamma[c];
        acc += vec2<f32>(dxhat, dxhat * xhat);
    }
    let means = wg_sum2(l, acc) / f32(C);

    for (var c = l; c < C; c += WG) {
        let xhat = (bw_x[base + c] - m) * r;
        let dxhat = bw_dy[base + c] * bw_gamma[c];
        dx[base + c] = r * (dxhat - means.x - xhat * means.y);
    }
}

@compute @workgroup_size(64)
fn layernorm_backward_dparams(@builtin(global_invocation_id) gid: vec3<u32>,
                              @builtin(num_workgroups) nwg: vec3<u32>) {
    _ = &bw_gamma;   // static references only (layout completeness), see layernorm_backward_dx
    _ = &dx;
    let c = gid.x + gid.y * nwg.x * WG;
    let C = dims.cols;
    if (c >= C) { return; }
    // One thread owns one column and walks the rows in ascending order: the sum order is the
    // CPU reference's, and no two threads ever write the same element.
    var dg = 0.0;
    var db = 0.0;
    for (var row = 0u; row < dims.rows; row++) {
        let xhat = (bw_x[row * C + c] - bw_mean[row]) * bw_rstd[row];
        let d = bw_dy[row * C + c];
        dg += d * xhat;
        db += d;
    }
    dgamma[c] = dg;
    dbeta[c] = db;
}
