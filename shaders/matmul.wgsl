// matmul.wgsl — batched matrix product with optional transposes (spec: docs/kernels.md).
//
// out (batch, M, N) = op(a) (M, K) · op(b) (K, N), for bi in 0..batch:
//   A(bi, i, kk) = a[bi*a_batch_stride + (a_trans ? kk*M + i : i*K + kk)]
//   B(bi, kk, j) = b[bi*b_batch_stride + (b_trans ? j*K + kk : kk*N + j)]
//   out[bi*M*N + i*N + j] = Σ_kk A(bi,i,kk)·B(bi,kk,j)
// A batch stride of 0 broadcasts that operand (e.g. one weight matrix for every batch entry).
//
// Two entry points that compute the same thing:
//   matmul_naive — one thread per output element; workgroup 16×16 threads;
//                  dispatch (ceil(N/16), ceil(M/16), batch). Kept as the readable reference.
//   matmul       — tiled: one workgroup of 256 threads computes a 64×64 output tile; thread
//                  (tx, ty) = (lid % 16, lid / 16) owns the 4×4 outputs at rows ty + 16r and
//                  columns tx + 16c (strided, so neighbouring threads read neighbouring words of
//                  workgroup memory). K is walked in slabs of 16: the workgroup stages a 64×16
//                  slab of A and a 16×64 slab of B in workgroup memory (8 KiB), then every thread
//                  does 16 rank-1 updates of its 4×4 register block.
//                  dispatch (ceil(N/64), ceil(M/64), batch).
//
// How it sums: every output element is ONE private accumulator that adds the products in
// ascending kk, starting from 0.0, in both variants (the CPU reference's order; a compiler may
// still fuse a multiply-add, which the tests' tolerance covers). Out-of-range rows, columns and
// the padding past K load 0.0, and acc + 0·0 leaves acc unchanged, so edges need no special case.
// No atomics: a run repeats exactly on one device.

struct Dims {
    batch: u32,
    m: u32,
    k: u32,
    n: u32,
    a_trans: u32,           // 0 or 1
    b_trans: u32,           // 0 or 1
    a_batch_stride: u32,    // in elements; 0 broadcasts a
    b_batch_stride: u32,    // in elements; 0 broadcasts b
}

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

const TILE: u32 = 64u;   // output tile edge
const BK: u32 = 16u;     // K slab depth

// A(bi, i, kk), or 0.0 outside the matrix.
fn load_a(bi: u32, i: u32, kk: u32) -> f32 {
    if (i >= dims.m || kk >= dims.k) { return 0.0; }
    let base = bi * dims.a_batch_stride;
    if (dims.a_trans != 0u) { return a[base + kk * dims.m + i]; }
    return a[base + i * dims.k + kk];
}

// B(bi, kk, j), or 0.0 outside the matrix.
fn load_b(bi: u32, kk: u32, j: u32) -> f32 {
    if (kk >= dims.k || j >= dims.n) { return 0.0; }
    let base = bi * dims.b_batch_stride;
    if (dims.b_trans != 0u) { return b[base + j * dims.k + kk]; }
    return b[base + kk * dims.n + j];
}

@compute @workgroup_size(16, 16)
fn matmul_naive(@builtin(global_invocation_id) gid: vec3<u32>) {
    let j = gid.x;
    let i = gid.y;
    let bi = gid.z;
    if (i >= dims.m || j >= dims.n) { return; }
    var acc = 0.0;
    for (var kk = 0u; kk < dims.k; kk++) {
        acc += load_a(bi, i, kk) * load_b(bi, kk, j);
    }
    out[(bi * dims.m + i) * dims.n + j] = acc;
}

// The slabs, stored k-major: a_tile[kk*64 + i] and b_tile[kk*64 + j].
var<workgroup> a_tile: array<f32, 1024>;
var<workgroup> b_tile: array<f32, 1024>;

@compute @workgroup_size(256)
fn matmul(@builtin(workgroup_id) wg: vec3<u32>,
          @builtin(local_invocation_index) lid: u32) {
    let bi = wg.z;
    let row0 = wg.y * TILE;
    let col0 = wg.x * TILE;
    let tx = lid % 16u;
    let ty = lid / 16u;

    var acc: array<f32, 16>;   // acc[r*4 + c] for row ty + 16r, column tx + 16c; zero-initialised

    // dims.k is uniform, so every thread runs the same number of slabs and reaches the barriers.
    for (var k0 = 0u; k0 < dims.k; k0 += BK) {
        // Stage the slabs: 1024 elements each, 4 per thread. The index split is chosen per
        // layout so that consecutive threads read consecutive addresses of global memory.
        for (var q = 0u; q < 4u; q++) {
            let e = lid + q * 256u;
            var i = e / BK;
            var ka = e % BK;
            if (dims.a_trans != 0u) { ka = e / TILE; i = e % TILE; }
            a_tile[ka * TILE + i] = load_a(bi, row0 + i, k0 + ka);
            var kb = e / TILE;
            var j = e % TILE;
            if (dims.b_trans != 0u) { j = e / BK; kb = e % BK; }
            b_tile[kb * TILE + j] = load_b(bi, k0 + kb, col0 + j);
        }
        workgroupBarrier();
        for (var kk = 0u; kk < BK; kk++) {
            var av: array<f32, 4>;
            var bv: array<f32, 4>;
            for (var r = 0u; r < 4u; r++) { av[r] = a_tile[kk * TILE + ty + 16u * r]; }
            for (var c = 0u; c < 4u; c++) { bv[c] = b_tile[kk * TILE + tx + 16u * c]; }
            for (var r = 0u; r < 4u; r++) {
                for (var c = 0u; c < 4u; c++) {
                    acc[r * 4u + c] += av[r] * bv[c];
                }
            }
        }
        workgroupBarrier();   // the slabs are overwritten next iteration
    }

    for (var r = 0u; r < 4u; r++) {
        let i = row0 + ty + 16u * r;
        for (var c = 0u; c < 4u; c++) {
            let j = col0 + tx + 16u * c;
            if (i < dims.m && j < dims.n) {
                out[(bi * dims.m + i) * dims.n + j] = acc[r * 4u + c];
            }
        }
    }
}
