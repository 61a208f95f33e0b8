//! The lower conditional value at risk: the mean of the worst `alpha` share
//! of the values (Rockafellar and Uryasev), exact from the values
//! ([`cvar_lower_exact`]) or bounded from per-bin counts and sums
//! ([`cvar_lower_from_bins`]).
//!
//! With n values sorted ascending, `x_(1) <= ... <= x_(n)`, and the mass
//! `m = alpha n`, `k = floor(m)`:
//!
//! `CVaR = (x_(1) + ... + x_(k) + (m - k) x_(k+1)) / m`
//!
//! (the k lowest and the fraction `m - k` of the next; with `m < 1`, the
//! minimum). It is also `max over t of t - E[(t - X)^+] / alpha`, the
//! Rockafellar-Uryasev form, which the tests check it against.

use super::order::total_order_key;

/// The lower CVaR at `alpha` of `values` (see the module doc); NaN when
/// `values` is empty or `alpha` is not in (0, 1]. NaN values sort above
/// every number.
pub fn cvar_lower_exact(values: &[f64], alpha: f64) -> f64 {
    let n = values.len();
    if n == 0 || !(alpha > 0.0 && alpha <= 1.0) {
        return f64::NAN;
    }
    let m = alpha * n as f64;
    let k = (m.floor() as usize).min(n);
    let mut sorted = values.to_vec();
    // Only the k + 1 lowest are needed, in order.
    let last = k.min(n - 1);
    sorted.select_nth_unstable_by_key(last, |&x| total_order_key(x));
    let low = &mut sorted[..=last];
    low.sort_unstable_by_key(|&x| total_order_key(x));
    let whole: f64 = low[..k].iter().sum();
    let part = if k < n { (m - k as f64) * low[k] } else { 0.0 };
    (whole + part) / m
}

/// One bin of a histogram with sums: `count` values, their exact `sum`,
/// all within `[lo, hi]` (the lowest bin's `lo` may be the sample minimum,
/// the highest bin's `hi` the maximum; `lo == hi` for a bin of one value).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BinSum {
    pub count: u64,
    pub sum: f64,
    pub lo: f64,
    pub hi: f64,
}

/// The lower CVaR at `alpha` of `n` values known only by `bins` (ascending,
/// not overlapping, together holding the `n` values), and a bound on its
/// error: `(estimate, error_bound)`, the true CVaR within `error_bound` of
/// `estimate`. NaN for both when there are no values or `alpha` is not in
/// (0, 1].
///
/// Whole bins below the cut `m = alpha n` contribute their exact sums. The
/// bin the cut falls in (c values in `[lo, hi]`, sum S, mean `mu = S / c`)
/// contributes the sum P of its `r` lowest values, r = m minus the values
/// below it (`0 < r < c`, fractional like `m`), which it does not know. But:
///
/// - P <= r mu: the lowest r of a set have a mean at most the set's mean;
/// - P >= r lo: every value is at least lo;
/// - P >= r mu - (c - r)(hi - mu): P is S minus the other c - r values,
///   each at most hi.
///
/// So P lies in `[r mu - w, r mu]` with `w = min(r (mu - lo), (c - r)(hi -
/// mu))`; the estimate takes the middle, `r mu - w / 2`, and the error
/// bound is `w / 2`, both divided by m. A cut on a bin edge (r = 0) or in
/// a one-value bin (`lo == hi`) gives bound 0: the estimate is exact up to
/// rounding. With an infinite edge on both sides the bound is infinite and
/// the estimate `r mu`, the upper end.
pub fn cvar_lower_from_bins(bins: &[BinSum], n: u64, alpha: f64) -> (f64, f64) {
    let held: u64 = bins.iter().map(|b| b.count).sum();
    debug_assert_eq!(held, n, "the bins must hold the n values");
    if n == 0 || held == 0 || !(alpha > 0.0 && alpha <= 1.0) {
        return (f64::NAN, f64::NAN);
    }
    let m = (alpha * n as f64).min(held as f64);
    let (mut total, mut taken, mut half_width) = (0.0, 0.0, 0.0);
    for b in bins.iter().filter(|b| b.count > 0) {
        let need = m - taken;
        if need <= 0.0 {
            break;
        }
        let c = b.count as f64;
        if c <= need {
            total += b.sum;
            taken += c;
            continue;
        }
        let mu = (b.sum / c).clamp(b.lo.min(b.hi), b.hi.max(b.lo));
        let w = (need * (mu - b.lo)).min((c - need) * (b.hi - mu)).max(0.0);
        if w.is_finite() {
            total += need * mu - w / 2.0;
            half_width = w / 2.0;
        } else {
            total += need * mu;
            half_width = f64::INFINITY;
        }
        break;
    }
    (total / m, half_width / m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::testdata::{normal, rng, shuffle};

    /// The Rockafellar-Uryasev form: max over t of t - E[(t - X)^+] /
    /// alpha. Concave and piecewise linear in t with kinks at the values,
    /// so the maximum is at one of them.
    fn ru_form(values: &[f64], alpha: f64) -> f64 {
        let n = values.len() as f64;
        values
            .iter()
            .map(|&t| t - values.iter().map(|x| (t - x).max(0.0)).sum::<f64>() / (alpha * n))
            .fold(f64::NEG_INFINITY, f64::max)
    }

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * a.abs().max(b.abs()).max(1.0)
    }

    #[test]
    fn exact_cvar_by_hand() {
        let mut v: Vec<f64> = (1..=10).map(f64::from).collect();
        shuffle(&mut v, &mut rng(1));
        // m = 2.5: (1 + 2 + 0.5 * 3) / 2.5.
        assert!(close(cvar_lower_exact(&v, 0.25), 1.8, 1e-15));
        // m = 0.5 < 1: the minimum.
        assert_eq!(cvar_lower_exact(&v, 0.05), 1.0);
        assert!(close(cvar_lower_exact(&v, 1.0), 5.5, 1e-15));
        assert!(cvar_lower_exact(&[], 0.05).is_nan());
        assert!(cvar_lower_exact(&v, 0.0).is_nan());
    }

    #[test]
    fn exact_cvar_matches_the_rockafellar_uryasev_form() {
        let mut r = rng(2);
        for n in [1usize, 7, 20, 99, 1_000, 1_001] {
            let v: Vec<f64> = (0..n).map(|_| 1e8 * normal(&mut r).exp()).collect();
            for alpha in [0.01, 0.05, 0.3, 1.0] {
                let a = cvar_lower_exact(&v, alpha);
                let b = ru_form(&v, alpha);
                assert!(close(a, b, 1e-12), "n {n} alpha {alpha}: {a} vs {b}");
            }
        }
    }

    /// Bins of sorted values cut at the given ranks, the outer edges the
    /// minimum and maximum, each bin's edges its own extremes or the
    /// midpoints to its neighbours (both are valid bounds).
    fn bins_of(sorted: &[f64], cuts: &[usize], tight: bool) -> Vec<BinSum> {
        let mut bounds = vec![0];
        bounds.extend_from_slice(cuts);
        bounds.push(sorted.len());
        bounds
            .windows(2)
            .map(|w| {
                let part = &sorted[w[0]..w[1]];
                let (lo, hi) = if tight || w[0] == 0 {
                    (part[0], part[part.len() - 1])
                } else {
                    ((sorted[w[0] - 1] + part[0]) / 2.0, part[part.len() - 1])
                };
                BinSum {
                    count: part.len() as u64,
                    sum: part.iter().sum(),
                    lo,
                    hi,
                }
            })
            .collect()
    }

    #[test]
    fn bins_cut_on_an_edge_give_the_exact_cvar() {
        let mut r = rng(3);
        let mut v: Vec<f64> = (0..2_000).map(|_| 1e7 * normal(&mut r)).collect();
        let exact = cvar_lower_exact(&v, 0.05);
        v.sort_by(f64::total_cmp);
        // The worst 100 are bins [0, 40), [40, 100).
        let bins = bins_of(&v, &[40, 100, 700, 1_500], false);
        let (est, bound) = cvar_lower_from_bins(&bins, 2_000, 0.05);
        assert_eq!(bound, 0.0);
        assert!(close(est, exact, 1e-13), "{est} vs {exact}");
        // A point mass straddling the cut: exact too.
        let mut w = vec![-5.0; 150];
        w.extend((0..850).map(f64::from));
        let atoms = bins_of(&w, &[150], true);
        let (est, bound) = cvar_lower_from_bins(&atoms, 1_000, 0.05);
        assert_eq!((est, bound), (-5.0, 0.0));
    }

    #[test]
    fn bins_cut_inside_a_bin_stay_within_the_bound() {
        let mut r = rng(4);
        let mut widest = 0.0f64;
        for trial in 0..200 {
            let n = 1_000 + trial * 37;
            let mut v: Vec<f64> = (0..n)
                .map(|_| 1e8 * (normal(&mut r) + 0.3 * normal(&mut r).powi(3)))
                .collect();
            let alpha = [0.05, 0.01, 0.1, 0.0005][trial % 4];
            let exact = cvar_lower_exact(&v, alpha);
            v.sort_by(f64::total_cmp);
            let mut cuts: Vec<usize> = (0..6)
                .map(|_| 1 + (r_u(&mut r) * (n - 2) as f64) as usize)
                .collect();
            cuts.sort_unstable();
            cuts.dedup();
            let bins = bins_of(&v, &cuts, trial % 2 == 0);
            let (est, bound) = cvar_lower_from_bins(&bins, n as u64, alpha);
            assert!(
                (est - exact).abs() <= bound + 1e-9 * exact.abs(),
                "trial {trial}: {est} vs {exact}, bound {bound}"
            );
            widest = widest.max(bound / exact.abs());
        }
        // The bound is not vacuous: cuts do land inside bins.
        assert!(widest > 1e-3, "{widest}");
    }

    fn r_u(r: &mut rand::rngs::Xoshiro256PlusPlus) -> f64 {
        use rand::RngExt;
        r.random::<f64>()
    }

    #[test]
    fn bad_input_gives_nan() {
        assert!(cvar_lower_from_bins(&[], 0, 0.05).0.is_nan());
        let b = [BinSum {
            count: 2,
            sum: 3.0,
            lo: 1.0,
            hi: 2.0,
        }];
        assert!(cvar_lower_from_bins(&b, 2, 1.5).1.is_nan());
        // alpha 1: the mean, exactly.
        assert_eq!(cvar_lower_from_bins(&b, 2, 1.0), (1.5, 0.0));
    }
}
