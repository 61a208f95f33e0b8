//! Exact per-cell sums beside the histograms, for a few metrics: what a
//! lower-tail mean (CVaR) needs past the pilot. Each value is rounded to
//! fixed point on its own (as [`super::Moments`] rounds a chunk's sum), so
//! the sums merge with `+=` to the same bits in any order.

use std::ops::AddAssign;
use std::sync::Arc;

use super::cvar::BinSum;
use super::histograms::QuantileHistograms;
use super::layout::{Cell, QuantileLayout};
use super::moments::{INV_SCALE, to_fixed};

/// Per-cell sums of some metrics of a [`QuantileLayout`].
#[derive(Debug, Clone, PartialEq)]
pub struct CellSums {
    layout: Arc<QuantileLayout>,
    /// The metrics summed (indices in the layout).
    pub(super) metrics: Vec<usize>,
    /// Per summed metric, the fixed-point sum of each of its cells.
    pub(super) sums: Vec<Vec<i128>>,
    /// A value was not finite or a sum left `i128`: no sums are reported.
    pub(super) overflow: bool,
}

impl CellSums {
    /// Zero sums for `metrics` of `layout`.
    pub fn new(layout: Arc<QuantileLayout>, metrics: Vec<usize>) -> CellSums {
        let sums = metrics
            .iter()
            .map(|&m| vec![0; layout.metrics[m].cells().len()])
            .collect();
        CellSums {
            layout,
            metrics,
            sums,
            overflow: false,
        }
    }

    /// The metrics summed.
    pub fn metrics(&self) -> &[usize] {
        &self.metrics
    }

    /// Adds `values` of the `k`-th summed metric.
    pub fn insert(&mut self, k: usize, values: &[f64]) {
        let ml = &self.layout.metrics[self.metrics[k]];
        let sums = &mut self.sums[k];
        for &x in values {
            match to_fixed(x) {
                Some(v) => {
                    let c = self.layout.cell_of(ml, x);
                    sums[c] = sums[c].wrapping_add(v);
                }
                None => self.overflow = true,
            }
        }
    }

    /// The cells of the `k`-th summed metric as bins (count, exact sum, the
    /// range its values lie in: `lo == hi` for an atom), with the counts and
    /// extremes of `hist` (the histograms the same values were counted
    /// into); `None` if a value was not finite.
    pub fn cells(&self, k: usize, hist: &QuantileHistograms) -> Option<Vec<BinSum>> {
        if self.overflow {
            return None;
        }
        let m = self.metrics[k];
        let ml = &self.layout.metrics[m];
        let counts = hist.cells(m);
        let cells = counts
            .iter()
            .zip(&self.sums[k])
            .enumerate()
            .map(|(c, (&count, &sum))| {
                let (lo, hi) = match self.layout.cell(ml, c, hist.min[m], hist.max[m]) {
                    Cell::Atom(v) => (v, v),
                    Cell::Range { lo, hi } => (lo, hi),
                };
                BinSum {
                    count,
                    sum: sum as f64 * INV_SCALE,
                    lo,
                    hi,
                }
            })
            .collect();
        Some(cells)
    }
}

impl AddAssign<&CellSums> for CellSums {
    fn add_assign(&mut self, other: &CellSums) {
        assert!(
            self.layout == other.layout && self.metrics == other.metrics,
            "cell sums of another layout"
        );
        for (a, b) in self.sums.iter_mut().zip(&other.sums) {
            for (x, y) in a.iter_mut().zip(b) {
                *x = x.wrapping_add(*y);
            }
        }
        self.overflow |= other.overflow;
    }
}
