//! The Monte Carlo engine: paths in parallel, every policy on the same market
//! path, results merged exactly.
//!
//! Determinism is structural. Path i draws only from generators keyed by
//! (seed, i), so it is the same path in every run. Paths are grouped in fixed
//! chunks of [`CHUNK_PATHS`] (by path index, never by thread); a chunk's sums
//! are taken in path order, then folded into fixed-point accumulators whose
//! `+=` is exact, and percentile histograms count integers. So any split of
//! the chunks over threads gives the same bytes.
//!
//! Percentiles: the first [`PILOT_PATHS`] paths are kept whole. If the run
//! has no more paths than that, percentiles are exact. Otherwise each metric
//! gets histogram bins at the pilot's quantiles, every path is counted into
//! them, and the rank error of each reported percentile is measured and
//! reported (`percentiles.max_rank_error`).
//!
//! This file owns the [`Engine`], its [`Worker`]s and [`RunOptions`], and
//! the entry points: [`Engine::run`], [`Engine::simulate_path`] (one path's
//! market and policy replays into a row) and [`Engine::path_values`]. The
//! metrics are declared once in [`metrics`]; where each sits in a row is
//! `layout`; a tile of rows into the chunk's sums
//! and columns, `tile`; the pilot, bins and main phase, `phases`; the
//! aggregates into a [`Summary`], `summarise`. The worst paths and the
//! replay ledger are [`worst`] and [`ledger`].

use std::time::Instant;

pub mod drivers;
mod layout;
pub mod ledger;
pub mod metrics;
mod phases;
pub mod replay;
pub mod shard;
mod summarise;
pub mod sweep;
mod tile;
pub mod worst;

pub use layout::RowLayout;
pub use phases::{Partial, peak_memory_mib};

use crate::model::market::{MarketModel, MarketPath};
use crate::model::mining::MiningTable;
use crate::scenario::Scenario;
use crate::sim::{Model, PathReplays};
use crate::summary::{Phases, Summary};
use layout::{write_market, write_outcome};
use metrics::{DISTRESS, FIRST_DISTRESS, LIQUIDATION, MARGIN_CALL, NPV, TERMINAL_NET_RESERVE};
use phases::progress_bar;

/// Paths per chunk: the unit of work and of floating-point summation.
pub const CHUNK_PATHS: u64 = 256;

/// The paths of chunk `c` of a run of `paths` paths: `c * CHUNK_PATHS ..`,
/// clipped to `paths`.
fn chunk_paths(c: u64, paths: u64) -> std::ops::Range<u64> {
    let first = c * CHUNK_PATHS;
    first..(first + CHUNK_PATHS).min(paths)
}
/// Paths per tile in the transposition of rows into chunk columns: 8 f64
/// are one 64-byte cache line of a column.
const TILE_PATHS: usize = 8;
const _: () = assert!((CHUNK_PATHS as usize).is_multiple_of(TILE_PATHS));
/// Paths whose columns are written before they are counted into the
/// histograms (or kept for the pilot): a divisor of CHUNK_PATHS and a
/// multiple of TILE_PATHS. The columns of a batch (2,000 metrics x 64
/// paths, 1 MB on the reference run) stay in the core's L2 cache between
/// the tile flushes that write them and the count that reads them; a whole
/// chunk's (4 MB) went out to L3 and back. 64 and 128 paths run equally
/// fast on a core with 2 MiB of L2; 64 also fits one with 1 MiB. Counting
/// is exact and order-free, so the batch size changes no result.
const COUNT_PATHS: usize = 64;
const _: () = assert!(
    (CHUNK_PATHS as usize).is_multiple_of(COUNT_PATHS) && COUNT_PATHS.is_multiple_of(TILE_PATHS)
);
/// Paths kept whole to place the histogram bins (a multiple of CHUNK_PATHS).
pub const PILOT_PATHS: u64 = 8192;
/// Histogram intervals per metric (about 8 pilot values each).
pub const HISTOGRAM_INTERVALS: usize = 1024;

/// How to run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Worker threads; 0 = all cores.
    pub threads: usize,
    /// Show a progress bar on stderr (drawn only when stderr is a terminal).
    pub progress: bool,
    /// Keep, per policy, the paths with the `worst` lowest NPVs and terminal
    /// net reserves (`Summary::worst_paths`); 0 = off.
    pub worst: usize,
}

/// One policy's figures on one path, as the engine recorded them in the
/// path's row (see [`Engine::path_values`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PathValues {
    pub npv_usd: f64,
    pub terminal_net_reserve_usd: f64,
    pub margin_call: bool,
    pub liquidation: bool,
    pub first_distress_month: Option<usize>,
}

/// Everything path-independent, built once per run.
pub struct Engine {
    pub scenario: Scenario,
    pub model: Model,
    pub market: MarketModel,
    pub layout: RowLayout,
}

/// One worker's reusable buffers.
pub struct Worker {
    pub market: MarketPath,
    pub table: MiningTable,
    /// Every policy's replay of the current path.
    pub replays: PathReplays,
    /// The current batch's percentile metrics, column-major: `cols[m *
    /// COUNT_PATHS + j]` is metric m of the batch's path j (a batch is
    /// COUNT_PATHS paths of a chunk). Counting a column at a time keeps
    /// each metric's histogram in cache.
    cols: Vec<f64>,
    /// The current chunk's f64 sums and sums of squares of every metric,
    /// taken in path order (so their bits do not depend on the threads).
    sum: Vec<f64>,
    sum_sq: Vec<f64>,
    /// The last few paths' rows (`[r * n_total + m]`): the chunk's path j
    /// is simulated into row `j % TILE_PATHS`, whose percentile metrics
    /// go on into `cols` when the tile is full.
    tile: Vec<f64>,
    /// The tile row [`Engine::simulate_path`] fills next.
    slot: usize,
}

impl Worker {
    /// The row [`Engine::simulate_path`] filled last: every metric of the
    /// path, the first [`RowLayout::n_quantile`] of them the ones with
    /// percentiles.
    pub fn row(&self) -> &[f64] {
        let n = self.tile.len() / TILE_PATHS;
        &self.tile[self.slot * n..(self.slot + 1) * n]
    }
}

impl Engine {
    pub fn new(scenario: Scenario) -> Engine {
        let model = Model::new(&scenario);
        let market = MarketModel::new(&scenario.market, &model.calendar);
        let layout = RowLayout::new(model.months(), scenario.policies.len());
        Engine {
            scenario,
            model,
            market,
            layout,
        }
    }

    pub fn worker(&self) -> Worker {
        Worker {
            market: MarketPath::with_months(self.model.months()),
            table: MiningTable::default(),
            replays: PathReplays::default(),
            cols: vec![0.0; COUNT_PATHS * self.layout.n_quantile],
            sum: vec![0.0; self.layout.n_total],
            sum_sq: vec![0.0; self.layout.n_total],
            tile: vec![0.0; TILE_PATHS * self.layout.n_total],
            slot: 0,
        }
    }

    /// Simulate path `path`: sample its market, replay every policy, fill
    /// the worker's current row (`Worker::row`).
    pub fn simulate_path(&self, w: &mut Worker, path: u64) {
        self.sample_market(w, path);
        self.replay_policies(w);
    }

    /// Path `path`'s market and mining table, into the worker.
    fn sample_market(&self, w: &mut Worker, path: u64) {
        self.sample_market_into(path, &mut w.market, &mut w.table);
    }

    /// Path `path`'s market, sampled with the scenario's seed, and its
    /// mining table, into the buffers given.
    fn sample_market_into(&self, path: u64, market: &mut MarketPath, table: &mut MiningTable) {
        let seed = self.scenario.simulation.seed;
        self.market.sample(seed, path, market);
        table.fill(&self.model.fleet, &self.model.calendar, market);
    }

    /// Replays every policy on the worker's market and fills its current
    /// row (the market's series too).
    fn replay_policies(&self, w: &mut Worker) {
        let l = &self.layout;
        let n = l.n_total;
        let row = &mut w.tile[w.slot * n..(w.slot + 1) * n];
        write_market(l, &w.market, row);
        self.model
            .replay_policies(&w.market, &w.table, &mut w.replays);
        // Every policy paired with the baseline, and against the best
        // policy on the path.
        let base = w.replays.outcome(self.scenario.baseline);
        let best_npv_usd = (0..l.policies)
            .map(|p| w.replays.outcome(p).npv_usd)
            .fold(f64::NEG_INFINITY, f64::max);
        for p in 0..l.policies {
            write_outcome(l, p, w.replays.outcome(p), base, best_npv_usd, row);
        }
    }

    /// Policy `p`'s figures in the row that [`Engine::simulate_path`] filled.
    pub fn path_values(&self, w: &Worker, p: usize) -> PathValues {
        let l = &self.layout;
        let row = w.row();
        let distress = row[l.scalar(p, DISTRESS)] > 0.0;
        PathValues {
            npv_usd: row[l.scalar(p, NPV)],
            terminal_net_reserve_usd: row[l.scalar(p, TERMINAL_NET_RESERVE)],
            margin_call: row[l.scalar(p, MARGIN_CALL)] > 0.0,
            liquidation: row[l.scalar(p, LIQUIDATION)] > 0.0,
            first_distress_month: distress.then(|| row[l.scalar(p, FIRST_DISTRESS)] as usize),
        }
    }

    /// Run the scenario's paths and summarise them.
    pub fn run(&self, opts: &RunOptions) -> Summary {
        let n_chunks = self.scenario.simulation.paths.div_ceil(CHUNK_PATHS);
        let (total, sim) = self.simulate(opts, 0..n_chunks);
        // Percentiles are computed on the run's own threads, and their time
        // counts in the run's.
        sim.pool.install(|| {
            self.summarise(
                total,
                sim.threads,
                sim.started,
                sim.run_started_utc,
                sim.phases,
            )
        })
    }

    /// Simulate the chunks in `owned` (with the pilot a run past it
    /// needs) on a pool of `opts.threads`: their aggregates, and how the
    /// simulation went.
    fn simulate(&self, opts: &RunOptions, owned: std::ops::Range<u64>) -> (Partial, Simulated) {
        let started = Instant::now();
        let run_started_utc = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(opts.threads)
            .build()
            .expect("thread pool");
        let threads = pool.current_num_threads();
        let paths = self.scenario.simulation.paths;
        let bar = progress_bar(opts.progress, owned.end.saturating_sub(owned.start));
        let (total, ends) = pool.install(|| self.run_phases(paths, opts.worst, &bar, owned));
        let main_end = Instant::now();
        bar.finish_and_clear();
        let (pilot_end, bins_end) = (ends.pilot, ends.bins.unwrap_or(ends.pilot));
        let phases = Phases {
            pilot_s: (pilot_end - started).as_secs_f64(),
            bins_s: (bins_end - pilot_end).as_secs_f64(),
            main_s: (main_end - bins_end).as_secs_f64(),
            summary_s: 0.0, // set by `summarise`, which times itself
        };
        let sim = Simulated {
            pool,
            threads,
            started,
            run_started_utc,
            phases,
        };
        (total, sim)
    }
}

/// How a simulation went: its pool, when it started, its phases' times.
struct Simulated {
    pool: rayon::ThreadPool,
    threads: usize,
    started: Instant,
    run_started_utc: String,
    phases: Phases,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reference scenario.
    pub(super) fn reference(name: &str) -> Scenario {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
        crate::scenario::load(&dir.join(format!("{name}.toml"))).unwrap()
    }
}
