//! What drives a per-path quantity y (a paired NPV difference) among a few
//! per-path columns x_j (the drivers), all kept in memory: [`analyse`].
//!
//! Domain-free: the caller names the columns. Per column: the standardised
//! OLS coefficient and the LMG share of R^2 ([`super::regress`]), the
//! Spearman rank correlation, the mean of y in each decile bin of the
//! column, and the column's mean where a flag is set and where it is not.
//! Every sum runs in path order on one thread, so the result is the same
//! bits whatever the caller's threads.
//!
//! **Deciles.** The bin edges are the column's 10%, ..., 90% quantiles
//! `q_1..q_9`, each the inverse of the empirical CDF (type 1, "nearest
//! rank"): `q_k` is the value of rank `ceil(k n / 10)` (1-based) in sorted
//! order. Bin 1 is `x <= q_1`, bin k is `q_{k-1} < x <= q_k`, bin 10 is
//! `x > q_9`. Equal values always share a bin. Each edge is a value of the
//! data, so a bin is empty exactly when its two edges coincide (ties across
//! a decile boundary, e.g. 60% zeros fill bin 1 and leave bins 2-6 empty):
//! its mean is `None`, "merged" into the bin below. Without ties every bin
//! holds n/10 paths (to rounding of the ranks).
//!
//! **Degenerate columns.** A column whose values are all equal is
//! `constant`: its coefficient, rank correlation and share are 0, it is left
//! out of the regression, and all its paths fall in bin 1 (`x <= q_1`), so
//! decile 1 holds the mean of y and the others are `None`. Its means where
//! the flag is set or not are its value (they are not statistics of
//! association). A y whose values are all equal gives 0 coefficients,
//! correlations, shares and R^2, never NaN.

use super::order::{from_total_order_key, total_order_key};
use super::regress::{Correlations, lmg_shares, pearson};

/// What [`analyse`] finds for one column.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnAnalysis {
    /// OLS coefficient of y on the standardised column (population standard
    /// deviation), the other columns held fixed: units of y per standard
    /// deviation of the column.
    pub std_coef: f64,
    /// Spearman rank correlation with y (average ranks for ties).
    pub rank_corr: f64,
    /// LMG (Shapley) share of R^2; >= 0, the shares add to
    /// [`Analysis::r_squared`].
    pub contribution: f64,
    /// Mean of y in each decile bin of the column; `None` for an empty
    /// (merged) bin.
    pub decile_means: [Option<f64>; 10],
    /// Mean of the column where the flag is set, and where it is not
    /// (`None` when there is no such path).
    pub mean_when_flag: Option<f64>,
    pub mean_otherwise: Option<f64>,
    /// All values equal (see the module doc).
    pub constant: bool,
}

/// The result of [`analyse`]: one entry per column, in the columns' order.
#[derive(Debug, Clone, PartialEq)]
pub struct Analysis {
    /// R^2 of the OLS fit of y on every non-constant column (and an
    /// intercept); 0 without any, or when y is constant.
    pub r_squared: f64,
    pub columns: Vec<ColumnAnalysis>,
}

/// Analyse y against the columns `x` (each as long as y) and `flag` (as
/// long as y: e.g. "the policy beats the baseline on this path").
///
/// # Panics
/// If the lengths differ, or with more than
/// [`super::regress::MAX_LMG_COLUMNS`] non-constant columns.
pub fn analyse(x: &[&[f64]], y: &[f64], flag: &[bool]) -> Analysis {
    let n = y.len();
    assert!(
        x.iter().all(|c| c.len() == n) && flag.len() == n,
        "analyse: every column and the flag must have y's length {n}"
    );
    let constant: Vec<bool> = x.iter().map(|c| is_constant(c)).collect();
    let varying: Vec<&[f64]> = x
        .iter()
        .zip(&constant)
        .filter(|(_, c)| !**c)
        .map(|(col, _)| *col)
        .collect();
    let y_constant = is_constant(y);
    // Coefficients and shares of the varying columns, in their order.
    let (coefs, shares, r_squared) = if y_constant || varying.is_empty() {
        (vec![0.0; varying.len()], vec![0.0; varying.len()], 0.0)
    } else {
        let corr = Correlations::of(&varying, y);
        let (shares, r2) = lmg_shares(&corr);
        (corr.std_coefs(), shares, r2)
    };
    let y_ranks = average_ranks(y);
    let mut fitted = coefs.into_iter().zip(shares);
    let columns = x
        .iter()
        .zip(&constant)
        .map(|(col, &is_const)| {
            let (std_coef, contribution) = if is_const {
                (0.0, 0.0)
            } else {
                fitted.next().expect("one fit per varying column")
            };
            let rank_corr = if is_const || y_constant {
                0.0
            } else {
                pearson(&average_ranks(col), &y_ranks)
            };
            let (mean_when_flag, mean_otherwise) = mean_split(col, flag);
            ColumnAnalysis {
                std_coef,
                rank_corr,
                contribution,
                decile_means: decile_means(col, y),
                mean_when_flag,
                mean_otherwise,
                constant: is_const,
            }
        })
        .collect();
    Analysis { r_squared, columns }
}

/// Every value equal (an empty or one-value column too). `-0.0` equals
/// `0.0`.
fn is_constant(v: &[f64]) -> bool {
    v.first().is_none_or(|&a| v.iter().all(|&b| b == a))
}

/// The mean of `x` where `flag` is set, and where it is not; `None` for a
/// side with no path. With `x` a 0/1 indicator it is a probability (e.g.
/// P(margin call) where the policy beats the baseline).
pub fn mean_split(x: &[f64], flag: &[bool]) -> (Option<f64>, Option<f64>) {
    let (mut sum, mut count) = ([0.0f64; 2], [0u64; 2]);
    for (&v, &f) in x.iter().zip(flag) {
        let side = usize::from(!f);
        sum[side] += v;
        count[side] += 1;
    }
    let side = |s: usize| (count[s] > 0).then(|| sum[s] / count[s] as f64);
    (side(0), side(1))
}

/// Ranks 1..n of `v`, ties sharing the average of their ranks (in
/// `f64::total_cmp` order, with `-0.0` and `0.0` tied).
pub fn average_ranks(v: &[f64]) -> Vec<f64> {
    let n = v.len();
    // Sorting (key, index) pairs, all distinct, gives one order whatever
    // the sort's stability; ties then share their average rank anyway.
    let mut keyed: Vec<(i64, usize)> = v
        .iter()
        .enumerate()
        .map(|(i, &x)| (total_order_key(x), i))
        .collect();
    keyed.sort_unstable();
    let order: Vec<usize> = keyed.into_iter().map(|(_, i)| i).collect();
    let mut ranks = vec![0.0; n];
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && v[order[j + 1]] == v[order[i]] {
            j += 1;
        }
        // Ranks i+1 ..= j+1 (1-based): their average.
        let r = (i + j) as f64 / 2.0 + 1.0;
        for &p in &order[i..=j] {
            ranks[p] = r;
        }
        i = j + 1;
    }
    ranks
}

/// Spearman rank correlation of `a` and `b`: the Pearson correlation of
/// their average ranks; 0 when either is constant.
pub fn spearman(a: &[f64], b: &[f64]) -> f64 {
    pearson(&average_ranks(a), &average_ranks(b))
}

/// The column's decile edges `q_1..q_9` (type 1: the value of rank
/// `ceil(k n / 10)`); `None` when the column is empty.
pub fn decile_edges(x: &[f64]) -> Option<[f64; 9]> {
    let n = x.len();
    if n == 0 {
        return None;
    }
    let mut sorted: Vec<i64> = x.iter().map(|&v| total_order_key(v)).collect();
    sorted.sort_unstable();
    // k n >= 1, so the rank is at least 1.
    Some(std::array::from_fn(|i| {
        from_total_order_key(sorted[((i + 1) * n).div_ceil(10) - 1])
    }))
}

/// Mean of `y` in each decile bin of `x` (see the module doc); `None` for
/// an empty bin.
pub fn decile_means(x: &[f64], y: &[f64]) -> [Option<f64>; 10] {
    let Some(edges) = decile_edges(x) else {
        return [None; 10];
    };
    let (mut sum, mut count) = ([0.0f64; 10], [0u64; 10]);
    for (&xi, &yi) in x.iter().zip(y) {
        // The number of edges below x is its bin (0-based).
        let bin = edges.partition_point(|&q| q < xi);
        sum[bin] += yi;
        count[bin] += 1;
    }
    std::array::from_fn(|b| (count[b] > 0).then(|| sum[b] / count[b] as f64))
}

#[cfg(test)]
mod tests {
    use nalgebra::{DMatrix, DVector};

    use super::*;
    use crate::stats::regress::{Correlations, lmg_shares};
    use crate::stats::testdata::{normal, rng, shuffle};

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * a.abs().max(b.abs()).max(1.0)
    }

    fn population_sd(v: &[f64]) -> f64 {
        let m = v.iter().sum::<f64>() / v.len() as f64;
        (v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / v.len() as f64).sqrt()
    }

    /// OLS straight from the data (SVD of the n x (k+1) design with an
    /// intercept), not through correlations: coefficients per unit of each
    /// column and R^2.
    fn direct_ols(x: &[&[f64]], y: &[f64]) -> (Vec<f64>, f64) {
        let n = y.len();
        let design = DMatrix::from_fn(
            n,
            x.len() + 1,
            |i, j| if j == 0 { 1.0 } else { x[j - 1][i] },
        );
        let yv = DVector::from_column_slice(y);
        let beta = design.clone().svd(true, true).solve(&yv, 1e-12).unwrap();
        let resid = &yv - &design * &beta;
        let m = y.iter().sum::<f64>() / n as f64;
        let sst: f64 = y.iter().map(|v| (v - m) * (v - m)).sum();
        (
            beta.iter().skip(1).copied().collect(),
            1.0 - resid.norm_squared() / sst,
        )
    }

    fn correlated_columns(n: usize, k: usize, seed: u64) -> Vec<Vec<f64>> {
        let mut r = rng(seed);
        let common: Vec<f64> = (0..n).map(|_| normal(&mut r)).collect();
        (0..k)
            .map(|j| {
                let scale = 1.0 + j as f64;
                common
                    .iter()
                    .map(|c| scale * (0.6 * c + normal(&mut r)) + 10.0 * j as f64)
                    .collect()
            })
            .collect()
    }

    #[test]
    fn known_coefficients_without_noise() {
        let cols = correlated_columns(2_000, 2, 1);
        let x: Vec<&[f64]> = cols.iter().map(Vec::as_slice).collect();
        let y: Vec<f64> = (0..2_000)
            .map(|i| 3.0 * x[0][i] - 2.0 * x[1][i] + 7.0)
            .collect();
        let flag: Vec<bool> = y.iter().map(|v| *v > 0.0).collect();
        let a = analyse(&x, &y, &flag);
        assert!(close(a.r_squared, 1.0, 1e-12), "{}", a.r_squared);
        for (j, beta) in [3.0, -2.0].into_iter().enumerate() {
            let c = &a.columns[j];
            let want = beta * population_sd(x[j]);
            assert!(close(c.std_coef, want, 1e-9), "{} vs {want}", c.std_coef);
            assert!(!c.constant);
        }
        let total: f64 = a.columns.iter().map(|c| c.contribution).sum();
        assert!(close(total, a.r_squared, 1e-14));
    }

    #[test]
    fn coefficients_and_r2_match_ols_on_the_data() {
        let n = 3_000;
        let cols = correlated_columns(n, 4, 2);
        let x: Vec<&[f64]> = cols.iter().map(Vec::as_slice).collect();
        let mut r = rng(3);
        let y: Vec<f64> = (0..n)
            .map(|i| 1e6 * (x[0][i] - 0.5 * x[2][i] + 0.2 * x[3][i] + 3.0 * normal(&mut r)))
            .collect();
        let a = analyse(&x, &y, &vec![false; n]);
        let (beta, r2) = direct_ols(&x, &y);
        assert!(close(a.r_squared, r2, 1e-9), "{} vs {r2}", a.r_squared);
        assert!(a.r_squared > 0.05 && a.r_squared < 0.95);
        for (j, c) in a.columns.iter().enumerate() {
            let want = beta[j] * population_sd(x[j]);
            assert!(
                close(c.std_coef, want, 1e-8),
                "column {j}: {} vs {want}",
                c.std_coef
            );
        }
    }

    /// Walsh columns (+1/-1 patterns) are exactly orthogonal with mean 0 and
    /// standard deviation 1: y = 3 w1 - 2 w2 + w3 has variance 14, and
    /// with w3 left out as noise the shares are 9/14 and 4/14.
    #[test]
    fn orthogonal_columns_get_closed_form_shares() {
        let n = 64;
        let walsh = |bit: usize| -> Vec<f64> {
            (0..n)
                .map(|i| if (i >> bit) & 1 == 0 { 1.0 } else { -1.0 })
                .collect()
        };
        let (w1, w2, w3) = (walsh(0), walsh(1), walsh(2));
        let y: Vec<f64> = (0..n).map(|i| 3.0 * w1[i] - 2.0 * w2[i] + w3[i]).collect();
        let a = analyse(&[&w1, &w2], &y, &vec![true; n]);
        assert!(close(a.r_squared, 13.0 / 14.0, 1e-14));
        assert!(close(a.columns[0].contribution, 9.0 / 14.0, 1e-14));
        assert!(close(a.columns[1].contribution, 4.0 / 14.0, 1e-14));
        assert!(close(a.columns[0].std_coef, 3.0, 1e-14));
        assert!(close(a.columns[1].std_coef, -2.0, 1e-14));
        assert_eq!(a.columns[0].mean_when_flag, Some(0.0));
        assert_eq!(a.columns[0].mean_otherwise, None);
    }

    #[test]
    fn identical_columns_split_their_share_equally() {
        let n = 2_000;
        let cols = correlated_columns(n, 2, 4);
        let mut r = rng(5);
        let y: Vec<f64> = (0..n)
            .map(|i| 2.0 * cols[0][i] + cols[1][i] + normal(&mut r))
            .collect();
        let flag = vec![false; n];
        let a = analyse(&[&cols[0], &cols[0], &cols[1]], &y, &flag);
        let single = analyse(&[&cols[0], &cols[1]], &y, &flag);
        let (a0, a1) = (&a.columns[0], &a.columns[1]);
        assert!(close(a0.contribution, a1.contribution, 1e-12));
        assert!(close(a0.std_coef, a1.std_coef, 1e-9));
        assert!(close(
            a0.std_coef + a1.std_coef,
            single.columns[0].std_coef,
            1e-9
        ));
        assert!(close(
            a.columns[2].std_coef,
            single.columns[1].std_coef,
            1e-9
        ));
        assert!(close(a.r_squared, single.r_squared, 1e-12));
        let total: f64 = a.columns.iter().map(|c| c.contribution).sum();
        assert!(close(total, a.r_squared, 1e-14));
    }

    /// Correlated columns, some useless: every share >= 0 (exactly), the
    /// shares add to R^2, and R^2 is OLS's on the data.
    #[test]
    fn lmg_shares_are_non_negative_and_add_to_r2() {
        for seed in 0..20 {
            let n = 500;
            let cols = correlated_columns(n, 6, 100 + seed);
            let x: Vec<&[f64]> = cols.iter().map(Vec::as_slice).collect();
            let mut r = rng(200 + seed);
            let y: Vec<f64> = (0..n)
                .map(|i| x[1][i] - 0.3 * x[4][i] + 4.0 * normal(&mut r))
                .collect();
            let corr = Correlations::of(&x, &y);
            let (shares, r2) = lmg_shares(&corr);
            assert!(shares.iter().all(|s| *s >= 0.0), "{shares:?}");
            let total: f64 = shares.iter().sum();
            assert!((total - r2).abs() <= 1e-15, "{total} vs {r2}");
            let (_, direct) = direct_ols(&x, &y);
            assert!(close(r2, direct, 1e-9), "{r2} vs {direct}");
        }
    }

    /// a = [1, 2, 2, 3, 4] ranks [1, 2.5, 2.5, 4, 5]; b ranks [1, 2.5,
    /// 2.5, 5, 4]; centred by 3: cross products 4 + 0.25 + 0.25 + 2 + 2 =
    /// 8.5, squares 9.5 each: rho = 17/19.
    #[test]
    fn spearman_uses_average_ranks_for_ties() {
        let a = [1.0, 2.0, 2.0, 3.0, 4.0];
        let b = [10.0, 20.0, 20.0, 40.0, 30.0];
        assert_eq!(average_ranks(&a), [1.0, 2.5, 2.5, 4.0, 5.0]);
        assert_eq!(average_ranks(&b), [1.0, 2.5, 2.5, 5.0, 4.0]);
        assert!(close(spearman(&a, &b), 17.0 / 19.0, 1e-15));
        assert_eq!(average_ranks(&[0.0, -0.0, 1.0]), [1.5, 1.5, 3.0]);
        // Through `analyse`: the same.
        let an = analyse(&[&a], &b, &[false; 5]);
        assert!(close(an.columns[0].rank_corr, 17.0 / 19.0, 1e-15));
    }

    #[test]
    fn deciles_keep_ties_together_and_leave_merged_bins_empty() {
        // 60 zeros and 1..=40, shuffled; y is x's rank group: y = 100 for
        // the zeros, else 1000 + x.
        let mut rows: Vec<(f64, f64)> = (0..100)
            .map(|i| {
                if i < 60 {
                    (0.0, 100.0)
                } else {
                    let x = (i - 59) as f64;
                    (x, 1000.0 + x)
                }
            })
            .collect();
        shuffle(&mut rows, &mut rng(7));
        let (x, y): (Vec<f64>, Vec<f64>) = rows.into_iter().unzip();
        let d = decile_means(&x, &y);
        assert_eq!(d[0], Some(100.0));
        assert!(d[1..6].iter().all(Option::is_none), "{d:?}");
        // Bins 7..10 hold x = 1..10, 11..20, 21..30, 31..40.
        for (b, first) in (6..10).zip([1.0, 11.0, 21.0, 31.0]) {
            assert_eq!(d[b], Some(1000.0 + first + 4.5), "bin {}", b + 1);
        }
    }

    #[test]
    fn deciles_without_ties_hold_a_tenth_each() {
        let n = 1_003;
        let mut r = rng(8);
        let x: Vec<f64> = (0..n).map(|_| normal(&mut r)).collect();
        let ones = vec![1.0; n];
        let edges = decile_edges(&x).unwrap();
        let mut sorted = x.clone();
        sorted.sort_by(f64::total_cmp);
        for (k, q) in edges.iter().enumerate() {
            // Type 1: the smallest value whose empirical CDF reaches (k+1)/10.
            let below = sorted.iter().filter(|v| *v <= q).count();
            assert!(below as f64 >= (k + 1) as f64 * n as f64 / 10.0);
            assert!(((below - 1) as f64) < (k + 1) as f64 * n as f64 / 10.0);
        }
        assert!(decile_means(&x, &ones).iter().all(|m| *m == Some(1.0)));
        // Means of x itself rise from bin to bin.
        let d = decile_means(&x, &x);
        assert!(d.windows(2).all(|w| w[0].unwrap() < w[1].unwrap()));
    }

    #[test]
    fn a_constant_column_is_zero_and_leaves_the_others_alone() {
        let n = 400;
        let cols = correlated_columns(n, 1, 9);
        let mut r = rng(10);
        let y: Vec<f64> = cols[0].iter().map(|v| 5.0 * v + normal(&mut r)).collect();
        let flag: Vec<bool> = y.iter().map(|v| *v > 0.0).collect();
        let fixed = vec![2.5; n];
        let a = analyse(&[&fixed, &cols[0]], &y, &flag);
        let alone = analyse(&[&cols[0]], &y, &flag);
        let c = &a.columns[0];
        assert!(c.constant);
        assert_eq!((c.std_coef, c.rank_corr, c.contribution), (0.0, 0.0, 0.0));
        let mean_y = y.iter().sum::<f64>() / n as f64;
        assert!(close(c.decile_means[0].unwrap(), mean_y, 1e-15));
        assert!(c.decile_means[1..].iter().all(Option::is_none));
        assert_eq!((c.mean_when_flag, c.mean_otherwise), (Some(2.5), Some(2.5)));
        assert_eq!(a.columns[1], alone.columns[0]);
        assert_eq!(a.r_squared, alone.r_squared);
    }

    #[test]
    fn a_constant_y_gives_zeros_never_nan() {
        let n = 300;
        let cols = correlated_columns(n, 3, 11);
        let x: Vec<&[f64]> = cols.iter().map(Vec::as_slice).collect();
        let y = vec![0.0; n];
        let a = analyse(&x, &y, &vec![false; n]);
        assert_eq!(a.r_squared, 0.0);
        for c in &a.columns {
            assert_eq!((c.std_coef, c.rank_corr, c.contribution), (0.0, 0.0, 0.0));
            assert!(c.decile_means.iter().flatten().all(|m| *m == 0.0));
            assert_eq!(c.mean_when_flag, None);
            assert!(c.mean_otherwise.unwrap().is_finite());
        }
        // No paths at all: zeros and empties, no panic.
        let empty = analyse(&[&[], &[]], &[], &[]);
        assert_eq!(empty.r_squared, 0.0);
        assert!(
            empty
                .columns
                .iter()
                .all(|c| c.constant && c.decile_means == [None; 10])
        );
    }

    #[test]
    fn mean_split_separates_the_flagged_paths() {
        let x = [1.0, 2.0, 3.0, 6.0];
        let flag = [true, false, true, false];
        assert_eq!(mean_split(&x, &flag), (Some(2.0), Some(4.0)));
        assert_eq!(mean_split(&x, &[false; 4]), (None, Some(3.0)));
    }
}
