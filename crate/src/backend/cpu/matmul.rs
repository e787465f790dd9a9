//! CPU matmul: out (batch, m, n) = op(a) · op(b), the reference for `shaders/matmul.wgsl`.
//!
//! Every output element is one accumulator summed over k in ascending order from 0.0, however
//! the loops are blocked, so the result does not depend on the blocking, the SIMD width or the
//! number of threads. A micro-kernel keeps an MR×NR tile of outputs in registers and the
//! compiler vectorises across its NR independent columns, with separate multiplies and adds
//! (Rust never contracts them into FMA). The tile's size is picked at run time for the widest
//! vectors the CPU has (AVX-512, AVX2, else 4×8: SSE natively, SIMD128 in wasm); op(b) is packed
//! into panels of NR columns so the kernel reads it in order, and k is cut into blocks of KC so
//! a panel stays in L1 (a later block resumes from the stored partial sums, which changes no
//! bit). Large products split their rows over threads (`threads`).

use super::{CpuBuffer, threads};
use crate::backend::MatmulDims;

/// Rows of k per block: a 32-column panel of 256 rows is 32 KiB.
const KC: usize = 256;
/// Rows of out per block, so that an MC×KC block of op(a) stays in L2 across the panels.
const MC: usize = 96;
/// The largest tile, MR·NR, of any kernel below.
const MAX_TILE: usize = 8 * 32;

/// The mr × nr tile at c (row r at c[r·ldc..]) = Σ_{kk < kc} a(r, kk) · b[kk·nr + c], kk ascending,
/// starting from 0.0 or, when `resume`, from the tile's values (the sums of earlier k blocks);
/// a(r, kk) = a[r·rs + kk·ks] (either layout of op(a), or a packed edge panel).
type TileFn = unsafe fn(a: &[f32], rs: usize, ks: usize, b: &[f32], kc: usize, c: &mut [f32], ldc: usize, resume: bool);

#[derive(Clone, Copy)]
struct Kernel {
    mr: usize,
    nr: usize,
    tile: TileFn,
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn tile<const MR: usize, const NR: usize>(a: &[f32], rs: usize, ks: usize, b: &[f32], kc: usize, c: &mut [f32], ldc: usize, resume: bool) {
    let mut t = [[0.0f32; NR]; MR];
    if resume {
        for (r, row) in t.iter_mut().enumerate() {
            *row = c[r * ldc..][..NR].try_into().unwrap();
        }
    }
    for (kk, bv) in b[..kc * NR].chunks_exact(NR).enumerate() {
        let at = &a[kk * ks..];
        for (r, row) in t.iter_mut().enumerate() {
            let av = at[r * rs];
            for j in 0..NR {
                row[j] += av * bv[j];
            }
        }
    }
    for (r, row) in t.iter().enumerate() {
        let dst: &mut [f32; NR] = (&mut c[r * ldc..][..NR]).try_into().unwrap();
        *dst = *row;
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
unsafe fn tile_avx512(a: &[f32], rs: usize, ks: usize, b: &[f32], kc: usize, c: &mut [f32], ldc: usize, resume: bool) {
    tile::<8, 32>(a, rs, ks, b, kc, c, ldc, resume)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[allow(clippy::too_many_arguments)]
unsafe fn tile_avx2(a: &[f32], rs: usize, ks: usize, b: &[f32], kc: usize, c: &mut [f32], ldc: usize, resume: bool) {
    tile::<6, 16>(a, rs, ks, b, kc, c, ldc, resume)
}

#[allow(clippy::too_many_arguments)]
unsafe fn tile_portable(a: &[f32], rs: usize, ks: usize, b: &[f32], kc: usize, c: &mut [f32], ldc: usize, resume: bool) {
    tile::<4, 8>(a, rs, ks, b, kc, c, ldc, resume)
}

const PORTABLE: Kernel = Kernel { mr: 4, nr: 8, tile: tile_portable };

/// The kernels this CPU can run, widest first (all give the same bits).
fn kernels() -> Vec<Kernel> {
    #[cfg(target_arch = "x86_64")]
    let wide = [
        is_x86_feature_detected!("avx512f").then_some(Kernel { mr: 8, nr: 32, tile: tile_avx512 }),
        is_x86_feature_detected!("avx2").then_some(Kernel { mr: 6, nr: 16, tile: tile_avx2 }),
    ];
    #[cfg(not(target_arch = "x86_64"))]
    let wide: [Option<Kernel>; 0] = [];
    wide.into_iter().flatten().chain([PORTABLE]).collect()
}

fn best_kernel() -> Kernel {
    static BEST: std::sync::OnceLock<Kernel> = std::sync::OnceLock::new();
    *BEST.get_or_init(|| kernels()[0])
}

pub fn matmul(a: &[f32], b: &[f32], out: &mut [f32], d: &MatmulDims) {
    matmul_with(best_kernel(), a, b, out, d)
}

fn matmul_with(kern: Kernel, a: &[f32], b: &[f32], out: &mut [f32], d: &MatmulDims) {
    let MatmulDims { batch, m, k, n, .. } = *d;
    assert!(out.len() >= batch * m * n, "matmul: out has {} < {}", out.len(), batch * m * n);
    if m * n == 0 {
        return;
    }
    if k == 0 {
        return out[..batch * m * n].fill(0.0);
    }
    // op(a)(i, kk) = a[i·rs + kk·ks] in either stored layout, so op(a) is never copied.
    let (rs, ks) = if d.a_trans { (1, m) } else { (k, 1) };
    let mut pb = CpuBuffer::alloc(n.div_ceil(kern.nr) * kern.nr * k);
    for bi in 0..batch {
        let a_mat = &a[bi * d.a_batch_stride..][..m * k];
        pack_b(&b[bi * d.b_batch_stride..][..k * n], d.b_trans, k, n, kern.nr, &mut pb);
        let o = &mut out[bi * m * n..(bi + 1) * m * n];
        matmul_rows_parallel(kern, a_mat, rs, ks, &pb, o, m, k, n);
    }
}

/// op(b) (k, n) → panels of nr columns, panel p holding op(b)[kk][p·nr + c] at (p·k + kk)·nr + c,
/// zero beyond column n. b is stored (k, n), or (n, k) when `trans`.
fn pack_b(b: &[f32], trans: bool, k: usize, n: usize, nr: usize, pb: &mut [f32]) {
    for (p, panel) in pb.chunks_exact_mut(k * nr).enumerate() {
        let (j0, cols) = (p * nr, nr.min(n - p * nr));
        if trans {
            for c in 0..cols {
                for (kk, &v) in b[(j0 + c) * k..][..k].iter().enumerate() {
                    panel[kk * nr + c] = v;
                }
            }
        } else {
            for (kk, row) in panel.chunks_exact_mut(nr).enumerate() {
                row[..cols].copy_from_slice(&b[kk * n + j0..][..cols]);
            }
        }
        if cols < nr {
            for row in panel.chunks_exact_mut(nr) {
                row[cols..].fill(0.0);
            }
        }
    }
}

/// matmul_rows with the rows split over threads, in whole row tiles.
#[allow(clippy::too_many_arguments)]
fn matmul_rows_parallel(kern: Kernel, a: &[f32], rs: usize, ks: usize, pb: &[f32], out: &mut [f32], m: usize, k: usize, n: usize) {
    let parts = threads::parts(m * k * n).min(m / kern.mr).max(1);
    let rows_per = m.div_ceil(parts).next_multiple_of(kern.mr);
    threads::run(out.chunks_mut(rows_per * n).enumerate(), |(i, o)| matmul_rows(kern, &a[i * rows_per * rs..], rs, ks, pb, o, o.len() / n, k, n));
}

/// out (m, n) = op(a) · op(b) for m rows of op(a) (element (i, kk) at a[i·rs + kk·ks]) and the
/// packed panels pb of op(b).
#[allow(clippy::too_many_arguments)]
fn matmul_rows(kern: Kernel, a: &[f32], rs: usize, ks: usize, pb: &[f32], out: &mut [f32], m: usize, k: usize, n: usize) {
    let (mr, nr) = (kern.mr, kern.nr);
    let mut acc = [0.0f32; MAX_TILE];
    let acc = &mut acc[..mr * nr];
    // The last, partial row tile reads a zero-padded copy instead of rows past m.
    let m_full = m - m % mr;
    let mut edge = vec![0.0f32; if m_full < m { mr * KC.min(k) } else { 0 }];
    for k0 in (0..k).step_by(KC) {
        let kc = KC.min(k - k0);
        for (kk, e) in edge.chunks_exact_mut(mr).take(kc).enumerate() {
            for (r, v) in e.iter_mut().enumerate() {
                *v = if m_full + r < m { a[(m_full + r) * rs + (k0 + kk) * ks] } else { 0.0 };
            }
        }
        for i0 in (0..m).step_by(MC) {
            for (p, panel) in pb.chunks_exact(k * nr).enumerate() {
                let (j0, cols) = (p * nr, nr.min(n - p * nr));
                let bp = &panel[k0 * nr..][..kc * nr];
                for i in (i0..m.min(i0 + MC)).step_by(mr) {
                    let rows = mr.min(m - i);
                    let (ap, prs, pks) = if rows == mr { (&a[i * rs + k0 * ks..], rs, ks) } else { (&edge[..], 1, mr) };
                    // SAFETY (both calls): `kern` came from `kernels()`, which checked that this CPU has its features.
                    if rows == mr && cols == nr {
                        unsafe { (kern.tile)(ap, prs, pks, bp, kc, &mut out[i * n + j0..], n, k0 > 0) };
                        continue;
                    }
                    // An edge tile goes through `acc`, so that the kernel never touches outputs past m or n.
                    if k0 > 0 {
                        for r in 0..rows {
                            acc[r * nr..][..cols].copy_from_slice(&out[(i + r) * n + j0..][..cols]);
                        }
                    }
                    unsafe { (kern.tile)(ap, prs, pks, bp, kc, acc, nr, k0 > 0) };
                    for r in 0..rows {
                        out[(i + r) * n + j0..][..cols].copy_from_slice(&acc[r * nr..][..cols]);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every kernel this CPU has gives exactly the bits of one ascending sum per element, for
    /// both layouts of each operand, edge tiles and more than one k block.
    #[test]
    fn every_kernel_matches_the_sequential_sum_bit_for_bit() {
        let mut rng = crate::rng::Rng::stream(1, "matmul");
        for (m, k, n) in [(1, 1, 1), (7, 5, 33), (13, 300, 37), (64, 64, 64), (9, 600, 70)] {
            let a: Vec<f32> = (0..m * k).map(|_| rng.uniform() * 2.0 - 1.0).collect();
            let b: Vec<f32> = (0..k * n).map(|_| rng.uniform() * 2.0 - 1.0).collect();
            for (a_trans, b_trans) in [(false, false), (true, false), (false, true), (true, true)] {
                let want: Vec<f32> = (0..m * n)
                    .map(|o| {
                        let (i, j) = (o / n, o % n);
                        let mut s = 0.0f32;
                        for kk in 0..k {
                            let x = if a_trans { a[kk * m + i] } else { a[i * k + kk] };
                            let y = if b_trans { b[j * k + kk] } else { b[kk * n + j] };
                            s += x * y;
                        }
                        s
                    })
                    .collect();
                let d = MatmulDims { batch: 1, m, k, n, a_trans, b_trans, a_batch_stride: 0, b_batch_stride: 0 };
                for kern in kernels() {
                    let mut out = vec![f32::NAN; m * n];
                    matmul_with(kern, &a, &b, &mut out, &d);
                    let same = out.iter().zip(&want).all(|(x, y)| x.to_bits() == y.to_bits());
                    assert!(same, "{}×{} kernel, ({m}×{k})·({k}×{n}) trans {a_trans} {b_trans}", kern.mr, kern.nr);
                }
            }
        }
    }
}
