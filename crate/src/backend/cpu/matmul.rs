//! CPU matmul: out (batch, m, n) = op(a) · op(b), the reference for `shaders/matmul.wgsl`.
//!
//! Every output element is one accumulator summed over k in ascending order from 0.0, however
//! the loops are blocked, so the result does not depend on the blocking, the SIMD width or the
//! number of threads. The micro-kernel keeps a 4×8 block of outputs in registers; the compiler
//! vectorises across its 8 independent columns (SSE natively, SIMD128 in wasm).
//! Natively, large products split their rows over the machine's threads (each row is still
//! computed by exactly the same instructions); in the browser the CPU backend is single-threaded.

use crate::backend::MatmulDims;

const MR: usize = 4;
const NR: usize = 8;

pub fn matmul(a: &[f32], b: &[f32], out: &mut [f32], d: &MatmulDims) {
    let MatmulDims { batch, m, k, n, .. } = *d;
    assert!(out.len() >= batch * m * n, "matmul: out has {} < {}", out.len(), batch * m * n);
    // Pack op(a) as (m, k) and op(b) as (k, n) so the inner loops read memory in order.
    let mut pa = Vec::new();
    let mut pb = Vec::new();
    for bi in 0..batch {
        let a_mat = &a[bi * d.a_batch_stride..];
        let b_mat = &b[bi * d.b_batch_stride..];
        let a_rows: &[f32] = if d.a_trans {
            transpose_into(&a_mat[..k * m], k, m, &mut pa);
            &pa
        } else {
            &a_mat[..m * k]
        };
        let b_rows: &[f32] = if d.b_trans {
            transpose_into(&b_mat[..n * k], n, k, &mut pb);
            &pb
        } else {
            &b_mat[..k * n]
        };
        let o = &mut out[bi * m * n..(bi + 1) * m * n];
        matmul_rows_parallel(a_rows, b_rows, o, m, k, n);
    }
}

/// src: (rows, cols) → dst: (cols, rows).
fn transpose_into(src: &[f32], rows: usize, cols: usize, dst: &mut Vec<f32>) {
    dst.clear();
    dst.resize(rows * cols, 0.0);
    for r in 0..rows {
        for c in 0..cols {
            dst[c * rows + r] = src[r * cols + c];
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn matmul_rows_parallel(a: &[f32], b: &[f32], out: &mut [f32], m: usize, k: usize, n: usize) {
    // Threads only pay off for products of some size; the split is by whole row blocks.
    // Asked once: `available_parallelism` reads cgroup files, ~30 µs a call.
    static THREADS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    let threads = *THREADS.get_or_init(|| std::thread::available_parallelism().map_or(1, |t| t.get()).min(8));
    if threads < 2 || m * k * n < 1 << 20 || m < 2 * MR {
        return matmul_rows(a, b, out, m, k, n);
    }
    let rows_per = m.div_ceil(threads).next_multiple_of(MR);
    std::thread::scope(|s| {
        for (i, o) in out.chunks_mut(rows_per * n).enumerate() {
            let rows = o.len() / n;
            let a_part = &a[i * rows_per * k..(i * rows_per + rows) * k];
            s.spawn(move || matmul_rows(a_part, b, o, rows, k, n));
        }
    });
}

#[cfg(target_arch = "wasm32")]
fn matmul_rows_parallel(a: &[f32], b: &[f32], out: &mut [f32], m: usize, k: usize, n: usize) {
    matmul_rows(a, b, out, m, k, n)
}

/// a: (m, k), b: (k, n) → out: (m, n), both row-major and packed.
fn matmul_rows(a: &[f32], b: &[f32], out: &mut [f32], m: usize, k: usize, n: usize) {
    let (m_full, n_full) = (m - m % MR, n - n % NR);
    for i in (0..m_full).step_by(MR) {
        for j in (0..n_full).step_by(NR) {
            let mut acc = [[0.0f32; NR]; MR];
            for kk in 0..k {
                let brow: &[f32; NR] = b[kk * n + j..kk * n + j + NR].try_into().unwrap();
                for r in 0..MR {
                    let av = a[(i + r) * k + kk];
                    for c in 0..NR {
                        acc[r][c] += av * brow[c];
                    }
                }
            }
            for r in 0..MR {
                out[(i + r) * n + j..(i + r) * n + j + NR].copy_from_slice(&acc[r]);
            }
        }
        for j in n_full..n {
            for r in 0..MR {
                out[(i + r) * n + j] = dot_column(a, b, i + r, j, k, n);
            }
        }
    }
    for i in m_full..m {
        for j in 0..n {
            out[i * n + j] = dot_column(a, b, i, j, k, n);
        }
    }
}

/// One output element, summed in the same order as the micro-kernel.
fn dot_column(a: &[f32], b: &[f32], i: usize, j: usize, k: usize, n: usize) -> f32 {
    let mut s = 0.0f32;
    for kk in 0..k {
        s += a[i * k + kk] * b[kk * n + j];
    }
    s
}
