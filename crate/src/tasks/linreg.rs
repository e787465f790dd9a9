//! In-context linear regression prompts and the classical learners a trained model is compared
//! with (Garg et al. 2022, "What Can Transformers Learn In-Context?", §3; Akyürek et al. 2023,
//! "What learning algorithm is in-context learning?", §4; Ahn et al. 2023, "Transformers learn
//! to implement preconditioned gradient descent for in-context learning", §3).
//!
//! A prompt is `P` points (x_i, y_i) with x ~ N(0, Σ), one weight vector w ~ N(0, I) per prompt
//! and y = w·x + σε. For k = 0..P−1, the first k points are the context and point k is the
//! query. Data are f32 (what the models see); the baselines run on the host in f64.

use crate::rng::Rng;

crate::choice! {
    /// Input covariances: Σ = I, or a rotated Σ with eigenvalues spread over a factor of 10.
    pub enum Covariance { Isotropic = "isotropic", Skewed = "skewed" }
}

/// Ratio of the largest to the smallest eigenvalue of the skewed Σ.
const SKEW: f64 = 10.0;

/// A d×d matrix in f64, row-major.
pub type Mat = Vec<f64>;

/// The distribution prompts are drawn from.
pub struct Task {
    pub d: usize,
    /// Label noise σ: y = w·x + σε.
    pub noise: f64,
    /// Σ, and a square root L (Σ = L·Lᵀ) that draws x = L·z.
    pub sigma: Mat,
    root: Mat,
}

impl Task {
    /// A skewed Σ = U·diag(λ)·Uᵀ takes its rotation U
    /// from the "covariance" stream and is scaled to tr Σ = d, so that E[y²] is as for Σ = I.
    pub fn new(d: usize, noise: f64, covariance: Covariance, seed: u64) -> Task {
        let mut root = identity(d);
        if covariance == Covariance::Skewed {
            let u = random_rotation(d, &mut Rng::stream(seed, "covariance"));
            let lambda: Vec<f64> = (0..d).map(|i| libm::pow(SKEW, -(i as f64) / (d.max(2) - 1) as f64)).collect();
            let scale = d as f64 / lambda.iter().sum::<f64>();
            for r in 0..d {
                for c in 0..d {
                    root[r * d + c] = u[r * d + c] * libm::sqrt(lambda[c] * scale);
                }
            }
        }
        let mut sigma = vec![0.0; d * d];
        for r in 0..d {
            for c in 0..d {
                sigma[r * d + c] = dot(&root[r * d..][..d], &root[c * d..][..d]);
            }
        }
        Task { d, noise, sigma, root }
    }

    /// `batch` prompts of `points` points each, drawn from `rng`.
    pub fn sample(&self, rng: &mut Rng, batch: usize, points: usize) -> Prompts {
        self.sample_in(rng, batch, points, self.d)
    }

    /// Prompts whose x lie in the span of the first `active` directions of Σ's square root
    /// (z_i = 0 for i ≥ active): the easier problems of Garg et al.'s curriculum (§3).
    pub fn sample_in(&self, rng: &mut Rng, batch: usize, points: usize, active: usize) -> Prompts {
        let d = self.d;
        let mut xs = Vec::with_capacity(batch * points * d);
        let mut ys = Vec::with_capacity(batch * points);
        let mut z = vec![0.0f64; d];
        for _ in 0..batch {
            let w: Vec<f64> = (0..d).map(|_| rng.normal() as f64).collect();
            for _ in 0..points {
                z.iter_mut().enumerate().for_each(|(i, v)| *v = if i < active { rng.normal() as f64 } else { 0.0 });
                let x: Vec<f32> = (0..d).map(|r| dot(&self.root[r * d..][..d], &z) as f32).collect();
                let y = (0..d).map(|i| w[i] * x[i] as f64).sum::<f64>() + self.noise * rng.normal() as f64;
                xs.extend_from_slice(&x);
                ys.push(y as f32);
            }
        }
        Prompts { d, points, batch, xs, ys }
    }

    /// The best 1-step preconditioner Γ* for k context points: ŷ = x_qᵀ·Γ*·(1/k)Σ y_i x_i
    /// minimises the expected squared error when Γ* = ((k+1)/k·Σ + (tr Σ + σ²)/k·I)⁻¹
    /// (Ahn et al. 2023, Theorem 1, which has σ = 0; the σ² term is the same derivation with
    /// noise). For Σ = I it is η*·I with η* = k / (k + 1 + d + σ²).
    pub fn best_preconditioner(&self, k: usize) -> Mat {
        let (d, k) = (self.d, k.max(1) as f64);
        let tr = (0..d).map(|i| self.sigma[i * d + i]).sum::<f64>();
        let mut a = self.sigma.iter().map(|s| s * (k + 1.0) / k).collect::<Vec<_>>();
        for i in 0..d {
            a[i * d + i] += (tr + self.noise * self.noise) / k;
        }
        inverse_spd(&a, d)
    }
}

/// Prompts as the models read them. xs: (B, P, d), ys: (B, P).
pub struct Prompts {
    pub d: usize,
    pub points: usize,
    pub batch: usize,
    pub xs: Vec<f32>,
    pub ys: Vec<f32>,
}

impl Prompts {
    pub fn x(&self, b: usize, i: usize) -> &[f32] {
        &self.xs[(b * self.points + i) * self.d..][..self.d]
    }
    pub fn y(&self, b: usize, i: usize) -> f32 {
        self.ys[b * self.points + i]
    }
    /// (1/k) Σ_{i<k} y_i x_i of prompt b, the negative gradient of the least-squares loss at w = 0.
    pub fn moment(&self, b: usize, k: usize) -> Vec<f64> {
        let mut h = vec![0.0; self.d];
        for i in 0..k {
            let (x, y) = (self.x(b, i), self.y(b, i) as f64);
            h.iter_mut().zip(x).for_each(|(h, &x)| *h += y * x as f64);
        }
        h.iter().map(|v| v / k.max(1) as f64).collect()
    }
}

/// The learners a trained model is compared with, each mapping k context points to a w.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Learner {
    Zero,
    /// Least squares; a 10⁻⁸ ridge picks (nearly) the minimum-norm fit when k < d.
    LeastSquares,
    /// Ridge with λ = σ², the posterior mean under w ~ N(0, I): the Bayes-optimal predictor.
    Ridge,
    /// w = (1/k) Σ y_i x_i.
    Averaging,
    /// One step of gradient descent from w = 0 with step η: w = η·(1/k) Σ y_i x_i.
    Gd(f64),
    /// One step of preconditioned GD with the best preconditioner Γ*(k).
    PreconditionedGd,
}

impl Learner {
    /// w fitted to the first k points of prompt b.
    pub fn fit(self, task: &Task, p: &Prompts, b: usize, k: usize) -> Vec<f64> {
        let d = p.d;
        match self {
            Learner::Zero => vec![0.0; d],
            Learner::LeastSquares => ridge(p, b, k, 1e-8),
            Learner::Ridge => ridge(p, b, k, (task.noise * task.noise).max(1e-8)),
            Learner::Averaging => p.moment(b, k),
            Learner::Gd(eta) => p.moment(b, k).iter().map(|v| eta * v).collect(),
            Learner::PreconditionedGd => {
                let (g, h) = (task.best_preconditioner(k), p.moment(b, k));
                (0..d).map(|r| dot(&g[r * d..][..d], &h)).collect()
            }
        }
    }

    /// Mean over prompts of (ŷ − y)² / d at query k, for k = 0..P−1: the error curve against
    /// the number of in-context examples (normalised by d as in Garg et al., Figure 2).
    pub fn error_curve(self, task: &Task, p: &Prompts) -> Vec<f64> {
        (0..p.points)
            .map(|k| {
                let se: f64 = (0..p.batch).map(|b| (self.predict(task, p, b, k) - p.y(b, k) as f64).powi(2)).sum();
                se / (p.batch * p.d) as f64
            })
            .collect()
    }

    /// The prediction for query k of prompt b from the k points before it.
    pub fn predict(self, task: &Task, p: &Prompts, b: usize, k: usize) -> f64 {
        let w = self.fit(task, p, b, k);
        p.x(b, k).iter().zip(&w).map(|(&x, w)| x as f64 * w).sum()
    }
}

/// The step size of one GD step that minimises the squared error at query k over `holdout`:
/// ŷ = η·x_qᵀh is linear in η, so η = Σ y·x_qᵀh / Σ (x_qᵀh)².
pub fn best_gd_step(holdout: &Prompts, k: usize) -> f64 {
    let (mut num, mut den) = (0.0, 0.0);
    for b in 0..holdout.batch {
        let h = holdout.moment(b, k);
        let s: f64 = holdout.x(b, k).iter().zip(&h).map(|(&x, h)| x as f64 * h).sum();
        num += holdout.y(b, k) as f64 * s;
        den += s * s;
    }
    if den > 0.0 { num / den } else { 0.0 }
}

/// (XᵀX + λI)⁻¹ Xᵀy over the first k points of prompt b.
fn ridge(p: &Prompts, b: usize, k: usize, lambda: f64) -> Vec<f64> {
    let d = p.d;
    let mut a = vec![0.0; d * d];
    let mut rhs = vec![0.0; d];
    for i in 0..k {
        let (x, y) = (p.x(b, i), p.y(b, i) as f64);
        for r in 0..d {
            rhs[r] += x[r] as f64 * y;
            for c in 0..d {
                a[r * d + c] += x[r] as f64 * x[c] as f64;
            }
        }
    }
    for r in 0..d {
        a[r * d + r] += lambda;
    }
    solve_spd(&a, &rhs, d)
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn identity(d: usize) -> Mat {
    (0..d * d).map(|i| if i / d == i % d { 1.0 } else { 0.0 }).collect()
}

/// Lower-triangular L with A = L·Lᵀ (A symmetric positive definite, d×d).
fn cholesky(a: &[f64], d: usize) -> Mat {
    let mut l = vec![0.0; d * d];
    for r in 0..d {
        for c in 0..=r {
            let s = a[r * d + c] - dot(&l[r * d..][..c], &l[c * d..][..c]);
            l[r * d + c] = if r == c { libm::sqrt(s.max(f64::MIN_POSITIVE)) } else { s / l[c * d + c] };
        }
    }
    l
}

/// x with A·x = b, by Cholesky and two triangular solves.
pub fn solve_spd(a: &[f64], b: &[f64], d: usize) -> Vec<f64> {
    let l = cholesky(a, d);
    let mut z = vec![0.0; d];
    for r in 0..d {
        z[r] = (b[r] - dot(&l[r * d..][..r], &z[..r])) / l[r * d + r];
    }
    let mut x = vec![0.0; d];
    for r in (0..d).rev() {
        let s: f64 = (r + 1..d).map(|c| l[c * d + r] * x[c]).sum();
        x[r] = (z[r] - s) / l[r * d + r];
    }
    x
}

/// A⁻¹ of a symmetric positive definite A, column by column.
fn inverse_spd(a: &[f64], d: usize) -> Mat {
    let mut inv = vec![0.0; d * d];
    for c in 0..d {
        let e: Vec<f64> = (0..d).map(|r| if r == c { 1.0 } else { 0.0 }).collect();
        for (r, v) in solve_spd(a, &e, d).into_iter().enumerate() {
            inv[r * d + c] = v;
        }
    }
    inv
}

/// An orthogonal d×d matrix: Gram–Schmidt on Gaussian columns.
fn random_rotation(d: usize, rng: &mut Rng) -> Mat {
    let mut cols: Vec<Vec<f64>> = Vec::with_capacity(d);
    while cols.len() < d {
        let mut v: Vec<f64> = (0..d).map(|_| rng.normal() as f64).collect();
        for c in &cols {
            let p = dot(&v, c);
            v.iter_mut().zip(c).for_each(|(v, c)| *v -= p * c);
        }
        let n = libm::sqrt(dot(&v, &v));
        if n > 1e-6 {
            cols.push(v.iter().map(|v| v / n).collect());
        }
    }
    (0..d * d).map(|i| cols[i % d][i / d]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mean_error(l: Learner, task: &Task, p: &Prompts, k: usize) -> f64 {
        l.error_curve(task, p)[k]
    }

    #[test]
    fn least_squares_recovers_w_without_noise() {
        let task = Task::new(4, 0.0, Covariance::Skewed, 3);
        let p = task.sample(&mut Rng::stream(1, "test"), 20, 9);
        // From k = d points on, the fit is exact: the query is predicted to float precision.
        for k in 4..9 {
            let e = mean_error(Learner::LeastSquares, &task, &p, k);
            assert!(e < 1e-9, "k = {k}: error {e}");
        }
        assert!(mean_error(Learner::LeastSquares, &task, &p, 2) > 1e-3, "k < d cannot be exact");
    }

    #[test]
    fn skewed_covariance_has_trace_d_and_the_right_samples() {
        let task = Task::new(3, 0.0, Covariance::Skewed, 5);
        let tr: f64 = (0..3).map(|i| task.sigma[i * 3 + i]).sum();
        assert!((tr - 3.0).abs() < 1e-9, "tr Σ = {tr}");
        let p = task.sample(&mut Rng::stream(2, "test"), 4000, 5);
        let n = (p.batch * p.points) as f64;
        for r in 0..3 {
            for c in 0..3 {
                let emp: f64 = p.xs.chunks(3).map(|x| x[r] as f64 * x[c] as f64).sum::<f64>() / n;
                assert!((emp - task.sigma[r * 3 + c]).abs() < 0.08, "Σ[{r},{c}] = {} but the samples give {emp}", task.sigma[r * 3 + c]);
            }
        }
    }

    #[test]
    fn learners_rank_as_theory_says() {
        // d = 5, σ = 0.5, k = 10: ridge (Bayes-optimal) ≤ least squares; best-η GD ≤ averaging;
        // every learner beats predicting zero.
        let task = Task::new(5, 0.5, Covariance::Isotropic, 0);
        let p = task.sample(&mut Rng::stream(0, "test"), 2000, 11);
        let eta = best_gd_step(&task.sample(&mut Rng::stream(0, "holdout"), 2000, 11), 10);
        let e = |l| mean_error(l, &task, &p, 10);
        let (zero, ols, ridge, avg, gd, pgd) =
            (e(Learner::Zero), e(Learner::LeastSquares), e(Learner::Ridge), e(Learner::Averaging), e(Learner::Gd(eta)), e(Learner::PreconditionedGd));
        assert!(ridge <= ols && ols < gd && gd <= avg && avg < zero, "ridge {ridge} ols {ols} gd {gd} avg {avg} zero {zero}");
        // For Σ = I the best step is η* = k / (k + 1 + d + σ²) and Γ* = η*·I.
        let want = 10.0 / (10.0 + 1.0 + 5.0 + 0.25);
        assert!((eta - want).abs() < 0.05, "fitted η {eta}, theory {want}");
        assert!((gd - pgd).abs() < 0.02 * gd, "1-step GD {gd} and preconditioned GD {pgd} coincide for Σ = I");
    }

    #[test]
    fn preconditioned_gd_beats_plain_gd_on_skewed_inputs() {
        let task = Task::new(5, 0.0, Covariance::Skewed, 1);
        let p = task.sample(&mut Rng::stream(0, "test"), 2000, 21);
        let eta = best_gd_step(&task.sample(&mut Rng::stream(0, "holdout"), 2000, 21), 20);
        let (gd, pgd) = (mean_error(Learner::Gd(eta), &task, &p, 20), mean_error(Learner::PreconditionedGd, &task, &p, 20));
        assert!(pgd < 0.95 * gd, "preconditioned {pgd} vs plain {gd}");
    }

    #[test]
    fn solve_and_inverse_are_exact_on_a_known_system() {
        // A = [[4, 2], [2, 3]], b = [2, 1] → x = [0.5, 0]; A⁻¹ = [[3, −2], [−2, 4]] / 8.
        let a = [4.0, 2.0, 2.0, 3.0];
        let x = solve_spd(&a, &[2.0, 1.0], 2);
        assert!((x[0] - 0.5).abs() < 1e-12 && x[1].abs() < 1e-12, "{x:?}");
        let inv = inverse_spd(&a, 2);
        for (got, want) in inv.iter().zip([0.375, -0.25, -0.25, 0.5]) {
            assert!((got - want).abs() < 1e-12, "{inv:?}");
        }
    }
}
