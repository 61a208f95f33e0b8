//! Counting values into bins and reading percentiles back:
//! [`QuantileHistograms`] on a shared [`QuantileLayout`], counted by row, by
//! column (two passes over blocks, see [`super::count`]) or by chunk (a
//! metric that repeats an earlier one takes its counts), merged exactly
//! with `+=`, and read as [`Quantiles`].

use std::ops::AddAssign;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::PERCENTILES;
use super::count::{BLOCK, Pass1, classify, scan_f32};
use super::layout::{Cell, GRID_CELLS, GRID_SCAN, MetricLayout, QuantileLayout, grid_cell};

/// Percentiles of one metric read from a [`QuantileHistograms`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Quantiles {
    /// Estimated values at [`PERCENTILES`] (type-7 target ranks); NaN if the
    /// histogram is empty.
    pub values: [f64; 5],
    /// Bound on the rank error of `values`, as a fraction of the count: the
    /// largest share of the values held by a cell that a percentile was
    /// interpolated in (0 for percentiles that fell on an exact atom). The
    /// empirical CDF at a returned value is within this (plus 1/N) of its
    /// percentile.
    pub max_rank_error: f64,
}

/// Per-metric histograms on a shared [`QuantileLayout`], one row per path;
/// merge with `+=`, read with [`quantiles`](Self::quantiles).
///
/// A cell's count is `counts + recent`. Columns are counted into the 16-bit
/// `recent`, which halves the bytes a run streams through per chunk (each
/// metric's cells are cold when its column comes), and a metric's `recent`
/// is added into `counts` before it could overflow.
#[derive(Debug, Clone)]
pub struct QuantileHistograms {
    layout: Arc<QuantileLayout>,
    /// Counts of every cell of every metric (flat, see `MetricLayout::cell_start`);
    /// a run has at most `u32::MAX` paths (`scenario::MAX_PATHS`), so no
    /// count overflows.
    pub(super) counts: Vec<u32>,
    /// Counts since the metric's last flush into `counts`, same cells.
    pub(super) recent: Vec<u16>,
    /// Per metric, values counted into `recent` since its last flush (so
    /// no cell of it holds more).
    pub(super) recent_n: Vec<u32>,
    /// Per metric, smallest value seen below the first edge (+inf if none).
    pub(super) min: Vec<f64>,
    /// Per metric, largest non-NaN value seen above the last edge (-inf if none).
    pub(super) max: Vec<f64>,
    /// Scratch of [`insert_chunk`](Self::insert_chunk): per metric that
    /// others alias (`QuantileLayout::shared`), the counts its column of
    /// the current chunk added, and that column's contribution to `min`
    /// and `max`.
    chunk: Vec<u16>,
    chunk_min: Vec<f64>,
    chunk_max: Vec<f64>,
}

impl QuantileHistograms {
    /// Empty histograms on `layout`.
    pub fn new(layout: Arc<QuantileLayout>) -> Self {
        let n = layout.n_metrics;
        QuantileHistograms {
            counts: vec![0; layout.n_cells],
            recent: vec![0; layout.n_cells],
            recent_n: vec![0; n],
            min: vec![f64::INFINITY; n],
            max: vec![f64::NEG_INFINITY; n],
            chunk: vec![0; layout.n_shared_cells],
            chunk_min: vec![f64::INFINITY; layout.shared.len()],
            chunk_max: vec![f64::NEG_INFINITY; layout.shared.len()],
            layout,
        }
    }

    /// The layout these histograms use.
    pub fn layout(&self) -> &Arc<QuantileLayout> {
        &self.layout
    }

    /// Counts one path: `row[m]` is metric `m`. NaN counts as above every value.
    pub fn insert_row(&mut self, row: &[f64]) {
        let layout = Arc::clone(&self.layout);
        debug_assert_eq!(row.len(), layout.n_metrics, "row length != n_metrics");
        for ((m, ml), &x) in layout.metrics.iter().enumerate().zip(row) {
            let c = layout.cell_of(ml, x);
            self.tally(ml, m, c, x);
        }
    }

    /// Counts values of metric `m` (a column of a batch of paths). Counting
    /// a batch column by column keeps one metric's bins in cache.
    pub fn insert_column(&mut self, m: usize, values: &[f64]) {
        let layout = Arc::clone(&self.layout);
        self.insert_column_in(&layout, m, values, &mut Pass1::new());
    }

    /// Counts a batch of paths given column by column: `column(m)` is metric
    /// `m`'s values, the same number for every metric. The same counts and
    /// extremes as [`insert_column`](Self::insert_column) of every column,
    /// with less work where metrics repeat one another.
    ///
    /// A metric whose layout is an earlier metric's (its alias, see
    /// [`QuantileLayout`]) and whose column is bit for bit the alias's
    /// column in this batch gets the alias's counts of the batch, recorded
    /// while the alias was counted, instead of being counted again. In a
    /// batch where the two columns differ it is counted as any other.
    pub fn insert_chunk<'a>(&mut self, column: impl Fn(usize) -> &'a [f64]) {
        let layout = Arc::clone(&self.layout);
        let n = layout.n_metrics;
        if n == 0 {
            return;
        }
        let len = column(0).len();
        // The first pass's scratch, for every column (it needs no clearing).
        let mut pass1 = Pass1::new();
        if len > u16::MAX as usize {
            // Too many for a record in 16-bit counts: count every column.
            for m in 0..n {
                self.insert_column_in(&layout, m, column(m), &mut pass1);
            }
            return;
        }
        for m in 0..n {
            let ml = &layout.metrics[m];
            let values = column(m);
            assert_eq!(values.len(), len, "columns of different lengths");
            self.prefetch(m + 1);
            if let Some(a) = ml.alias
                && same_bits(values, column(a as usize))
            {
                let slot = layout.metrics[a as usize]
                    .shared
                    .expect("an alias is shared") as usize;
                self.add_recorded(ml, m, slot, len);
                continue;
            }
            match ml.shared {
                Some(slot) => self.insert_recorded(&layout, m, slot as usize, values, &mut pass1),
                None => self.insert_column_in(&layout, m, values, &mut pass1),
            }
        }
    }

    /// Counts metric `m`'s column (at most `u16::MAX` values) and records
    /// what it added in shared slot `slot`.
    fn insert_recorded(
        &mut self,
        layout: &QuantileLayout,
        m: usize,
        slot: usize,
        values: &[f64],
        pass1: &mut Pass1,
    ) {
        let ml = &layout.metrics[m];
        let cells = ml.cells();
        let start = layout.shared[slot].1;
        // No flush during the count, so that `recent` after minus before
        // is what the column added.
        if self.recent_n[m] as usize + values.len() > u16::MAX as usize {
            self.flush(m);
        }
        let record = &mut self.chunk[start..start + cells.len()];
        record.copy_from_slice(&self.recent[cells.clone()]);
        let (min, max) = (self.min[m], self.max[m]);
        (self.min[m], self.max[m]) = (f64::INFINITY, f64::NEG_INFINITY);
        self.insert_column_in(layout, m, values, pass1);
        let record = &mut self.chunk[start..start + cells.len()];
        for (r, &now) in record.iter_mut().zip(&self.recent[cells]) {
            *r = now - *r;
        }
        (self.chunk_min[slot], self.chunk_max[slot]) = (self.min[m], self.max[m]);
        self.min[m] = total_min(min, self.min[m]);
        self.max[m] = total_max(max, self.max[m]);
    }

    /// Adds to metric `m` the `len` values recorded in shared slot `slot`.
    fn add_recorded(&mut self, ml: &MetricLayout, m: usize, slot: usize, len: usize) {
        self.make_room(m, len);
        let start = self.layout.shared[slot].1;
        let cells = ml.cells();
        let record = &self.chunk[start..start + cells.len()];
        for (c, &r) in self.recent[cells].iter_mut().zip(record) {
            *c += r;
        }
        self.min[m] = total_min(self.min[m], self.chunk_min[slot]);
        self.max[m] = total_max(self.max[m], self.chunk_max[slot]);
    }

    /// Asks the CPU to start loading metric `m`'s edges, grid and counts
    /// into cache (a hint: no effect on results). Calling it for the next
    /// metric while counting this one hides the misses of a metric whose
    /// histogram is cold, as each is at the start of a chunk.
    #[inline]
    pub fn prefetch(&self, m: usize) {
        let layout = &*self.layout;
        let Some(ml) = layout.metrics.get(m) else {
            return;
        };
        let k = ml.k;
        prefetch_slice(&layout.edges32[ml.edge32_start..ml.edge32_start + k]);
        prefetch_slice(&layout.grids[ml.grid_start..ml.grid_start + 5 * (GRID_CELLS + 1)]);
        prefetch_slice(&self.recent[ml.cells()]);
    }

    /// Counts a column in two passes over blocks of [`BLOCK`] values. The
    /// first ([`classify`], vectorised) gives every value its zone code
    /// among the windows' ten bounds, counts the values in the gaps between
    /// windows (most of them) by code, and sets the rest aside. The second
    /// finds each set-aside value's bin from the window's grid. Same cells
    /// as [`QuantileLayout::cell_of`] (a test checks it).
    #[inline]
    fn insert_column_in(
        &mut self,
        layout: &QuantileLayout,
        m: usize,
        values: &[f64],
        pass1: &mut Pass1,
    ) {
        let ml = &layout.metrics[m];
        let k = ml.k;
        if k == 0 {
            // One cell: into `recent`, like any count, so that a record of
            // what the column added (`insert_recorded`) holds it.
            for block in values.chunks(BLOCK) {
                self.count_without_edges(ml, m, block);
            }
            return;
        }
        let cells = ml.cells();
        for block in values.chunks(BLOCK) {
            self.make_room(m, block.len());
            // A block of one value (a metric fixed on every path, such as
            // a passive policy's AI revenue): one lookup, one count.
            let first = block[0].to_bits();
            if block.iter().all(|x| x.to_bits() == first) {
                let (x, c) = (block[0], layout.cell_of(ml, block[0]));
                self.recent[cells.start + c] += block.len() as u16;
                note_extremes(&mut self.min[m], &mut self.max[m], c, k, x);
                continue;
            }
            let gaps = classify(&ml.bounds, block, pass1);
            self.add_gaps(ml, gaps);
            self.count_pending(layout, m, block, pass1);
        }
    }

    /// Counts `values` (at most `u16::MAX`) into the one cell of metric
    /// `m`, which has no edges, keeping their extremes.
    fn count_without_edges(&mut self, ml: &MetricLayout, m: usize, values: &[f64]) {
        debug_assert_eq!(ml.k, 0);
        self.make_room(m, values.len());
        self.recent[ml.cell_start] += values.len() as u16;
        for &x in values {
            note_extremes(&mut self.min[m], &mut self.max[m], 0, 0, x);
        }
    }

    /// Adds to metric `ml`'s recent counts the values of the gaps between
    /// its windows, by zone code (`GAP_CODES` of the first pass, in that
    /// order).
    #[inline(always)]
    fn add_gaps(&mut self, ml: &MetricLayout, gaps: [u32; 8]) {
        // No cell of this metric can pass u16::MAX (checked by the caller).
        let counts = &mut self.recent[ml.cells()];
        // Gap zones 2, 4, 6, 8: one wide cell, or the atom of the bound
        // below it.
        for (g, z) in (2..10).step_by(2).enumerate() {
            let j = ml.bound_idx[z - 1] as usize;
            counts[2 * j + 2] += gaps[2 * g] as u16;
            counts[2 * j + 1] += gaps[2 * g + 1] as u16;
        }
    }

    /// The second pass of a count: counts into metric `m`'s recent counts
    /// the values of `block` that `pass1` set aside (its `inside` and
    /// `outside` lists of indices into `block`, whose zone codes are in
    /// `pass1.codes`). The metric has edges (`k > 0`).
    #[inline(always)]
    fn count_pending(
        &mut self,
        layout: &QuantileLayout,
        m: usize,
        block: &[f64],
        pass1: &mut Pass1,
    ) {
        let ml = &layout.metrics[m];
        let k = ml.k;
        let edges = &layout.edges[ml.edge_start..ml.edge_start + k];
        let edges32 = &layout.edges32[ml.edge32_start..ml.edge32_start + k + GRID_SCAN - 1];
        let grids = &layout.grids[ml.grid_start..ml.grid_start + 5 * (GRID_CELLS + 1)];
        let codes = &pass1.codes[..block.len()];
        // No cell of this metric can pass u16::MAX (checked by the caller).
        let counts = &mut self.recent[ml.cells()];
        // In a window: an edge at or below the value and one above it,
        // so never an end cell (no extremes to track). Their cells are
        // found first and counted after: each lookup is a chain of
        // dependent loads, and with the count's read-modify-write in
        // the same loop fewer of them overlap.
        let n_inside = pass1.n_inside;
        for (found, &i) in pass1.found.iter_mut().zip(&pass1.inside[..n_inside]) {
            let x = block[i as usize];
            let c = codes[i as usize] as usize / 2;
            *found = Self::window_cell(ml, edges, edges32, grids, c, x) as u16;
        }
        for &cell in &pass1.found[..n_inside] {
            debug_assert!(cell != 0 && usize::from(cell) != 2 * k);
            counts[usize::from(cell)] += 1;
        }
        // Below the first bound (or NaN), or at or above the last.
        for &i in &pass1.outside[..pass1.n_outside] {
            let x = block[i as usize];
            let code = codes[i as usize] as usize;
            let cell = if code / 2 == 0 && !x.is_nan() {
                0
            } else {
                // Above the last bound (its atom if equal), or NaN
                // (above every value).
                let j = ml.bound_idx[9] as usize;
                if code & 1 == 1 { 2 * j + 1 } else { 2 * j + 2 }
            };
            counts[cell] += 1;
            note_extremes(&mut self.min[m], &mut self.max[m], cell, k, x);
        }
    }

    /// Cell of `x`, which lies in window `c / 2` (`c` odd bounds are `<= x`):
    /// the window's grid cell, then a short scan of its edges.
    ///
    /// The scan reads the f32 copies of the edges first. Rounding to f32 is
    /// monotone, so `e <= x` implies `e32 <= x32`, and `e32 < x32` implies
    /// `e < x`: if no scanned copy equals `x32`, every comparison is the
    /// exact one and `x` is no edge, so the cell is the interval. Only a
    /// tie in f32 (an atom, or edges closer than f32 resolves) reads the
    /// f64 edges.
    #[inline(always)]
    fn window_cell(
        ml: &MetricLayout,
        edges: &[f64],
        edges32: &[f32],
        grids: &[u8],
        c: usize,
        x: f64,
    ) -> usize {
        let w = c / 2;
        let lo = ml.bound_idx[c - 1] as usize;
        let hi = ml.bound_idx[c] as usize;
        if x == ml.bounds[c - 1] {
            // The window's first edge itself: an atom (a point mass that
            // reaches into the window, such as zeros below a percentile
            // that is not zero). Predictable: a column is one metric.
            return 2 * lo + 1;
        }
        let g = grid_cell(x - ml.bounds[c - 1], ml.grid_scale[w]);
        let grid = &grids[w * (GRID_CELLS + 1)..];
        // Edges in earlier cells are all < x; count those in x's cell.
        let s = lo + grid[g] as usize;
        let j = if ml.grid_short[w] {
            // Edges past the cell are > x, and so are those past the
            // window (the next windows', or the +inf padding): their copies
            // are >= x32, so below x32 never, and equal to it only in a tie.
            let x32 = x as f32;
            let scanned: &[f32; GRID_SCAN] = edges32[s..s + GRID_SCAN]
                .try_into()
                .expect("GRID_SCAN entries");
            let (below, tie) = scan_f32(scanned, x32);
            if !tie {
                return 2 * (s + below - 1) + 2;
            }
            // Edges past the window are > x; edges[hi] stands in for them.
            let below: usize = (0..GRID_SCAN)
                .map(|d| usize::from(edges[(s + d).min(hi)] <= x))
                .sum();
            s + below - 1
        } else {
            let e = lo + grid[g + 1] as usize;
            s + edges[s..e].partition_point(|&e| e <= x) - 1
        };
        if edges[j] == x { 2 * j + 1 } else { 2 * j + 2 }
    }

    /// Counts metric `m`'s `values`, which are finite and ascending (in
    /// `f64::total_cmp` order), by one walk along its edges instead of a
    /// lookup per value: the cells [`insert_column`](Self::insert_column)
    /// gives them (a test checks it).
    pub(super) fn insert_sorted(&mut self, m: usize, values: &[f64]) {
        let layout = Arc::clone(&self.layout);
        let ml = &layout.metrics[m];
        let k = ml.k;
        let edges = &layout.edges[ml.edge_start..ml.edge_start + k];
        let Some(&first) = values.first() else {
            return;
        };
        // Edges at or below the value: never fewer for a later value (the
        // order of `<=` is total_cmp's, except that -0.0 and 0.0 are equal).
        let mut j = edges.partition_point(|&e| e <= first);
        for &x in values {
            debug_assert!(x.is_finite());
            while j < k && edges[j] <= x {
                j += 1;
            }
            let c = if j == 0 {
                0
            } else if edges[j - 1] == x {
                2 * j - 1
            } else {
                2 * j
            };
            self.tally(ml, m, c, x);
        }
    }

    /// Counts metric `m`'s `values`, which are finite and lie between
    /// `below` and `above` (in `f64::total_cmp` order) with no edge strictly
    /// between the two, as the values between two ranks sorted in place do:
    /// a value equal to `below` or `above` takes its cell, any other the one
    /// cell between them. By equality tests alone; where an end cell is
    /// among them (its extremes are kept), by [`insert_column`](Self::insert_column).
    /// The cells `insert_column` gives them (a test checks it).
    pub(super) fn insert_between(&mut self, m: usize, values: &[f64], below: f64, above: f64) {
        let layout = Arc::clone(&self.layout);
        let ml = &layout.metrics[m];
        let (at_below, at_above) = (layout.cell_of(ml, below), layout.cell_of(ml, above));
        // Above `below`'s edge (odd: its atom) and below the next edge.
        let between = at_below + at_below % 2;
        let end = |c: usize| c == 0 || c == 2 * ml.k;
        if ml.k == 0 || end(at_below) || end(at_above) || end(between) {
            self.insert_column(m, values);
            return;
        }
        let (mut n_below, mut n_above) = (0u32, 0u32);
        for &x in values {
            n_below += u32::from(x == below);
            n_above += u32::from(x == above);
        }
        if below == above {
            n_above = 0; // every value equals both: counted once, at `below`
        }
        let n = values.len() as u32;
        let counts = &mut self.counts[ml.cell_start..];
        counts[at_below] += n_below;
        counts[at_above] += n_above;
        counts[between] += n - n_below - n_above;
    }

    /// Counts `x` in cell `c` of metric `m`, tracking the extremes of the end cells.
    #[inline(always)]
    fn tally(&mut self, ml: &MetricLayout, m: usize, c: usize, x: f64) {
        self.counts[ml.cell_start + c] += 1;
        note_extremes(&mut self.min[m], &mut self.max[m], c, ml.k, x);
    }

    /// Makes room in metric `m`'s recent counts for `len` more values (at
    /// most `u16::MAX`), flushing them into `counts` first if they could
    /// overflow, and counts the values in `recent_n`.
    #[inline(always)]
    fn make_room(&mut self, m: usize, len: usize) {
        if self.recent_n[m] as usize + len > u16::MAX as usize {
            self.flush(m);
        }
        self.recent_n[m] += len as u32;
    }

    /// Adds metric `m`'s `recent` counts into `counts`.
    fn flush(&mut self, m: usize) {
        let range = self.layout.metrics[m].cells();
        for (a, b) in self.counts[range.clone()]
            .iter_mut()
            .zip(&mut self.recent[range])
        {
            *a += u32::from(*b);
            *b = 0;
        }
        self.recent_n[m] = 0;
    }

    /// Number of values counted for metric `m` (the number of rows inserted).
    pub fn count(&self, m: usize) -> u64 {
        self.cells(m).iter().sum()
    }

    /// Sets metric `m`'s counts to `cells` (its cells, in order) and its
    /// end-cell extremes to `min` and `max`, as if those values had been
    /// counted into it alone.
    pub(super) fn set_counts(&mut self, m: usize, cells: &[u32], min: f64, max: f64) {
        let range = self.layout.metrics[m].cells();
        assert_eq!(range.len(), cells.len(), "cells of another layout");
        self.counts[range.clone()].copy_from_slice(cells);
        self.recent[range].fill(0);
        self.recent_n[m] = 0;
        (self.min[m], self.max[m]) = (min, max);
    }

    /// Metric `m`'s cell counts.
    pub(super) fn cells(&self, m: usize) -> Vec<u64> {
        let range = self.layout.metrics[m].cells();
        let recent = &self.recent[range.clone()];
        let counts = &self.counts[range];
        counts
            .iter()
            .zip(recent)
            .map(|(&a, &b)| u64::from(a) + u64::from(b))
            .collect()
    }

    /// The [`PERCENTILES`] of metric `m`, with their rank-error bound.
    pub fn quantiles(&self, m: usize) -> Quantiles {
        let ml = &self.layout.metrics[m];
        let cells = self.cells(m);
        let total: u64 = cells.iter().sum();
        let mut out = Quantiles {
            values: [f64::NAN; 5],
            max_rank_error: 0.0,
        };
        if total == 0 {
            return out;
        }
        for (value, &q) in out.values.iter_mut().zip(&PERCENTILES) {
            let rank = q * (total - 1) as f64;
            // First cell whose ranks [c0, c0 + count) reach past `rank`.
            let mut c0 = 0u64;
            let mut c = 0;
            while c + 1 < cells.len() && (c0 + cells[c]) as f64 <= rank {
                c0 += cells[c];
                c += 1;
            }
            let count = cells[c];
            *value = match self.layout.cell(ml, c, self.min[m], self.max[m]) {
                Cell::Atom(v) => v,
                Cell::Range { lo, hi } => {
                    let share = count as f64 / total as f64;
                    out.max_rank_error = out.max_rank_error.max(share);
                    if hi >= lo {
                        let t = (rank - c0 as f64 + 0.5) / count as f64;
                        (lo + t * (hi - lo)).clamp(lo, hi)
                    } else {
                        f64::NAN // only NaN above the last edge
                    }
                }
            };
        }
        out
    }
}

impl PartialEq for QuantileHistograms {
    /// Same layout, the same count in every cell (however it is split
    /// between `counts` and `recent`), the same extremes.
    fn eq(&self, other: &Self) -> bool {
        self.layout == other.layout
            && (0..self.layout.n_metrics).all(|m| self.cells(m) == other.cells(m))
            && self.min == other.min
            && self.max == other.max
    }
}

impl AddAssign<&QuantileHistograms> for QuantileHistograms {
    /// Adds the counts of `rhs`. Exact, so the merge order does not matter.
    ///
    /// # Panics
    /// If the two histograms use different layouts.
    fn add_assign(&mut self, rhs: &QuantileHistograms) {
        assert!(
            Arc::ptr_eq(&self.layout, &rhs.layout) || self.layout == rhs.layout,
            "merging histograms with different layouts"
        );
        for ((a, &b), &c) in self.counts.iter_mut().zip(&rhs.counts).zip(&rhs.recent) {
            *a += b + u32::from(c);
        }
        for (a, &b) in self.min.iter_mut().zip(&rhs.min) {
            *a = total_min(*a, b);
        }
        for (a, &b) in self.max.iter_mut().zip(&rhs.max) {
            *a = total_max(*a, b);
        }
    }
}

/// Prefetches every cache line of `data` (a hint; no-op off x86-64).
#[inline]
fn prefetch_slice<T>(data: &[T]) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        let bytes = std::mem::size_of_val(data);
        let base = data.as_ptr().cast::<i8>();
        for offset in (0..bytes).step_by(64) {
            // SAFETY: SSE is part of the x86-64 baseline, and a prefetch
            // never faults; the address is inside `data`.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(base.add(offset)) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = data;
}

/// Whether `a` and `b` hold the same values bit for bit (a whole-slice
/// fold per block, which the compiler vectorises, rather than a test per
/// value).
fn same_bits(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len()
        && a.chunks(32).zip(b.chunks(32)).all(|(x, y)| {
            x.iter()
                .zip(y)
                .fold(0u64, |d, (p, q)| d | (p.to_bits() ^ q.to_bits()))
                == 0
        })
}

/// Keeps `x` among a metric's extremes if cell `c` (of a metric with `k`
/// edges) is an end cell: the smallest value of the underflow cell and the
/// largest of the overflow cell, all that is kept of the values (with
/// `k = 0` the one cell is both).
#[inline(always)]
fn note_extremes(min: &mut f64, max: &mut f64, c: usize, k: usize, x: f64) {
    if c == 0 {
        *min = total_min(*min, x);
    }
    if c == 2 * k {
        *max = total_max(*max, x);
    }
}

/// Minimum in the IEEE total order, ignoring NaN. Unlike `f64::min`, it picks
/// -0.0 over 0.0 whatever the argument order, so merges are bit-exact.
fn total_min(a: f64, b: f64) -> f64 {
    if b.is_nan() || (!a.is_nan() && a.total_cmp(&b).is_le()) {
        a
    } else {
        b
    }
}

/// Maximum in the IEEE total order, ignoring NaN (see [`total_min`]).
fn total_max(a: f64, b: f64) -> f64 {
    if b.is_nan() || (!a.is_nan() && a.total_cmp(&b).is_ge()) {
        a
    } else {
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::testdata::{N_DISTS, layout_for, normal, rng, sample_rows, shuffle};
    use rand::RngExt;

    #[test]
    fn histogram_rank_error_is_bounded_and_honest() {
        let rows = sample_rows(200_000, 4);
        let layout = layout_for(&rows, 8_192);
        let mut h = QuantileHistograms::new(layout);
        rows.iter().for_each(|row| h.insert_row(row));
        let n = rows.len() as f64;
        for m in 0..N_DISTS {
            assert_eq!(h.count(m), rows.len() as u64);
            let mut col: Vec<f64> = rows.iter().map(|row| row[m]).collect();
            col.sort_unstable_by(f64::total_cmp);
            let qs = h.quantiles(m);
            assert!(
                qs.max_rank_error <= 0.005,
                "metric {m}: bound {}",
                qs.max_rank_error
            );
            for (&v, &q) in qs.values.iter().zip(&PERCENTILES) {
                let below = col.partition_point(|&x| x < v) as f64 / n;
                let at_or_below = col.partition_point(|&x| x <= v) as f64 / n;
                let realized = (below - q).max(q - at_or_below).max(0.0);
                assert!(
                    realized <= 0.005,
                    "metric {m} q {q}: value {v}, error {realized}"
                );
                assert!(
                    realized <= qs.max_rank_error + 1.0 / n,
                    "metric {m} q {q}: error {realized} > bound {}",
                    qs.max_rank_error
                );
            }
        }
        // Point masses come out exact: the constant, and the mixture's atom at 0.
        assert_eq!(h.quantiles(3).values, [42.0; 5]);
        assert_eq!(h.quantiles(3).max_rank_error, 0.0);
        assert_eq!(h.quantiles(2).values[1], 0.0);
    }

    /// `insert_chunk` gives the histograms `insert_column` of every column
    /// gives, bit for bit, extremes included: on metrics that alias others
    /// (same pilot) with the same column in most chunks and a different
    /// one in some, values in the end cells and NaN, -0.0 against 0.0,
    /// enough chunks to pass the 16-bit flush, and a short last chunk.
    #[test]
    fn chunk_count_with_aliases_matches_column_counts() {
        const METRICS: usize = 8;
        let mut r = rng(31);
        // Pilot: 1 repeats 0, 3 repeats 2 (zeros), 6 repeats 5, 7 repeats
        // 0; 4 is 0 nudged (same ranks, other values: no alias).
        let pilot: Vec<f64> = (0..8_192)
            .flat_map(|_| {
                let z = normal(&mut r);
                let w = normal(&mut r).exp();
                [z, z, 0.0, 0.0, z + 1e-9, w, w, z]
            })
            .collect();
        let layout = Arc::new(QuantileLayout::from_pilot(&pilot, METRICS, 1024));
        let alias: Vec<Option<u32>> = layout.metrics.iter().map(|ml| ml.alias).collect();
        assert_eq!(
            alias,
            [None, Some(0), None, Some(2), None, None, Some(5), Some(0)]
        );
        let shared: Vec<usize> = layout.shared.iter().map(|&(m, _)| m).collect();
        assert_eq!(shared, [0, 2, 5]);

        let mut by_chunk = QuantileHistograms::new(layout.clone());
        let mut by_column = QuantileHistograms::new(layout.clone());
        for c in 0..300 {
            let len = if c == 299 { 77 } else { 256 };
            let mut cols = vec![Vec::new(); METRICS];
            for _ in 0..len {
                let z = 3.0 * normal(&mut r);
                let w = (2.0 * normal(&mut r)).exp();
                let tail = match r.random_range(0..40) {
                    0 => f64::NAN,
                    1 => -1e300,
                    2 => 1e300,
                    3 => -0.0,
                    _ => 0.0,
                };
                let row = [z, z, tail, tail, z, w, w, z];
                for (col, x) in cols.iter_mut().zip(row) {
                    col.push(x);
                }
            }
            // Some chunks where an alias's column differs from its alias's.
            if c % 7 == 0 {
                cols[1][len / 2] += 1.0;
            }
            if c == 150 {
                cols[3][0] = -0.0;
                cols[3][1] = 0.0;
                cols[7][len - 1] = -cols[7][len - 1];
            }
            if c % 13 == 0 {
                cols[6][3] = f64::NAN;
            }
            by_chunk.insert_chunk(|m| &cols[m]);
            for (m, col) in cols.iter().enumerate() {
                by_column.insert_column(m, col);
            }
        }
        assert!(by_chunk == by_column);
        for m in 0..METRICS {
            assert_eq!(by_chunk.count(m), 299 * 256 + 77);
            let (a, b) = (by_chunk.quantiles(m), by_column.quantiles(m));
            assert_eq!(a.values.map(f64::to_bits), b.values.map(f64::to_bits));
            assert_eq!(a.max_rank_error, b.max_rank_error);
        }
        // The extremes of the end cells reach the aliases too.
        assert_eq!(by_chunk.min[3].to_bits(), (-1e300f64).to_bits());
        assert_eq!(by_chunk.max[6], by_column.max[6]);
    }

    #[test]
    fn histogram_merge_is_exact_in_any_order() {
        let rows = sample_rows(30_000, 5);
        let layout = layout_for(&rows, 2_000);
        let mut whole = QuantileHistograms::new(layout.clone());
        rows.iter().for_each(|row| whole.insert_row(row));
        for parts in [1, 2, 7] {
            let mut hs = vec![QuantileHistograms::new(layout.clone()); parts];
            // Uneven, interleaved split.
            for (i, row) in rows.iter().enumerate() {
                hs[(i * i + i / 3) % parts].insert_row(row);
            }
            let mut forward = QuantileHistograms::new(layout.clone());
            hs.iter().for_each(|h| forward += h);
            let mut backward = QuantileHistograms::new(layout.clone());
            hs.iter().rev().for_each(|h| backward += h);
            let mut into_last = hs[parts - 1].clone();
            hs[..parts - 1].iter().for_each(|h| into_last += h);
            for merged in [&forward, &backward, &into_last] {
                assert_eq!(merged, &whole);
                for m in 0..N_DISTS {
                    let (a, b) = (merged.quantiles(m), whole.quantiles(m));
                    assert_eq!(a.values.map(f64::to_bits), b.values.map(f64::to_bits));
                    assert_eq!(a.max_rank_error.to_bits(), b.max_rank_error.to_bits());
                }
            }
        }
    }

    #[test]
    fn histogram_edge_cases() {
        // Metric 0 has no finite pilot value (one cell); metric 1 a single edge.
        let pilot = [f64::NAN, 1.0, f64::INFINITY, 1.0];
        let layout = Arc::new(QuantileLayout::from_pilot(&pilot, 2, 16));
        assert!(layout.edges(0).is_empty());
        assert_eq!(layout.edges(1), &[1.0]);
        let mut h = QuantileHistograms::new(layout);
        assert!(h.quantiles(0).values.iter().all(|v| v.is_nan()));
        for x in 0..=100 {
            h.insert_row(&[x as f64, if x < 50 { 1.0 } else { 2.0 }]);
        }
        let q0 = h.quantiles(0);
        assert!(q0.values.iter().all(|v| (0.0..=100.0).contains(v)));
        assert_eq!(q0.max_rank_error, 1.0);
        let q1 = h.quantiles(1);
        assert_eq!(q1.values[..2], [1.0, 1.0]);
        // Above the last edge: interpolated between it and the tracked max.
        assert!(q1.values[3..].iter().all(|v| *v > 1.0 && *v <= 2.0));
        // NaN counts above everything, and does not become the max.
        h.insert_row(&[f64::NAN, f64::NAN]);
        assert_eq!(h.count(1), 102);
        assert!(h.quantiles(1).values[4] <= 2.0);
    }

    #[test]
    fn sixteen_bit_counts_flush_before_they_overflow() {
        // Metric 0 is constant (every value in one atom cell), metric 1 has
        // a gap cell that takes most values: far more than u16::MAX each.
        let pilot: Vec<f64> = (0..1000).flat_map(|i| [7.0, i as f64]).collect();
        let layout = Arc::new(QuantileLayout::from_pilot(&pilot, 2, 1024));
        let n = 3 * u16::MAX as usize + 1_000;
        let constant = vec![7.0; n];
        let spread: Vec<f64> = (0..n).map(|i| (i % 1000) as f64).collect();
        // One histogram fed in chunk-sized columns, one in a single call,
        // one merged from two halves: the same counts, exactly.
        let mut chunked = QuantileHistograms::new(layout.clone());
        for (a, b) in constant.chunks(256).zip(spread.chunks(256)) {
            chunked.insert_column(0, a);
            chunked.insert_column(1, b);
        }
        let mut whole = QuantileHistograms::new(layout.clone());
        whole.insert_column(0, &constant);
        whole.insert_column(1, &spread);
        let (mut left, mut right) = (
            QuantileHistograms::new(layout.clone()),
            QuantileHistograms::new(layout),
        );
        let half = n / 2;
        left.insert_column(0, &constant[..half]);
        left.insert_column(1, &spread[..half]);
        right.insert_column(0, &constant[half..]);
        right.insert_column(1, &spread[half..]);
        left += &right;
        for h in [&chunked, &whole, &left] {
            assert_eq!(h.count(0), n as u64);
            assert_eq!(h.count(1), n as u64);
            assert_eq!(h.quantiles(0).values, [7.0; 5]);
        }
        assert!(chunked == whole && whole == left);
        // The median of 0..999 repeated: between 499 and 500.
        let median = whole.quantiles(1).values[2];
        assert!((498.0..=501.0).contains(&median), "{median}");
    }

    #[test]
    fn insert_column_equals_insert_row() {
        let rows = sample_rows(3_000, 10);
        let layout = layout_for(&rows, 1_000);
        let mut one_by_one = QuantileHistograms::new(layout.clone());
        rows.iter().for_each(|row| one_by_one.insert_row(row));
        // Batches of 37 paths, counted a column at a time (as the engine does).
        let mut batched = QuantileHistograms::new(layout);
        for batch in rows.chunks(37) {
            for m in 0..N_DISTS {
                let column: Vec<f64> = batch.iter().map(|row| row[m]).collect();
                batched.insert_column(m, &column);
            }
        }
        assert_eq!(batched, one_by_one);
    }

    #[test]
    fn column_lookup_matches_cell_of_on_awkward_values() {
        // Per distribution, a one-metric layout; probe with every edge, its
        // neighbours, non-finite values, signed zeros and random values, and
        // check the two-pass column count against the one-value lookup.
        let rows = sample_rows(20_000, 11);
        let mut r = rng(12);
        for m in 0..N_DISTS {
            let pilot: Vec<f64> = rows[..4_000].iter().map(|row| row[m]).collect();
            let layout = Arc::new(QuantileLayout::from_pilot(&pilot, 1, 1024));
            let ml = &layout.metrics[0];
            let edges = layout.edges(0).to_vec();
            let mut probes: Vec<f64> = rows.iter().map(|row| row[m]).collect();
            for &e in &edges {
                let b = e.to_bits();
                probes.extend([f64::from_bits(b.wrapping_sub(1)), e, f64::from_bits(b + 1)]);
            }
            probes.extend([f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 0.0, -0.0]);
            probes.extend((0..3_000).map(|_| 30.0 * normal(&mut r)));
            shuffle(&mut probes, &mut r);
            let mut by_column = QuantileHistograms::new(layout.clone());
            by_column.insert_column(0, &probes);
            let mut by_value = QuantileHistograms::new(layout.clone());
            for &x in &probes {
                let c = layout.cell_of(ml, x);
                by_value.tally(ml, 0, c, x);
            }
            assert_eq!(by_column, by_value, "distribution {m}");
        }
    }

    #[test]
    fn blocks_of_one_value_count_as_their_values_one_by_one() {
        // A block whose values are all the same bits takes one lookup. Per
        // distribution, columns of one value repeated (every edge and its
        // neighbours, each bound, non-finite values, signed zeros, values
        // past the ends), of lengths that make whole and partial blocks,
        // and a column that is constant but for its last value, must
        // count as the one-value lookup counts them.
        let rows = sample_rows(8_000, 13);
        for m in 0..N_DISTS {
            let pilot: Vec<f64> = rows[..4_000].iter().map(|row| row[m]).collect();
            let layout = Arc::new(QuantileLayout::from_pilot(&pilot, 1, 1024));
            let ml = &layout.metrics[0];
            let mut values = vec![f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 0.0, -0.0];
            values.extend(ml.bounds);
            values.extend([-1e300, 1e300]);
            for &e in layout.edges(0).iter().step_by(7) {
                let b = e.to_bits();
                values.extend([f64::from_bits(b.wrapping_sub(1)), e, f64::from_bits(b + 1)]);
            }
            let mut by_column = QuantileHistograms::new(layout.clone());
            let mut by_value = QuantileHistograms::new(layout.clone());
            for (i, &x) in values.iter().enumerate() {
                let len = [1, 255, 256, 300, 513][i % 5];
                let mut column = vec![x; len];
                if i % 3 == 0 {
                    *column.last_mut().unwrap() = values[(i + 1) % values.len()];
                }
                by_column.insert_column(0, &column);
                for &y in &column {
                    let c = layout.cell_of(ml, y);
                    by_value.tally(ml, 0, c, y);
                }
            }
            assert_eq!(by_column, by_value, "distribution {m}");
        }
    }

    /// Metrics without edges (no finite pilot value) have one cell. Two
    /// such metrics are aliases, and a chunk of the same values counted
    /// for one is counted for the other too: the record of what the first
    /// added must hold its count (it once held nothing, so the alias
    /// counted no value).
    #[test]
    fn metrics_without_edges_count_every_value_through_their_alias() {
        let pilot = vec![f64::NAN; 2 * 100];
        let layout = Arc::new(QuantileLayout::from_pilot(&pilot, 2, 1024));
        assert_eq!(layout.metrics[1].alias, Some(0));
        let mut by_chunk = QuantileHistograms::new(layout.clone());
        let mut by_row = QuantileHistograms::new(layout);
        let col = [1.0, -2.5, f64::NAN, 3.0, f64::INFINITY];
        by_chunk.insert_chunk(|_m| &col[..]);
        for &x in &col {
            by_row.insert_row(&[x, x]);
        }
        for m in 0..2 {
            assert_eq!(by_chunk.count(m), col.len() as u64, "metric {m}");
        }
        assert!(by_chunk == by_row);
    }
}
