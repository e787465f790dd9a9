// embedding.wgsl — row gather (embedding lookup) and its gradient, a row scatter-add
// done as a gather over a CSR index so that no atomics are needed (spec: docs/kernels.md).
//
// gather_rows:  table (R, C), ids (N) u32 -> out (N, C); out[j, c] = table[ids[j], c].
//               The host guarantees ids[j] < R.
// scatter_rows: dy (N, C), offsets (R+1) u32, order (N) u32 -> out (R, C);
//               out[r, c] = sum_{i = offsets[r]}^{offsets[r+1]-1} dy[order[i], c], i ascending,
//               starting from 0.0 (rows never gathered get 0). offsets/order are the CSR
//               inverse of ids built on the host (order lists the j of row r in ascending j).
//
// Workgroup layout: one thread per output element, 64 threads per workgroup.
// EXACT dispatch grid for both: g = ceil(total / 64) workgroups with total = N*C (gather) or
// R*C (scatter); dispatch (min(g, 65535), ceil(g / 65535), 1);
// element idx = gid.x + gid.y * num_workgroups.x * 64; threads past the end return.
// (total may exceed 65535*64, hence the second grid dimension.)
//
// Summation: each scatter output is one thread's sequential loop in the CSR order, so the
// order is fixed and equals the CPU reference's; no two threads write the same element.

struct GatherDims { n_ids: u32, cols: u32 }
struct ScatterDims { rows: u32, cols: u32 }

const WG: u32 = 64u;

// ---------------------------------------------------------------- gather_rows
// bindings: 0 dims {n_ids, cols}; 1 table r; 2 ids r; 3 out rw
@group(0) @binding(0) var<uniform> g_dims: GatherDims;
@group(0) @binding(1) var<storage, read> table: array<f32>;
@group(0) @binding(2) var<storage, read> ids: array<u32>;
@group(0) @binding(3) var<storage, read_write> g_out: array<f32>;

@compute @workgroup_size(64)
fn gather_rows(@builtin(global_invocation_id) gid: vec3<u32>,
               @builtin(num_workgroups) nwg: vec3<u32>) {
    let idx = gid.x + gid.y * nwg.x * WG;
    let C = g_dims.cols;
    if (idx >= g_dims.n_ids * C) { return; }
    let j = idx / C;
    let c = idx % C;
    g_out[idx] = table[ids[j] * C + c];
}

// ---------------------------------------------------------------- scatter_rows
// bindings: 0 dims {rows, cols}; 1 dy r; 2 offsets r; 3 order r; 4 out rw
@group(0) @binding(0) var<uniform> s_dims: ScatterDims;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> offsets: array<u32>;
@group(0) @binding(3) var<storage, read> order: array<u32>;
@group(0) @binding(4) var<storage, read_write> s_out: array<f32>;

@compute @workgroup_size(64)
fn scatter_rows(@builtin(global_invocation_id) gid: vec3<u32>,
                @builtin(num_workgroups) nwg: vec3<u32>) {
    let idx = gid.x + gid.y * nwg.x * WG;
    let C = s_dims.cols;
    if (idx >= s_dims.rows * C) { return; }
    let r = idx / C;
    let c = idx % C;
    var acc = 0.0;
    for (var i = offsets[r]; i < offsets[r + 1u]; i++) {
        acc += dy[order[i] * C + c];
    }
    s_out[idx] = acc;   // overwrite, never accumulate into the output
}
