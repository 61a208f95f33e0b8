//! Mergeable statistics: exact moments and bounded-memory percentiles.
//!
//! The simulator runs up to millions of paths in parallel and reports, per
//! metric, the mean, its standard error and the 5/25/50/75/95th percentiles.
//! Rows are never stored: every aggregate here has a fixed size and merges
//! with `+=`. Two decisions a newcomer would otherwise question:
//!
//! **Fixed point for the moments.** Floating-point addition is not
//! associative, so summing f64 partial results in whatever order rayon
//! happens to split the work would make the last bits depend on the thread
//! count. Instead, each fixed-size chunk of paths is summed in f64 by one
//! thread in path order ([`ChunkMoments`], deterministic), then rounded to a
//! multiple of 2^-20 and added as an `i128` ([`Moments`]). Integer addition is
//! exactly associative and commutative, so 1 thread and N threads, and any
//! rayon split, give the same bytes.
//!
//! **A pilot for the percentiles.** Exact percentiles need all values; a
//! histogram needs bin edges known in advance. We run a pilot (a few thousand
//! paths, kept in memory) and put the edges at the pilot's own quantiles
//! ([`QuantileLayout::from_pilot`]), every `1/intervals` of the mass, but only
//! within a few of the pilot's standard errors of the five reported
//! percentiles ([`WINDOW_STANDARD_ERRORS`]): only those
//! ranks are ever read, and a small histogram stays in cache. Each bin then
//! holds about `1/intervals` of the mass whatever the shape of the
//! distribution (skewed, heavy-tailed, with point masses). A percentile read
//! from the histogram is off by at most the mass of the bin it falls in,
//! which the histogram knows exactly, so the rank error is bounded *and
//! measured* ([`Quantiles::max_rank_error`]) rather than assumed. Counts are
//! integers, so merging is exact here too. Values equal to an edge are
//! counted in an "atom" cell of their own, so point masses (a metric that is
//! 0 on most paths) come out exact.
//!
//! The files: `moments.rs` (the moments), `layout.rs` (where the bins go),
//! `histograms.rs` (the counts and the percentiles read from them),
//! `count.rs` (the column count's kernels, each beside its portable
//! definition), `order.rs` (exact order statistics and the worst paths),
//! `select.rs` (the selection the pilot's ranks use), `tails.rs` (exact
//! per-cell sums beside the histograms, for lower-tail means), `persist.rs`
//! (the aggregates as data, for a shard of a run).
//!
//! Statistics of values kept in memory, for the drivers of a paired
//! difference and its tail: `drivers.rs` (standardised OLS, Spearman rank
//! correlation, LMG shares of R^2, decile-bin means), `regress.rs` (the
//! least squares behind them, in correlation form) and `cvar.rs` (the mean
//! of the worst alpha share, exact or bounded from per-bin sums).

pub mod cvar;
pub mod drivers;
pub mod regress;
pub mod select;

mod count;
mod histograms;
mod layout;
mod moments;
mod order;
mod persist;
mod tails;

pub use cvar::{BinSum, cvar_lower_exact, cvar_lower_from_bins};
pub use drivers::{Analysis, ColumnAnalysis, analyse};
pub use histograms::{QuantileHistograms, Quantiles};
pub use layout::{MAX_WINDOW, QuantileLayout, WINDOW_STANDARD_ERRORS, edge_ranks};
pub use moments::{ChunkMoments, FIXED_POINT_BITS, Moments};
pub(crate) use order::total_order_key;
pub use order::{LowestK, exact_quantiles, sort_ranks};
pub use persist::{CellSumsData, HistogramCounts};
pub use tails::CellSums;

/// The percentiles reported for every metric, as fractions: 5, 25, 50, 75, 95.
pub const PERCENTILES: [f64; 5] = [0.05, 0.25, 0.50, 0.75, 0.95];

#[cfg(test)]
mod testdata;
