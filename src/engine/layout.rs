//! Where each metric sits in a path's row ([`RowLayout`]), derived from the
//! catalogue ([`super::metrics`]): the market's series, then per policy its
//! monthly series and per-path values with percentiles, then per policy
//! its mean-only series and values; and the writing of a path's market and
//! outcomes into those places ([`write_market`], [`write_outcome`]).

use super::metrics::{
    MARKET_SERIES, POLICY_SCALARS, POLICY_SERIES, Scalar, Series, SeriesRead, Stat,
};
use crate::model::market::MarketPath;
use crate::sim::PolicyOutcome;

/// The row's two parts: metrics with percentiles first, then mean-only.
const fn part(stat: Stat) -> usize {
    match stat {
        Stat::Percentiles => 0,
        Stat::MeanOnly => 1,
    }
}

/// Per policy series: its part and its place among its part's series.
const SERIES_SLOT: [(usize, usize); POLICY_SERIES.len()] = {
    let mut out = [(0, 0); POLICY_SERIES.len()];
    let mut counts = [0, 0];
    let mut i = 0;
    while i < out.len() {
        let p = part(POLICY_SERIES[i].stat);
        out[i] = (p, counts[p]);
        counts[p] += 1;
        i += 1;
    }
    out
};

/// Per per-path value: its part and its place among its part's values.
const SCALAR_SLOT: [(usize, usize); POLICY_SCALARS.len()] = {
    let mut out = [(0, 0); POLICY_SCALARS.len()];
    let mut counts = [0, 0];
    let mut i = 0;
    while i < out.len() {
        let p = part(POLICY_SCALARS[i].stat);
        out[i] = (p, counts[p]);
        counts[p] += 1;
        i += 1;
    }
    out
};

/// Series and per-path values in each part, per policy.
const PART_COUNTS: [[usize; 2]; 2] = {
    let mut out = [[0, 0], [0, 0]];
    let mut i = 0;
    while i < SERIES_SLOT.len() {
        out[SERIES_SLOT[i].0][0] += 1;
        i += 1;
    }
    let mut i = 0;
    while i < SCALAR_SLOT.len() {
        out[SCALAR_SLOT[i].0][1] += 1;
        i += 1;
    }
    out
};

/// Where each metric sits in a path's row. The first `n_quantile` metrics
/// get percentiles; the rest only means.
#[derive(Debug, Clone, Copy)]
pub struct RowLayout {
    pub months: usize,
    pub policies: usize,
    pub n_quantile: usize,
    pub n_total: usize,
    /// Per part, where policy 0's metrics start and each policy's length.
    start: [usize; 2],
    stride: [usize; 2],
}

impl RowLayout {
    pub fn new(months: usize, policies: usize) -> RowLayout {
        let stride = PART_COUNTS.map(|[series, scalars]| series * months + scalars);
        let n_quantile = MARKET_SERIES.len() * months + policies * stride[0];
        RowLayout {
            months,
            policies,
            n_quantile,
            n_total: n_quantile + policies * stride[1],
            start: [MARKET_SERIES.len() * months, n_quantile],
            stride,
        }
    }

    /// Market series `k` (of [`MARKET_SERIES`]) in month `t`.
    pub(super) fn market(&self, k: usize, t: usize) -> usize {
        k * self.months + t
    }

    /// Policy `p`'s series `s` in month `t`.
    #[inline]
    pub(super) fn series(&self, p: usize, s: Series, t: usize) -> usize {
        let (part, k) = SERIES_SLOT[s.0];
        self.start[part] + p * self.stride[part] + k * self.months + t
    }

    /// Policy `p`'s per-path value `s`.
    #[inline]
    pub(super) fn scalar(&self, p: usize, s: Scalar) -> usize {
        let (part, k) = SCALAR_SLOT[s.0];
        self.start[part] + p * self.stride[part] + PART_COUNTS[part][0] * self.months + k
    }
}

/// A path's market series into their places in its `row`.
pub(super) fn write_market(l: &RowLayout, market: &MarketPath, row: &mut [f64]) {
    let months = l.months;
    for (k, m) in MARKET_SERIES.iter().enumerate() {
        let (out, series) = (
            &mut row[l.market(k, 0)..][..months],
            &(m.read)(market)[..months],
        );
        // `x / 1.0 == x` to the bit: a divisor of 1 is a plain copy.
        if m.divisor == 1.0 {
            out.copy_from_slice(series);
        } else {
            for (x, &v) in out.iter_mut().zip(series) {
                *x = v / m.divisor;
            }
        }
    }
}

/// Policy `p`'s outcome on a path (`base` the baseline's, `best_npv_usd`
/// the highest NPV of any policy on the path) into its places in the
/// path's `row`.
#[inline]
pub(super) fn write_outcome(
    l: &RowLayout,
    p: usize,
    o: &PolicyOutcome,
    base: &PolicyOutcome,
    best_npv_usd: f64,
    row: &mut [f64],
) {
    let months = l.months;
    for (k, m) in POLICY_SERIES.iter().enumerate() {
        let out = &mut row[l.series(p, Series(k), 0)..][..months];
        match m.read {
            SeriesRead::Slice(f) => out.copy_from_slice(&f(o)[..months]),
            SeriesRead::Fill(f) => f(o, out),
        }
    }
    for (k, m) in POLICY_SCALARS.iter().enumerate() {
        row[l.scalar(p, Scalar(k))] = (m.read)(o, base, best_npv_usd);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every metric has its own place, and the places fill the row.
    #[test]
    fn places_are_distinct_and_fill_the_row() {
        let l = RowLayout::new(7, 3);
        let mut seen = vec![0u32; l.n_total];
        for k in 0..MARKET_SERIES.len() {
            (0..l.months).for_each(|t| seen[l.market(k, t)] += 1);
        }
        for p in 0..l.policies {
            for (k, m) in POLICY_SERIES.iter().enumerate() {
                for t in 0..l.months {
                    let at = l.series(p, Series(k), t);
                    assert_eq!(at < l.n_quantile, m.stat == Stat::Percentiles);
                    seen[at] += 1;
                }
            }
            for (k, m) in POLICY_SCALARS.iter().enumerate() {
                let at = l.scalar(p, Scalar(k));
                assert_eq!(at < l.n_quantile, m.stat == Stat::Percentiles);
                seen[at] += 1;
            }
        }
        assert!(seen.iter().all(|&n| n == 1));
    }
}
