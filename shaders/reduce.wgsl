// reduce.wgsl — fixed-order sums: sum, sum_squares (the whole array to one number) and
// sum_rows (a matrix down its rows) (spec: docs/kernels.md).
//
// Shapes and what they compute:
//   sum:         x (n)            → out (1):    out[0] = scale · Σ x
//   sum_squares: x (n)            → out (1):    out[0] = Σ x²
//   sum_rows:    x (rows, cols)   → out (cols): out[c] = Σ_r x[r, c]   (gradient of add_bias)
//   count_zeros: x (n)            → out (1):    out[0] = scale · #{i : x[i] == 0} (same layout as sum)
//
// Workgroup layout:
//   sum, sum_squares: ONE workgroup of 256 threads; dispatch (1, 1, 1). These run on losses
//     (n = rows) and for a gradient norm (n = parameters), where one launch beats two.
//   sum_rows: 256 threads = 16 columns × 16 row lanes; thread lid owns column
//     (wg.x + wg.y·nwg.x)·16 + lid % 16 and lane lid / 16. With g = ceil(cols / 16) the host
//     dispatches (min(g, 65535), ceil(g / 65535), 1).
//
// How it sums — a fixed shape, no atomics, so a run repeats bit for bit on one device:
//   sum, sum_squares: thread l adds x[l], x[l+256], x[l+512], ... in ascending order from 0.0;
//     then the 256 partial sums are combined by a tree in workgroup memory
//     (partial[l] += partial[l + s] for s = 128, 64, ..., 1).
//   sum_rows: lane l adds rows l, l+16, l+32, ... in ascending order from 0.0; then the 16
//     lane sums of a column are combined by a tree (s = 8, 4, 2, 1).
// The CPU reference sums strictly left to right, so the two agree to rounding, not bit for bit.

struct Dims { n: u32, scale: f32 }        // scale: sum only
struct RowsDims { rows: u32, cols: u32 }

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(0) var<uniform> rdims: RowsDims;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

const WG: u32 = 256u;
const COLS: u32 = 16u;    // sum_rows: columns per workgroup
const LANES: u32 = 16u;   // sum_rows: row lanes per column

var<workgroup> partial: array<f32, WG>;

// Combines partial[0..256] by the fixed tree; the total ends in partial[0].
fn tree_sum(l: u32) {
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        workgroupBarrier();
        if (l < s) { partial[l] += partial[l + s]; }
    }
    workgroupBarrier();
}

@compute @workgroup_size(256)
fn sum(@builtin(local_invocation_index) l: u32) {
    var acc = 0.0;
    for (var i = l; i < dims.n; i += WG) { acc += x[i]; }
    partial[l] = acc;
    tree_sum(l);
    if (l == 0u) { out[0] = dims.scale * partial[0]; }
}

@compute @workgroup_size(256)
fn sum_squares(@builtin(local_invocation_index) l: u32) {
    var acc = 0.0;
    for (var i = l; i < dims.n; i += WG) { let v = x[i]; acc += v * v; }
    partial[l] = acc;
    tree_sum(l);
    if (l == 0u) { out[0] = partial[0]; }
}

@compute @workgroup_size(256)
fn sum_rows(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) l: u32) {
    let slot = l % COLS;
    let lane = l / COLS;
    let c = (wg.x + wg.y * nwg.x) * COLS + slot;
    let cols = rdims.cols;
    // No early return: every thread must reach the barriers below.
    var acc = 0.0;
    if (c < cols) {
        for (var r = lane; r < rdims.rows; r += LANES) { acc += x[r * cols + c]; }
    }
    partial[l] = acc;   // partial[lane*16 + slot]
    for (var s = LANES / 2u; s > 0u; s >>= 1u) {
        workgroupBarrier();
        if (lane < s) { partial[l] += partial[l + s * COLS]; }
    }
    workgroupBarrier();
    if (lane == 0u && c < cols) { out[c] = partial[slot]; }
}

@compute @workgroup_size(256)
fn count_zeros(@builtin(local_invocation_index) l: u32) {
    var acc = 0.0;
    for (var i = l; i < dims.n; i += WG) { acc += select(0.0, 1.0, x[i] == 0.0); }
    partial[l] = acc;
    tree_sum(l);
    if (l == 0u) { out[0] = dims.scale * partial[0]; }
}
