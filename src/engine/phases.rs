//! The phases of a run: the pilot (kept whole), the histogram bins placed
//! from it, and the main phase that counts every other path in; a chunk's
//! paths simulated tile by tile and counted a batch at a time; the exact
//! merge of the chunks' aggregates ([`Partial`]); the progress bar and the
//! peak memory the summary reports.

use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rayon::prelude::*;

use super::drivers::{self, DRIVER_PATHS};
use super::layout::RowLayout;
use super::metrics;
use super::tile::Tile;
use super::{
    CHUNK_PATHS, COUNT_PATHS, Engine, HISTOGRAM_INTERVALS, PILOT_PATHS, TILE_PATHS, Worker,
    chunk_paths,
};
use crate::engine::worst::WorstK;
use crate::stats::{CellSums, ChunkMoments, Moments, QuantileHistograms, QuantileLayout};

/// Aggregates of a set of chunks. `+=` is exact (order-independent).
pub struct Partial {
    pub paths: u64,
    pub moments: Vec<Moments>,
    pub histograms: Option<QuantileHistograms>,
    /// Beside the histograms, the exact per-cell sums of each policy's NPV
    /// and terminal net reserve (their lower-tail means).
    pub tails: Option<CellSums>,
    /// Pilot phase only: each batch's quantile metrics (`COUNT_PATHS`
    /// paths, or the rest of a chunk), column-major (`[m * len + j]`), in
    /// path order.
    pub pilot: Vec<Vec<f64>>,
    /// Per policy, the lowest paths (empty when `RunOptions::worst` is 0).
    pub worst: Vec<WorstK>,
    /// The driver records of the chunks below `drivers::DRIVER_PATHS`, each
    /// with its chunk index (merged in any order; sorted when read).
    pub drivers: Vec<(u64, Vec<f64>)>,
    /// Time simulating paths (market and replays), all paths.
    pub time_simulate: Duration,
    /// Of the paths timed phase by phase (the first of each tile), the
    /// time sampling the market and replaying the policies: what splits
    /// `time_simulate` between the two.
    pub time_market_sampled: Duration,
    pub time_policy_sampled: Duration,
    pub time_aggregate: Duration,
}

impl Partial {
    fn new(layout: &RowLayout, histograms: Option<QuantileHistograms>, worst: usize) -> Partial {
        let tails = histograms
            .as_ref()
            .map(|h| CellSums::new(h.layout().clone(), tail_metrics(layout)));
        Partial {
            paths: 0,
            moments: vec![Moments::default(); layout.n_total],
            histograms,
            tails,
            pilot: Vec::new(),
            worst: WorstK::per_policy(layout.policies, worst),
            drivers: Vec::new(),
            time_simulate: Duration::ZERO,
            time_market_sampled: Duration::ZERO,
            time_policy_sampled: Duration::ZERO,
            time_aggregate: Duration::ZERO,
        }
    }

    /// A partial from stored aggregates (a shard's); the timings are zero.
    pub(super) fn from_parts(
        paths: u64,
        moments: Vec<Moments>,
        histograms: Option<QuantileHistograms>,
        tails: Option<CellSums>,
        pilot: Vec<Vec<f64>>,
        worst: Vec<WorstK>,
        drivers: Vec<(u64, Vec<f64>)>,
    ) -> Partial {
        Partial {
            paths,
            moments,
            histograms,
            tails,
            pilot,
            worst,
            drivers,
            time_simulate: Duration::ZERO,
            time_market_sampled: Duration::ZERO,
            time_policy_sampled: Duration::ZERO,
            time_aggregate: Duration::ZERO,
        }
    }

    pub(super) fn merge(mut self, other: Partial) -> Partial {
        self.paths += other.paths;
        for (a, b) in self.moments.iter_mut().zip(&other.moments) {
            *a += *b;
        }
        match (&mut self.histograms, &other.histograms) {
            (Some(a), Some(b)) => *a += b,
            (None, Some(_)) => self.histograms = other.histograms,
            _ => {}
        }
        match (&mut self.tails, &other.tails) {
            (Some(a), Some(b)) => *a += b,
            (None, Some(_)) => self.tails = other.tails,
            _ => {}
        }
        self.pilot.extend(other.pilot);
        for (a, b) in self.worst.iter_mut().zip(&other.worst) {
            *a += b;
        }
        self.drivers.extend(other.drivers);
        self.time_simulate += other.time_simulate;
        self.time_market_sampled += other.time_market_sampled;
        self.time_policy_sampled += other.time_policy_sampled;
        self.time_aggregate += other.time_aggregate;
        self
    }
}

impl Engine {
    /// Simulate chunk `c` (paths `c * CHUNK_PATHS ..`, clipped to `paths`) into `acc`.
    fn run_chunk(&self, w: &mut Worker, c: u64, paths: u64, keep_pilot: bool, acc: &mut Partial) {
        let range = chunk_paths(c, paths);
        let (first, last) = (range.start, range.end);
        let len = (last - first) as usize;
        // The columns go a batch of COUNT_PATHS paths at a time into the
        // pilot (kept whole) or the histograms (counted).
        let stride = COUNT_PATHS;
        let nq = self.layout.n_quantile;
        w.sum.fill(0.0);
        w.sum_sq.fill(0.0);
        let (n, l) = (self.layout.n_total, &self.layout);
        // The clock is read four times a tile, not per path: the tile's
        // start, its first path's market and replays (the sample that
        // splits the tile's simulation time between the two), the end of
        // its simulation and the end of its flush.
        let (policies, baseline) = (self.layout.policies, self.scenario.baseline);
        let mut drivers =
            (first < DRIVER_PATHS).then(|| Vec::with_capacity(len * drivers::record_len(policies)));
        let mut tile_start = Instant::now();
        for (j, path) in (first..last).enumerate() {
            // Rows are simulated into a tile of TILE_PATHS rows; a full
            // tile is added to the sums and transposed into `cols` one
            // cache line (TILE_PATHS values of a metric) at a time, instead
            // of 2,000 scattered stores and a pass over the sums a path.
            let r = j % TILE_PATHS;
            w.slot = r;
            if r == 0 {
                self.sample_market(w, path);
                let t1 = Instant::now();
                self.replay_policies(w);
                let t2 = Instant::now();
                acc.time_market_sampled += t1 - tile_start;
                acc.time_policy_sampled += t2 - t1;
            } else {
                self.simulate_path(w, path);
            }
            if let Some(out) = &mut drivers {
                drivers::record(w, policies, baseline, out);
            }
            if r + 1 == TILE_PATHS || j + 1 == len {
                let ta = Instant::now();
                acc.time_simulate += ta - tile_start;
                let tile = Tile {
                    rows: &w.tile[..(r + 1) * n],
                    n,
                    nq,
                    stride,
                };
                tile.flush(&mut w.sum, &mut w.sum_sq, &mut w.cols, (j - r) % stride);
                let first_path = path - r as u64;
                for (i, row) in tile.rows.chunks_exact(n).enumerate() {
                    for (p, worst) in acc.worst.iter_mut().enumerate() {
                        let (npv, terminal) = (
                            row[l.scalar(p, metrics::NPV)],
                            row[l.scalar(p, metrics::TERMINAL_NET_RESERVE)],
                        );
                        worst.push(npv, terminal, first_path + i as u64);
                    }
                }
                // A full batch (or the chunk's last) is counted now, while
                // its columns are in cache, or kept for the pilot.
                let batch = j % stride + 1;
                if batch == stride || j + 1 == len {
                    self.end_batch(w, batch, keep_pilot, acc);
                }
                tile_start = Instant::now();
                acc.time_aggregate += tile_start - ta;
            }
        }
        let ta = Instant::now();
        for ((moments, &sum), &sum_sq) in acc.moments.iter_mut().zip(&w.sum).zip(&w.sum_sq) {
            moments.absorb(&ChunkMoments {
                n: len as u64,
                sum,
                sum_sq,
            });
        }
        acc.paths += len as u64;
        if let Some(records) = drivers {
            acc.drivers.push((c, records));
        }
        acc.time_aggregate += ta.elapsed();
    }

    /// Counts the first `len` paths of the worker's columns into the
    /// histograms, if the run has them yet, and keeps them for the pilot if
    /// `keep_pilot`.
    fn end_batch(&self, w: &mut Worker, len: usize, keep_pilot: bool, acc: &mut Partial) {
        let (stride, nq) = (COUNT_PATHS, self.layout.n_quantile);
        let column = |m: usize| &w.cols[m * stride..m * stride + len];
        if let Some(h) = &mut acc.histograms {
            h.insert_chunk(column);
        }
        if let Some(tails) = &mut acc.tails {
            for k in 0..tails.metrics().len() {
                let m = tails.metrics()[k];
                tails.insert(k, column(m));
            }
        }
        if keep_pilot {
            if len == stride {
                // A full batch is kept as it is (the worker takes a fresh
                // buffer), not copied.
                let fresh = vec![0.0; nq * stride];
                acc.pilot.push(std::mem::replace(&mut w.cols, fresh));
            } else {
                let mut pilot = Vec::with_capacity(nq * len);
                for m in 0..nq {
                    pilot.extend_from_slice(column(m));
                }
                acc.pilot.push(pilot);
            }
        }
    }

    /// The pilot, the bins and the main phase of a run of `paths` paths,
    /// on the current thread pool, for the chunks in `owned` (all of them
    /// for a whole run; a shard's share otherwise): their aggregates,
    /// merged, and when the phases ended. A run past the pilot simulates
    /// every pilot chunk, owned or not, because the bins are placed from
    /// all of them; only the owned ones are counted.
    pub(super) fn run_phases(
        &self,
        paths: u64,
        worst: usize,
        bar: &indicatif::ProgressBar,
        owned: Range<u64>,
    ) -> (Partial, PhaseEnds) {
        let n_chunks = paths.div_ceil(CHUNK_PATHS);
        let owned = owned.start.min(n_chunks)..owned.end.min(n_chunks);
        // Phase 1: the pilot, kept whole, in path order.
        let pilot_paths = paths.min(PILOT_PATHS);
        let pilot_chunks = pilot_paths.div_ceil(CHUNK_PATHS);
        let past_pilot = paths > PILOT_PATHS;
        let simulated = if past_pilot {
            0..pilot_chunks
        } else {
            owned.clone()
        };
        let parts: Vec<(u64, Partial)> = simulated
            .into_par_iter()
            .map_init(
                || self.worker(),
                |w, c| {
                    let mut acc = Partial::new(&self.layout, None, worst);
                    self.run_chunk(w, c, paths, true, &mut acc);
                    bar.inc(1);
                    (c, acc)
                },
            )
            .collect();
        let mut ends = PhaseEnds {
            pilot: Instant::now(),
            bins: None,
        };
        if !past_pilot {
            return (merge_all(&self.layout, worst, parts), ends);
        }
        // Phase 2: bins from the pilot, then every other path counted in.
        let mut pilot = self.count_pilot(parts, &owned, worst);
        let qlayout = pilot.histograms.as_ref().expect("placed").layout().clone();
        ends.bins = Some(Instant::now());
        pilot.pilot = Vec::new();
        let main = pilot_chunks.max(owned.start)..owned.end;
        // The other chunks on every thread, each into its own aggregates,
        // merged exactly at the end.
        let rest = each_chunk(
            main,
            || {
                let acc = Partial::new(
                    &self.layout,
                    Some(QuantileHistograms::new(qlayout.clone())),
                    worst,
                );
                (self.worker(), acc)
            },
            |(w, acc), c| {
                self.run_chunk(w, c, paths, false, acc);
                bar.inc(1);
            },
        )
        .into_iter()
        .map(|(_, acc)| acc)
        .reduce(Partial::merge);
        let total = match rest {
            Some(rest) => pilot.merge(rest),
            None => pilot,
        };
        (total, ends)
    }
}

impl Engine {
    /// The owned chunks of the pilot (`parts`: every pilot chunk, in chunk
    /// order), merged and counted on bins placed from all of them, with
    /// their tail sums.
    fn count_pilot(
        &self,
        mut parts: Vec<(u64, Partial)>,
        owned: &Range<u64>,
        worst: usize,
    ) -> Partial {
        let nq = self.layout.n_quantile;
        let (mut pilot, hist) = if parts.iter().all(|(c, _)| owned.contains(c)) {
            // Each metric's pilot is counted on its bins as they are
            // placed, while its column is still in cache.
            let pilot = merge_all(&self.layout, worst, parts);
            let hist = QuantileLayout::counted_from_column_fn(nq, HISTOGRAM_INTERVALS, |m| {
                pilot_column(&pilot.pilot, nq, m)
            });
            (pilot, hist)
        } else {
            // A shard: the bins from every pilot chunk, the counts from its own.
            let all: Vec<&Vec<f64>> = parts.iter().flat_map(|(_, p)| &p.pilot).collect();
            let layout = QuantileLayout::from_column_fn(nq, HISTOGRAM_INTERVALS, |m| {
                pilot_column(all.iter().copied(), nq, m)
            });
            parts.retain(|(c, _)| owned.contains(c));
            let pilot = merge_all(&self.layout, worst, parts);
            let mut hist = QuantileHistograms::new(Arc::new(layout));
            for batch in &pilot.pilot {
                let len = batch.len() / nq;
                hist.insert_chunk(|m| &batch[m * len..(m + 1) * len]);
            }
            (pilot, hist)
        };
        let mut tails = CellSums::new(hist.layout().clone(), tail_metrics(&self.layout));
        for k in 0..tails.metrics().len() {
            let m = tails.metrics()[k];
            tails.insert(k, &pilot_column(&pilot.pilot, nq, m));
        }
        pilot.histograms = Some(hist);
        pilot.tails = Some(tails);
        pilot
    }
}

/// `parts` merged, in order, into one partial.
fn merge_all(layout: &RowLayout, worst: usize, parts: Vec<(u64, Partial)>) -> Partial {
    parts
        .into_iter()
        .map(|(_, p)| p)
        .fold(Partial::new(layout, None, worst), Partial::merge)
}

/// The metrics whose lower-tail mean is reported: each policy's NPV and
/// terminal net reserve, in that order.
pub(super) fn tail_metrics(l: &RowLayout) -> Vec<usize> {
    (0..l.policies)
        .flat_map(|p| {
            [
                l.scalar(p, metrics::NPV),
                l.scalar(p, metrics::TERMINAL_NET_RESERVE),
            ]
        })
        .collect()
}

/// Chunks `chunks` on every thread of the current pool: each thread takes
/// the next chunk as it finishes one (so the threads end within a chunk of
/// each other), into its own state made by `init`; the states, one per
/// thread. What a chunk adds to a state must merge exactly (fixed-point
/// moments, counts), so that the result does not depend on which thread
/// ran which chunk.
pub(super) fn each_chunk<S: Send>(
    chunks: std::ops::Range<u64>,
    init: impl Fn() -> S + Sync,
    chunk: impl Fn(&mut S, u64) + Sync,
) -> Vec<S> {
    let next = AtomicU64::new(chunks.start);
    rayon::broadcast(|_| {
        let mut state = init();
        loop {
            let c = next.fetch_add(1, Ordering::Relaxed);
            if c >= chunks.end {
                break;
            }
            chunk(&mut state, c);
        }
        state
    })
}

/// When the phases of a run ended: the pilot, and the bins if the run
/// went past the pilot.
pub(super) struct PhaseEnds {
    pub(super) pilot: Instant,
    pub(super) bins: Option<Instant>,
}

/// Metric `m` of every pilot path, in path order, gathered from the pilot's
/// batches (`chunks`, each column-major over `n_metrics` metrics).
pub(super) fn pilot_column<'a>(
    chunks: impl IntoIterator<Item = &'a Vec<f64>> + Clone,
    n_metrics: usize,
    m: usize,
) -> Vec<f64> {
    let len: usize = chunks
        .clone()
        .into_iter()
        .map(|c| c.len() / n_metrics)
        .sum();
    let mut out = Vec::with_capacity(len);
    for chunk in chunks {
        let len = chunk.len() / n_metrics;
        out.extend_from_slice(&chunk[m * len..(m + 1) * len]);
    }
    out
}

pub(super) fn progress_bar(show: bool, chunks: u64) -> indicatif::ProgressBar {
    if !show {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(chunks),
        indicatif::ProgressDrawTarget::stderr(),
    );
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{spinner} simulating [{bar:40}] {percent:>3}%  {elapsed_precise} (eta {eta})",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// Peak resident set size of this process, MiB (Linux `VmHWM`; 0 elsewhere).
pub fn peak_memory_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::RunOptions;
    use crate::engine::tests::reference;

    /// After the pilot, every path is counted once, whatever chunk and
    /// batch it falls in: a run's histograms are those of every path's row
    /// counted one at a time on the same bins. Past the pilot: two full
    /// chunks, then a last one of a full batch and part of another.
    #[test]
    fn every_path_is_counted_once_on_the_bins() {
        let mut sc = reference("smoke");
        let paths = PILOT_PATHS + 2 * CHUNK_PATHS + COUNT_PATHS as u64 + 29;
        sc.simulation.paths = paths;
        let engine = Engine::new(sc);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        let bar = indicatif::ProgressBar::hidden();
        let n_chunks = paths.div_ceil(CHUNK_PATHS);
        let (total, _) = pool.install(|| engine.run_phases(paths, 0, &bar, 0..n_chunks));
        assert_eq!(total.paths, paths);
        let run = total
            .histograms
            .expect("a run past the pilot has histograms");
        let mut want = QuantileHistograms::new(run.layout().clone());
        let mut w = engine.worker();
        let nq = engine.layout.n_quantile;
        for path in 0..paths {
            engine.simulate_path(&mut w, path);
            want.insert_row(&w.row()[..nq]);
        }
        for m in 0..nq {
            assert_eq!(run.count(m), paths, "metric {m}");
        }
        assert!(run == want, "the run's histograms differ from the rows'");
    }

    /// The phases of a run are recorded in order and do not overlap: a run
    /// past the pilot has all four, within the run's elapsed time; a run of
    /// the pilot alone has no bins or main phase.
    #[test]
    fn phases_are_timed_in_order() {
        for (paths, past_pilot) in [(PILOT_PATHS + 2 * CHUNK_PATHS, true), (500, false)] {
            let mut sc = reference("smoke");
            sc.simulation.paths = paths;
            let summary = Engine::new(sc).run(&RunOptions {
                threads: 2,
                progress: false,
                worst: 0,
            });
            let ph = summary.performance.phases;
            let total = ph.pilot_s + ph.bins_s + ph.main_s + ph.summary_s;
            assert!(ph.pilot_s > 0.0 && ph.summary_s > 0.0, "{ph:?}");
            assert_eq!(ph.bins_s > 0.0 && ph.main_s > 0.0, past_pilot, "{ph:?}");
            assert!(
                total <= summary.elapsed_s,
                "{ph:?} vs {}",
                summary.elapsed_s
            );
        }
    }
}
