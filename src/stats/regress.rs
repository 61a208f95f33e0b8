//! Least squares on standardised columns, in correlation form: the
//! coefficients of y on every column, the R^2 of any subset of the columns,
//! and the LMG (Shapley) decomposition of R^2 over the columns.
//!
//! With every column standardised, `z_j = (x_j - mean_j) / sd_j`, and y
//! centred, the OLS fit of y on an intercept and the columns of a subset S
//! depends on the data only through the correlations: with `C` the columns'
//! correlation matrix and `r` their correlations with y, the coefficients are
//! `sd_y C_SS^+ r_S` (USD of y per standard deviation of each column) and
//! `R^2(S) = r_S' C_SS^+ r_S`. So the data are read once (a k x k matrix of
//! sums in path order, deterministic) and each of the 2^k subsets costs one
//! small SVD ([`nalgebra`]). The pseudo-inverse `^+` drops singular values
//! below [`RCOND`] times the largest: collinear columns (two copies of one
//! driver) get the minimum-norm solution, which splits the coefficient
//! equally between the copies, instead of a division by zero.
//!
//! Standard deviations are population ones (divide by n): the coefficients
//! are the same either way up to the factor `sqrt(n / (n - 1))`, which is
//! 1 to four digits at the paths the drivers use.

use nalgebra::{DMatrix, DVector};

/// Singular values of a correlation matrix below this share of the largest
/// count as zero (its columns collinear).
pub const RCOND: f64 = 1e-10;

/// The most columns [`lmg_shares`] takes: it solves 2^k subsets.
pub const MAX_LMG_COLUMNS: usize = 16;

/// Columns and a response summarised for least squares: correlations and
/// standard deviations (population), read in path order.
#[derive(Debug, Clone)]
pub struct Correlations {
    /// Correlations between the columns, k x k (1 on the diagonal).
    pub between: DMatrix<f64>,
    /// Correlation of each column with y.
    pub with_y: DVector<f64>,
    /// Population standard deviation of y.
    pub sd_y: f64,
}

/// The mean of `v` (0 when empty), summed in order.
pub fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        0.0
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

/// `v` minus its mean, and the sum of squares of that.
fn centred(v: &[f64]) -> (Vec<f64>, f64) {
    let m = mean(v);
    let c: Vec<f64> = v.iter().map(|x| x - m).collect();
    let ss = c.iter().map(|d| d * d).sum();
    (c, ss)
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Pearson correlation of `a` and `b`; 0 when either has no variance.
pub fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let (ca, ssa) = centred(a);
    let (cb, ssb) = centred(b);
    if !(ssa > 0.0 && ssb > 0.0) {
        return 0.0;
    }
    (dot(&ca, &cb) / (ssa.sqrt() * ssb.sqrt())).clamp(-1.0, 1.0)
}

impl Correlations {
    /// The correlations of `columns` (each with variance: the caller drops
    /// constant ones) and `y`, all of the same length. A y with no variance
    /// gets zero correlations and `sd_y = 0`.
    pub fn of(columns: &[&[f64]], y: &[f64]) -> Correlations {
        let k = columns.len();
        let cols: Vec<(Vec<f64>, f64)> = columns.iter().map(|c| centred(c)).collect();
        let (cy, ssy) = centred(y);
        let n = y.len().max(1) as f64;
        let between = DMatrix::from_fn(k, k, |a, b| {
            if a == b {
                1.0
            } else {
                let (ca, ssa) = &cols[a];
                let (cb, ssb) = &cols[b];
                (dot(ca, cb) / (ssa.sqrt() * ssb.sqrt())).clamp(-1.0, 1.0)
            }
        });
        let with_y = DVector::from_fn(k, |a, _| {
            let (ca, ssa) = &cols[a];
            if ssy > 0.0 {
                (dot(ca, &cy) / (ssa.sqrt() * ssy.sqrt())).clamp(-1.0, 1.0)
            } else {
                0.0
            }
        });
        Correlations {
            between,
            with_y,
            sd_y: (ssy / n).sqrt(),
        }
    }

    /// OLS coefficients of y on every column, standardised: USD (units of
    /// y) per standard deviation of the column, the others held fixed.
    pub fn std_coefs(&self) -> Vec<f64> {
        let beta = solve(&self.between, &self.with_y);
        beta.iter().map(|b| b * self.sd_y).collect()
    }

    /// R^2 of y on the columns whose bit is set in `mask`, in [0, 1].
    pub fn subset_r2(&self, mask: usize) -> f64 {
        let idx: Vec<usize> = (0..self.with_y.len())
            .filter(|j| (mask >> j) & 1 == 1)
            .collect();
        if idx.is_empty() {
            return 0.0;
        }
        let c = DMatrix::from_fn(idx.len(), idx.len(), |a, b| self.between[(idx[a], idx[b])]);
        let r = DVector::from_fn(idx.len(), |a, _| self.with_y[idx[a]]);
        let r2 = r.dot(&solve(&c, &r));
        if r2 > 0.0 { r2.min(1.0) } else { 0.0 }
    }
}

/// `C^+ r` for a symmetric positive semi-definite `C` (minimum norm when
/// `C` is singular); zeros if the SVD fails.
fn solve(c: &DMatrix<f64>, r: &DVector<f64>) -> DVector<f64> {
    let svd = c.clone().svd(true, true);
    let largest = svd.singular_values.iter().copied().fold(0.0, f64::max);
    svd.solve(r, RCOND * largest)
        .ok()
        .filter(|b| b.iter().all(|x| x.is_finite()))
        .unwrap_or_else(|| DVector::zeros(r.len()))
}

/// The LMG shares of R^2 (Lindeman, Merenda and Gold; the Shapley value of
/// the columns in the game "R^2 of a subset"): share_j is the increase of
/// R^2 from adding column j, averaged over every order of adding the
/// columns. Returns the shares and the full R^2 they add up to.
///
/// Every share is >= 0 and they add up to the returned R^2 up to the
/// rounding of one sum (about 1e-16). R^2 never falls when a column is
/// added, but computed subset by subset it could by a rounding error, and
/// one tiny negative difference would make a share of a useless column
/// -1e-17. So the subset function used is the monotone envelope
/// `R~(S) = max(R^2(S), max_j R~(S - {j}))`, built from the smaller
/// subsets up (a subset's mask is larger than its subsets' masks): it
/// differs from R^2 only by rounding, and `R~(S + j) - R~(S)` is a
/// difference of floats `a >= b`, which is exactly `>= 0`. The shares are
/// then weighted sums of non-negative numbers, and they add up to
/// `R~(all)` by telescoping, which is the R^2 returned.
///
/// # Panics
/// With more than [`MAX_LMG_COLUMNS`] columns (2^k regressions).
pub fn lmg_shares(corr: &Correlations) -> (Vec<f64>, f64) {
    let k = corr.with_y.len();
    assert!(
        k <= MAX_LMG_COLUMNS,
        "LMG over {k} columns: at most {MAX_LMG_COLUMNS}"
    );
    let subsets = 1usize << k;
    let mut r2 = vec![0.0; subsets];
    for mask in 1..subsets {
        let mut best = corr.subset_r2(mask);
        for j in (0..k).filter(|j| (mask >> j) & 1 == 1) {
            best = best.max(r2[mask & !(1 << j)]);
        }
        r2[mask] = best;
    }
    // Shapley weight of a subset of s of the other k - 1 columns:
    // s! (k - 1 - s)! / k! = 1 / (k * binomial(k - 1, s)).
    let weight = |s: usize| 1.0 / (k as f64 * binomial(k - 1, s));
    let shares = (0..k)
        .map(|j| {
            (0..subsets)
                .filter(|mask| (mask >> j) & 1 == 0)
                .map(|mask| weight(mask.count_ones() as usize) * (r2[mask | 1 << j] - r2[mask]))
                .sum()
        })
        .collect();
    (shares, r2[subsets - 1])
}

/// `n choose s` as a float (exact for the sizes used here).
fn binomial(n: usize, s: usize) -> f64 {
    (0..s).fold(1.0, |acc, i| acc * (n - i) as f64 / (i + 1) as f64)
}
