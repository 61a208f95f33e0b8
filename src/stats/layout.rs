//! Where the histogram bins go: [`QuantileLayout`] puts each metric's edges
//! at a pilot's quantiles within windows around the reported percentiles
//! ([`edge_ranks`], [`WINDOW_STANDARD_ERRORS`], [`MAX_WINDOW`]), with a
//! lookup grid over each window; [`MetricLayout`] is where one metric sits
//! in its flat arrays, and [`QuantileLayout::cell_of`] the one-value lookup
//! that the column counts are checked against.

use std::collections::HashMap;
use std::sync::Arc;

use rayon::prelude::*;

use super::PERCENTILES;
use super::histograms::QuantileHistograms;
use super::order::{disjoint_ranks, from_total_order_key, sort_disjoint_ranks, total_order_key};

/// Largest `intervals` accepted by the layout constructors (so that a
/// window's edges fit the lookup grid's 8-bit prefix counts).
const INTERVALS_MAX: usize = 4096;

/// Where one metric's data sits in the flat arrays of a [`QuantileLayout`].
#[derive(Debug, Clone, PartialEq)]
pub(super) struct MetricLayout {
    /// Index of the first edge in `edges`.
    pub(super) edge_start: usize,
    /// Index of the first edge's f32 copy in `QuantileLayout::edges32`
    /// (`k` copies, then `GRID_SCAN - 1` of +inf).
    pub(super) edge32_start: usize,
    /// Number of distinct edges, `k`; the metric has `2k + 1` cells (1 if k = 0).
    pub(super) k: usize,
    /// Index of the first cell in the counts array.
    pub(super) cell_start: usize,
    /// The first and last edge of each window, in order: a value's place
    /// among them says whether it falls in a window (then a short search
    /// finds its bin) or in a gap between windows (one wide cell).
    pub(super) bounds: [f64; 10],
    /// Index (within the metric's edges) of each bound.
    pub(super) bound_idx: [u32; 10],
    /// Per window, the scale of its lookup grid: a value `x` in window `w`
    /// falls in grid cell `grid_cell(x - bounds[2w], scale[w])`.
    pub(super) grid_scale: [f64; 5],
    /// Per window, true if no grid cell holds more than [`GRID_SCAN`] edges
    /// (then a fixed, branch-free scan finds the bin).
    pub(super) grid_short: [bool; 5],
    /// Index of the metric's first entry in `QuantileLayout::grids`
    /// (`5 * (GRID_CELLS + 1)` entries per metric).
    pub(super) grid_start: usize,
    /// The first metric with exactly this metric's edges and bounds, if it
    /// is another: the two have the same cells, so a batch whose values
    /// are the same for both adds the same counts to each
    /// ([`QuantileHistograms::insert_chunk`]).
    pub(super) alias: Option<u32>,
    /// For a metric that later metrics alias: its slot among those
    /// ([`QuantileLayout::shared`]), where a chunk's counts are kept for them.
    pub(super) shared: Option<u32>,
}

/// Cells of the lookup grid over each window: uniform in value, each says
/// how many of the window's edges lie in earlier cells.
pub(super) const GRID_CELLS: usize = 64;
/// Edges scanned after a value's grid cell start when no cell of the window
/// holds more (otherwise a binary search within the cell).
pub(super) const GRID_SCAN: usize = 4;
// A window's edge count fits the grid's u8 prefix counts, and a metric's
// cells (2k + 1 for the k edges of its five windows) fit the second pass's
// u16 cell indices.
const _: () = assert!(2.0 * MAX_WINDOW * (INTERVALS_MAX as f64) + 3.0 < u8::MAX as f64);
const _: () =
    assert!(2.0 * 5.0 * (2.0 * MAX_WINDOW * (INTERVALS_MAX as f64) + 3.0) + 1.0 < u16::MAX as f64);

impl MetricLayout {
    /// The metric's cells in a histogram's counts: `2k + 1`, or 1 if `k = 0`.
    pub(super) fn cells(&self) -> std::ops::Range<usize> {
        let n = if self.k == 0 { 1 } else { 2 * self.k + 1 };
        self.cell_start..self.cell_start + n
    }
}

/// Grid cell of a value `d = x - window_lo >= 0`. Monotone in `d` (IEEE
/// subtraction and multiplication, the clamps and the truncation all are),
/// which is all the lookup's exactness needs: edges in earlier cells are
/// below `x`, edges in later cells above it.
#[inline(always)]
pub(super) fn grid_cell(d: f64, scale: f64) -> usize {
    // Clamped in f64 first (NaN to 0), so the truncation needs none of the
    // checks of a saturating `as` cast.
    let cell = (d * scale).max(0.0).min((GRID_CELLS - 1) as f64);
    // SAFETY: `cell` is finite and in 0 ..= GRID_CELLS - 1, so it fits a u32.
    (unsafe { cell.to_int_unchecked::<u32>() }) as usize
}

/// Cell numbering within a metric, for `k` distinct edges `e_0 < ... < e_{k-1}`:
/// 0 is underflow (`x < e_0`), `2j + 1` the atom `x == e_j`, `2j + 2` the
/// open interval `(e_j, e_{j+1})`, `2k` overflow (`x > e_{k-1}` or NaN).
/// With `k = 0` (no finite pilot value) there is one cell, 0, for everything.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Cell {
    /// A value range `(lo, hi)` (underflow, overflow or between two edges).
    Range { lo: f64, hi: f64 },
    /// Exactly this value.
    Atom(f64),
}

/// Half-width of the fine-binned window around each reported percentile, in
/// standard errors of the pilot's estimate of it: the pilot's percentile `q`
/// is off by about `sqrt(q (1 - q) / P)` in probability (P pilot values).
/// At most [`MAX_WINDOW`]: with P = 8,192 that is 1.4 points at the 5th and
/// 95th percentiles, 2.9 at the 25th and 75th, and 3 (5.4 standard errors)
/// at the median.
pub const WINDOW_STANDARD_ERRORS: f64 = 6.0;
/// The widest half-window, in probability (the median's, and every window of
/// a small pilot).
pub const MAX_WINDOW: f64 = 0.03;
/// Pilot ranks (0-based, ascending, distinct) whose values become the edges:
/// rank `round(j last / intervals)` for every `j` whose quantile `j /
/// intervals` is within the window of a reported percentile (see
/// [`WINDOW_STANDARD_ERRORS`]; `last + 1` pilot values). Between
/// the windows there are no edges: those values are only counted (one wide
/// cell per gap), which is all the cumulative counts need. Should a run's
/// percentile fall outside its window, the rank error reported for it is the
/// mass of the wide cell, so the miss is visible, not silent.
pub fn edge_ranks(last: usize, intervals: usize) -> impl Iterator<Item = usize> {
    let mut ranks: Vec<usize> = windows(intervals, last + 1)
        .into_iter()
        .flat_map(move |(lo, hi)| (lo..=hi).map(move |j| rank_of(j, last, intervals)))
        .collect();
    ranks.sort_unstable();
    ranks.dedup();
    ranks.into_iter()
}

/// The pilot rank of quantile `j / intervals`: `round(j last / intervals)`,
/// rounding half up, in integers.
fn rank_of(j: usize, last: usize, intervals: usize) -> usize {
    (2 * j * last + intervals) / (2 * intervals)
}

/// Per reported percentile, its window `[lo, hi]` in units of `1/intervals`,
/// for a pilot of `pilot` values: [`WINDOW_STANDARD_ERRORS`] of the pilot's
/// standard error at that percentile either side, at most [`MAX_WINDOW`].
/// The pilot's bins are the same wherever they are kept, so a percentile
/// inside its window reads the same bin whatever the window's width.
fn windows(intervals: usize, pilot: usize) -> [(usize, usize); 5] {
    let pilot = pilot.max(1) as f64;
    PERCENTILES.map(|q| {
        let half = (WINDOW_STANDARD_ERRORS * (q * (1.0 - q) / pilot).sqrt()).min(MAX_WINDOW);
        let lo = ((q - half).max(0.0) * intervals as f64).floor() as usize;
        let hi = ((q + half).min(1.0) * intervals as f64).ceil() as usize;
        (lo, hi.min(intervals))
    })
}

// The windows must not overlap (the lookup relies on their bounds being in
// order): the closest percentiles are 20 points apart, and the constructors
// reject the few coarse `intervals` (1 to 9, and 13) whose rounding to whole
// intervals makes neighbouring windows meet (see `check_intervals`).
const _: () = assert!(MAX_WINDOW < 0.1);

/// Whether `intervals` is fine enough that no two percentile windows meet.
/// The widest windows (a pilot of one value) are checked: a larger pilot's
/// lie inside them.
fn windows_apart(intervals: usize) -> bool {
    windows(intervals, 1)
        .windows(2)
        .all(|pair| pair[0].1 < pair[1].0)
}

/// Panics unless `intervals` is in `1..=INTERVALS_MAX` and
/// [`windows_apart`].
fn check_intervals(intervals: usize) {
    assert!(
        (1..=INTERVALS_MAX).contains(&intervals),
        "intervals must be in 1..={INTERVALS_MAX}"
    );
    assert!(
        windows_apart(intervals),
        "intervals {intervals} is too coarse: neighbouring percentile windows meet \
         (14 or more never do)"
    );
}

/// Histogram bin edges for every metric, at the quantiles of a pilot run,
/// with a lookup grid per metric so that binning a value costs a few ns.
///
/// Shared (behind an `Arc`) by all the [`QuantileHistograms`] of a run:
/// histograms merge only if they use the same layout.
#[derive(Debug, Clone, PartialEq)]
pub struct QuantileLayout {
    pub(super) n_metrics: usize,
    pub(super) metrics: Vec<MetricLayout>,
    /// Distinct edges of all metrics, each metric's ascending.
    pub(super) edges: Vec<f64>,
    /// `edges` rounded to f32 (monotone, so they order as the edges do, up
    /// to ties): what the window scan reads first, in half the bytes. Each
    /// metric's are followed by `GRID_SCAN - 1` copies of +inf, so that the
    /// scan reads [`GRID_SCAN`] whole entries from any edge of the metric
    /// (every one past a window's last edge is above a value in it).
    pub(super) edges32: Vec<f32>,
    /// Per metric and window, `GRID_CELLS + 1` prefix counts: entry `g` is
    /// the number of the window's edges (from its first, up to but not
    /// including its last bound) whose grid cell is below `g`.
    pub(super) grids: Vec<u8>,
    /// Total number of cells (length of a histogram's counts).
    pub(super) n_cells: usize,
    /// Per metric that later metrics alias ([`MetricLayout::shared`]), in
    /// metric order: its index and the start of its cells in a histogram's
    /// record of the current chunk (`QuantileHistograms::chunk`).
    pub(super) shared: Vec<(usize, usize)>,
    /// Cells of all the `shared` metrics together.
    pub(super) n_shared_cells: usize,
}

impl QuantileLayout {
    /// Builds the layout from a row-major pilot: `pilot[i * n_metrics + m]`
    /// is metric `m` of pilot path `i`.
    ///
    /// For each metric, its finite pilot values are sorted and the values at
    /// the ranks of [`edge_ranks`] become the edges (equal edges merged):
    /// bins of `1/intervals` of the mass within the window of each
    /// reported percentile ([`WINDOW_STANDARD_ERRORS`]). Only the five percentiles are read, so only their
    /// neighbourhoods need bins; this keeps a metric's histogram small enough
    /// to stay in cache. Non-finite
    /// pilot values are ignored. Metrics are processed in parallel (each one
    /// independently, so the result does not depend on the thread count).
    ///
    /// # Panics
    /// If `intervals` is not in `1..=4096`, or is so coarse (1 to 9, or 13)
    /// that neighbouring percentile windows meet, or `pilot.len()` is not a
    /// multiple of `n_metrics`.
    pub fn from_pilot(pilot: &[f64], n_metrics: usize, intervals: usize) -> QuantileLayout {
        assert!(
            n_metrics == 0 || pilot.len().is_multiple_of(n_metrics),
            "pilot length {} is not a multiple of n_metrics {}",
            pilot.len(),
            n_metrics
        );
        let rows = pilot.len().checked_div(n_metrics).unwrap_or(0);
        Self::build(n_metrics, intervals, |m| {
            (0..rows).map(|i| pilot[i * n_metrics + m]).collect()
        })
    }

    /// As [`from_pilot`](Self::from_pilot), for `n_metrics` metrics whose
    /// pilot values `column(m)` returns (called once per metric, from the
    /// run's threads).
    ///
    /// # Panics
    /// If `intervals` is not in `1..=4096`, or is so coarse (1 to 9, or 13)
    /// that neighbouring percentile windows meet.
    pub fn from_column_fn(
        n_metrics: usize,
        intervals: usize,
        column: impl Fn(usize) -> Vec<f64> + Sync,
    ) -> QuantileLayout {
        Self::build(n_metrics, intervals, column)
    }

    /// As [`from_column_fn`](Self::from_column_fn), and the pilot's own
    /// counts on the layout: the same histograms as counting every
    /// `column(m)` into empty histograms on it with
    /// [`QuantileHistograms::insert_column`], but each column is counted
    /// while it is still in cache from placing its bins, instead of read
    /// again afterwards (`column(m)` is called once per metric).
    ///
    /// # Panics
    /// As [`from_column_fn`](Self::from_column_fn).
    pub fn counted_from_column_fn(
        n_metrics: usize,
        intervals: usize,
        column: impl Fn(usize) -> Vec<f64> + Sync,
    ) -> QuantileHistograms {
        let (layout, counted) = Self::build_counted(n_metrics, intervals, column, true);
        let mut h = QuantileHistograms::new(Arc::new(layout));
        for (m, (cells, min, max)) in counted.into_iter().enumerate() {
            h.set_counts(m, &cells, min, max);
        }
        h
    }

    /// The layout of `n_metrics` metrics whose pilot values `column(m)` gives.
    fn build(
        n_metrics: usize,
        intervals: usize,
        column: impl Fn(usize) -> Vec<f64> + Sync,
    ) -> QuantileLayout {
        Self::build_counted(n_metrics, intervals, column, false).0
    }

    /// [`build`](Self::build), and if `count`, each metric's pilot counted
    /// on its own layout: its cells, smallest and largest end-cell values
    /// (as [`QuantileHistograms`] keeps them).
    #[allow(clippy::type_complexity)]
    fn build_counted(
        n_metrics: usize,
        intervals: usize,
        column: impl Fn(usize) -> Vec<f64> + Sync,
        count: bool,
    ) -> (QuantileLayout, Vec<(Vec<u32>, f64, f64)>) {
        check_intervals(intervals);
        // Each metric's layout is built on its own (in parallel), then
        // appended in metric order.
        let per_metric: Vec<(QuantileLayout, Option<(Vec<u32>, f64, f64)>)> = (0..n_metrics)
            .into_par_iter()
            .map(|m| {
                // The finite values as integer keys in `f64::total_cmp`
                // order (in the column's own buffer); the others set aside
                // for the count.
                let mut non_finite = Vec::new();
                let column = column(m);
                let mut keys: Vec<i64> = if column.iter().all(|x| x.is_finite()) {
                    // The usual case, without a branch per value.
                    column.into_iter().map(total_order_key).collect()
                } else {
                    column
                        .into_iter()
                        .filter(|&x| {
                            let finite = x.is_finite();
                            if !finite && count {
                                non_finite.push(x);
                            }
                            finite
                        })
                        .map(total_order_key)
                        .collect()
                };
                // `+ 0.0` turns -0.0 into 0.0, so a zero edge prints as 0.
                let at = |keys: &[i64], r: usize| from_total_order_key(keys[r]) + 0.0;
                let mut metric_edges = Vec::new();
                let mut bounds = [0.0; 10];
                let mut sorted = Vec::new();
                if let Some(last) = keys.len().checked_sub(1) {
                    // Only the ranks inside the windows are read: put those
                    // in sorted order, and leave the rest merely partitioned.
                    let ranges = windows(intervals, last + 1).map(|(lo, hi)| {
                        (rank_of(lo, last, intervals), rank_of(hi, last, intervals))
                    });
                    sorted = disjoint_ranks(keys.len(), &ranges);
                    sort_disjoint_ranks(&mut keys, 0, &sorted, &mut Vec::new());
                    metric_edges.extend(edge_ranks(last, intervals).map(|r| at(&keys, r)));
                    metric_edges.dedup();
                    for (w, (lo, hi)) in windows(intervals, last + 1).into_iter().enumerate() {
                        bounds[2 * w] = at(&keys, rank_of(lo, last, intervals));
                        bounds[2 * w + 1] = at(&keys, rank_of(hi, last, intervals));
                    }
                }
                let mut one = QuantileLayout::empty(1);
                one.push_metric(&metric_edges, bounds);
                let counted = count.then(|| {
                    // The same values (the keys map back to the same bits),
                    // in another order, which counts do not depend on: the
                    // ranks sorted above counted by one walk along the
                    // edges, the rest (between the windows, mostly counted
                    // by the first pass alone) and the non-finite values
                    // as any column.
                    let values: Vec<f64> = keys.into_iter().map(from_total_order_key).collect();
                    let mut h = QuantileHistograms::new(Arc::new(one.clone()));
                    let mut rank = 0usize;
                    for &(a, b) in &sorted {
                        // Between two sorted ranges, by equality tests alone.
                        match rank.checked_sub(1) {
                            Some(last) => {
                                h.insert_between(0, &values[rank..a], values[last], values[a])
                            }
                            None => h.insert_column(0, &values[rank..a]),
                        }
                        h.insert_sorted(0, &values[a..=b]);
                        rank = b + 1;
                    }
                    h.insert_column(0, &values[rank..]);
                    h.insert_column(0, &non_finite);
                    let cells = h.cells(0).into_iter().map(|c| c as u32).collect();
                    (cells, h.min[0], h.max[0])
                });
                (one, counted)
            })
            .collect();
        let mut layout = QuantileLayout::empty(n_metrics);
        let mut counted = Vec::with_capacity(if count { n_metrics } else { 0 });
        for (one, c) in per_metric {
            layout.append_metric(&one);
            counted.extend(c);
        }
        layout.find_aliases();
        (layout, counted)
    }

    /// A layout of `n_metrics` metrics, none pushed yet.
    fn empty(n_metrics: usize) -> QuantileLayout {
        QuantileLayout {
            n_metrics,
            metrics: Vec::with_capacity(n_metrics),
            edges: Vec::new(),
            edges32: Vec::new(),
            grids: Vec::new(),
            n_cells: 0,
            shared: Vec::new(),
            n_shared_cells: 0,
        }
    }

    /// Points each metric whose edges and bounds are bit for bit those of
    /// an earlier metric at the first such metric (its alias), and gives
    /// every aliased metric a slot for its chunk counts. Such metrics have
    /// the same cells: a metric that is another by construction (a
    /// policy's revenue and its mining revenue before any AI site can be
    /// live; the months before a policy can act, which are the passive
    /// policy's) has the same pilot, hence the same layout.
    fn find_aliases(&mut self) {
        // The bits of a metric's bounds and edges: its key.
        fn key<'a>(ml: &'a MetricLayout, edges: &'a [f64]) -> impl Iterator<Item = u64> + 'a {
            let edges = &edges[ml.edge_start..ml.edge_start + ml.k];
            ml.bounds.iter().chain(edges).map(|x| x.to_bits())
        }
        let edges = &self.edges;
        // Metrics by a hash of their key (a multiplicative fold, cheap
        // next to hashing the whole key with SipHash), each bucket's
        // metrics compared key by key: the first metric of each key.
        let mut first: HashMap<u64, Vec<usize>> = HashMap::new();
        let mut aliased = vec![false; self.metrics.len()];
        let mut alias = vec![None; self.metrics.len()];
        for (m, ml) in self.metrics.iter().enumerate() {
            let hash = key(ml, edges).fold(ml.k as u64, |h, bits| {
                (h.rotate_left(5) ^ bits).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95)
            });
            let bucket = first.entry(hash).or_default();
            match bucket
                .iter()
                .find(|&&a| key(&self.metrics[a], edges).eq(key(ml, edges)))
            {
                Some(&a) => {
                    alias[m] = Some(a as u32);
                    aliased[a] = true;
                }
                None => bucket.push(m),
            }
        }
        for (ml, a) in self.metrics.iter_mut().zip(alias) {
            ml.alias = a;
        }
        for a in (0..self.metrics.len()).filter(|&a| aliased[a]) {
            let ml = &mut self.metrics[a];
            ml.shared = Some(self.shared.len() as u32);
            self.shared.push((a, self.n_shared_cells));
            self.n_shared_cells += ml.cells().len();
        }
    }

    fn push_metric(&mut self, edges: &[f64], bounds: [f64; 10]) {
        let k = edges.len();
        // Every bound is an edge: its index is where it sits among them.
        let bound_idx = bounds.map(|b| edges.partition_point(|&e| e < b) as u32);
        let mut grid_scale = [0.0; 5];
        let mut grid_short = [true; 5];
        let grid_start = self.grids.len();
        for w in 0..5 {
            let (lo, hi) = (bound_idx[2 * w] as usize, bound_idx[2 * w + 1] as usize);
            let width = bounds[2 * w + 1] - bounds[2 * w];
            let scale = if k > 0 && width > 0.0 {
                GRID_CELLS as f64 / width
            } else {
                0.0
            };
            let mut per_cell = [0u8; GRID_CELLS];
            for &e in edges.get(lo..hi).unwrap_or(&[]) {
                per_cell[grid_cell(e - bounds[2 * w], scale)] += 1;
            }
            let mut below = 0;
            self.grids.push(0);
            for n in per_cell {
                below += n;
                self.grids.push(below);
            }
            grid_scale[w] = scale;
            grid_short[w] = per_cell.iter().all(|&n| n as usize <= GRID_SCAN);
        }
        let ml = MetricLayout {
            edge_start: self.edges.len(),
            edge32_start: self.edges32.len(),
            k,
            cell_start: self.n_cells,
            bounds,
            bound_idx,
            grid_scale,
            grid_short,
            grid_start,
            alias: None,
            shared: None,
        };
        self.n_cells = ml.cells().end;
        self.metrics.push(ml);
        self.edges.extend_from_slice(edges);
        self.edges32.extend(edges.iter().map(|&e| e as f32));
        self.edges32.extend([f32::INFINITY; GRID_SCAN - 1]);
    }

    /// Appends the one metric of `one` (a layout of one metric, built by
    /// [`push_metric`](Self::push_metric)): the same as pushing its edges
    /// and bounds here, without working out its grids again.
    fn append_metric(&mut self, one: &QuantileLayout) {
        let [ml] = &one.metrics[..] else {
            panic!("a layout of one metric");
        };
        let ml = MetricLayout {
            edge_start: self.edges.len(),
            edge32_start: self.edges32.len(),
            cell_start: self.n_cells,
            grid_start: self.grids.len(),
            ..ml.clone()
        };
        self.n_cells = ml.cells().end;
        self.metrics.push(ml);
        self.edges.extend_from_slice(&one.edges);
        self.edges32.extend_from_slice(&one.edges32);
        self.grids.extend_from_slice(&one.grids);
    }

    /// Number of metrics (the length of a row).
    pub fn n_metrics(&self) -> usize {
        self.n_metrics
    }

    /// The distinct bin edges of metric `m`, ascending.
    pub fn edges(&self, m: usize) -> &[f64] {
        let ml = &self.metrics[m];
        &self.edges[ml.edge_start..ml.edge_start + ml.k]
    }

    /// Total number of histogram cells over all metrics (memory per
    /// histogram is 6 bytes per cell: a 32-bit total and a 16-bit recent count).
    pub fn n_cells(&self) -> usize {
        self.n_cells
    }

    /// Cell index (within metric `ml`) of the value `x`. Edges exist only
    /// inside the five windows, so `x` is first placed among the windows'
    /// ten bounds (branch-free compares); only a value inside a window needs
    /// a binary search, over that window's edges.
    #[inline(always)]
    pub(super) fn cell_of(&self, ml: &MetricLayout, x: f64) -> usize {
        let k = ml.k;
        if k == 0 {
            return 0;
        }
        if x.is_nan() {
            return 2 * k;
        }
        let edges = &self.edges[ml.edge_start..ml.edge_start + k];
        let c: usize = ml.bounds.iter().map(|&b| usize::from(b <= x)).sum();
        // j: the last edge <= x.
        let j = if c == 0 {
            return 0;
        } else if c.is_multiple_of(2) {
            // In a gap (or past the last edge): no edge between the window's
            // last edge and x.
            ml.bound_idx[c - 1] as usize
        } else {
            // In window (c - 1) / 2: edges[lo] <= x < edges[hi].
            let lo = ml.bound_idx[c - 1] as usize;
            let hi = ml.bound_idx[c] as usize;
            lo + edges[lo..hi].partition_point(|&e| e <= x) - 1
        };
        if edges[j] == x { 2 * j + 1 } else { 2 * j + 2 }
    }

    /// Cell `c` of metric `ml`, given the metric's tracked min and max.
    pub(super) fn cell(&self, ml: &MetricLayout, c: usize, min: f64, max: f64) -> Cell {
        let edges = &self.edges[ml.edge_start..ml.edge_start + ml.k];
        if ml.k == 0 {
            Cell::Range { lo: min, hi: max }
        } else if c == 0 {
            Cell::Range {
                lo: min,
                hi: edges[0],
            }
        } else if c == 2 * ml.k {
            Cell::Range {
                lo: edges[ml.k - 1],
                hi: max,
            }
        } else if c % 2 == 1 {
            Cell::Atom(edges[c / 2])
        } else {
            Cell::Range {
                lo: edges[c / 2 - 1],
                hi: edges[c / 2],
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::testdata::{layout_for, normal, rng, sample_rows};
    use rand::RngExt;

    #[test]
    fn windows_are_six_pilot_standard_errors_wide_and_never_overlap() {
        // The reference pilot: 1.4, 2.9 and 3.3 points either side.
        let w = windows(1024, 8192);
        for ((lo, hi), q) in w.iter().zip(PERCENTILES) {
            let half = (6.0 * (q * (1.0 - q) / 8192.0).sqrt()).min(0.03);
            assert!((*lo as f64) <= (q - half) * 1024.0 && (q - half) * 1024.0 < (*lo + 1) as f64);
            assert!((*hi as f64) >= (q + half) * 1024.0 && (q + half) * 1024.0 > (*hi - 1) as f64);
        }
        assert_eq!(w[0], (36, 66));
        assert_eq!(w[1], (226, 286));
        // The median's is capped at 3 points.
        assert_eq!(w[2], (481, 543));
        // Every `intervals` the constructors accept, at any pilot size.
        for intervals in (10..=INTERVALS_MAX).filter(|&i| i != 13) {
            assert!(windows_apart(intervals), "intervals {intervals}");
            for pilot in (1..200).chain([1_000, 8_192, 1_000_000]) {
                let w = windows(intervals, pilot);
                for pair in w.windows(2) {
                    assert!(
                        pair[0].1 < pair[1].0,
                        "pilot {pilot} intervals {intervals}: {w:?}"
                    );
                }
            }
        }
        // And the coarse ones they reject do meet.
        for intervals in (1..=9).chain([13]) {
            assert!(!windows_apart(intervals), "intervals {intervals}");
        }
    }

    #[test]
    #[should_panic(expected = "too coarse")]
    fn a_layout_whose_windows_would_meet_is_refused() {
        let pilot: Vec<f64> = (0..100).map(f64::from).collect();
        QuantileLayout::from_pilot(&pilot, 1, 13);
    }

    #[test]
    fn histogram_lookup_matches_binary_search() {
        // Heavy tails put many edges in one grid cell: exercise both search paths.
        let rows = sample_rows(5_000, 6);
        let layout = layout_for(&rows, 5_000);
        let mut r = rng(7);
        for (m, ml) in layout.metrics.iter().enumerate() {
            let edges = layout.edges(m);
            let probes = rows.iter().map(|row| row[m]).chain(edges.iter().copied());
            let probes = probes.chain((0..2_000).map(|_| 50.0 * normal(&mut r)));
            for x in probes {
                let expected = match edges.partition_point(|&e| e <= x) {
                    0 => 0,
                    j if edges[j - 1] == x => 2 * j - 1,
                    j => 2 * j,
                };
                assert_eq!(layout.cell_of(ml, x), expected, "metric {m}, x {x}");
            }
        }
    }

    #[test]
    fn lookup_handles_extreme_edges() {
        // Signed zeros, subnormals and huge magnitudes: the grid key must stay
        // monotone, so every value still lands in the right cell.
        let pilot = [
            -1e300, -3.0, -1e-300, -0.0, 0.0, 5e-324, 1e-300, 1e-9, 1.0, 1.5, 2.0, 1e300,
        ];
        let layout = QuantileLayout::from_pilot(&pilot, 1, 11);
        let edges = layout.edges(0).to_vec();
        assert_eq!(edges.len(), 11, "-0.0 and 0.0 are one edge");
        let ml = &layout.metrics[0];
        let neighbours = |x: f64| {
            let b = x.to_bits();
            [f64::from_bits(b.wrapping_sub(1)), x, f64::from_bits(b + 1)]
        };
        let probes = edges.iter().flat_map(|&e| neighbours(e)).chain([
            f64::MAX,
            f64::MIN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            -0.0,
            0.5,
            -0.5,
        ]);
        for x in probes.filter(|x| !x.is_nan()) {
            let expected = match edges.partition_point(|&e| e <= x) {
                0 => 0,
                j if edges[j - 1] == x => 2 * j - 1,
                j => 2 * j,
            };
            assert_eq!(layout.cell_of(ml, x), expected, "x {x:e}");
        }
        assert_eq!(layout.cell_of(ml, f64::NAN), 2 * edges.len());
    }

    /// The pilot counted as its bins are placed (the windows by a walk along
    /// the edges, the values between them by equality tests, the ends as
    /// any column) gives the histograms of counting every pilot column
    /// afterwards, bit for bit, extremes included: on columns with NaN,
    /// infinities, -0.0 and 0.0, ties (bounds equal to the values between
    /// windows), a constant, only non-finite values, a single value, and
    /// none.
    #[test]
    fn pilot_counted_with_its_bins_matches_counting_it_afterwards() {
        let mut r = rng(47);
        let n = 3_000;
        let columns: Vec<Vec<f64>> = vec![
            (0..n).map(|_| normal(&mut r)).collect(),
            (0..n)
                .map(|_| match r.random_range(0..30) {
                    0 => f64::NAN,
                    1 => -f64::NAN,
                    2 => f64::INFINITY,
                    3 => f64::NEG_INFINITY,
                    4 => -0.0,
                    5..=12 => 0.0,
                    _ => (3.0 * normal(&mut r)).exp(),
                })
                .collect(),
            (0..n).map(|_| r.random_range(0..7) as f64).collect(),
            vec![2.5; n],
            vec![f64::NAN; 40],
            vec![-0.0],
            Vec::new(),
        ];
        let column = |m: usize| columns[m].clone();
        let counted = QuantileLayout::counted_from_column_fn(columns.len(), 1024, column);
        let layout = Arc::new(QuantileLayout::from_column_fn(columns.len(), 1024, column));
        assert!(**counted.layout() == *layout);
        let mut afterwards = QuantileHistograms::new(layout);
        for (m, col) in columns.iter().enumerate() {
            afterwards.insert_column(m, col);
        }
        assert!(counted == afterwards);
        for (m, col) in columns.iter().enumerate() {
            assert_eq!(counted.count(m), col.len() as u64);
        }
    }
}
