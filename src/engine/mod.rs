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

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rayon::prelude::*;

pub mod ledger;
pub mod worst;

use crate::engine::worst::WorstK;
use crate::model::market::{MarketModel, MarketPath};
use crate::model::mining::MiningTable;
use crate::scenario::Scenario;
use crate::sim::{Carry, Model, PolicyOutcome, Scratch, Start, TreasuryState};
use crate::stats::{ChunkMoments, Moments, QuantileHistograms, QuantileLayout, exact_quantiles};
use crate::summary::{
    MarketMonth, MarketSummary, Mean, MeanSe, PercentileInfo, Performance, Phases, PolicyMonth,
    PolicySummary, Stats, Summary,
};

/// Paths per chunk: the unit of work and of floating-point summation.
pub const CHUNK_PATHS: u64 = 256;
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

/// Market series reported per month.
const MARKET_SERIES: usize = 5;
/// Policy series with percentiles, per month.
const POLICY_SERIES: usize = 7;
/// Per-path scalars with percentiles, per policy.
const POLICY_SCALARS: usize = 6;
/// MW series (means only), per month.
const MW_SERIES: usize = 4;
/// Per-path values with means only, per policy.
const POLICY_FLAGS: usize = 7;

/// Where each metric sits in a path's row. The first `n_quantile` metrics
/// get percentiles; the rest only means.
#[derive(Debug, Clone, Copy)]
pub struct RowLayout {
    pub months: usize,
    pub policies: usize,
    pub n_quantile: usize,
    pub n_total: usize,
}

impl RowLayout {
    pub fn new(months: usize, policies: usize) -> RowLayout {
        let n_quantile =
            MARKET_SERIES * months + policies * (POLICY_SERIES * months + POLICY_SCALARS);
        let n_total = n_quantile + policies * (MW_SERIES * months + POLICY_FLAGS);
        RowLayout {
            months,
            policies,
            n_quantile,
            n_total,
        }
    }
    fn market(&self, k: usize, t: usize) -> usize {
        k * self.months + t
    }
    fn policy_base(&self, p: usize) -> usize {
        MARKET_SERIES * self.months + p * (POLICY_SERIES * self.months + POLICY_SCALARS)
    }
    fn policy_month(&self, p: usize, k: usize, t: usize) -> usize {
        self.policy_base(p) + k * self.months + t
    }
    fn policy_scalar(&self, p: usize, k: usize) -> usize {
        self.policy_base(p) + POLICY_SERIES * self.months + k
    }
    fn mean_base(&self, p: usize) -> usize {
        self.n_quantile + p * (MW_SERIES * self.months + POLICY_FLAGS)
    }
    fn policy_mw(&self, p: usize, k: usize, t: usize) -> usize {
        self.mean_base(p) + k * self.months + t
    }
    fn policy_flag(&self, p: usize, k: usize) -> usize {
        self.mean_base(p) + MW_SERIES * self.months + k
    }
}

// Indices of the per-path flags (means only).
const FLAG_CONVERSIONS: usize = 0;
const FLAG_MARGIN_CALL: usize = 1;
const FLAG_LIQUIDATION: usize = 2;
const FLAG_DISTRESS: usize = 3;
const FLAG_FIRST_DISTRESS: usize = 4;
const FLAG_NPV_DIFF: usize = 5;
const FLAG_TERMINAL_DIFF: usize = 6;

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
    /// The first passive policy (`hold`), if the scenario has one.
    passive: Option<usize>,
    /// Copy the passive policy's figures to the policies that never start a
    /// conversion on a path instead of replaying them (the same bits; off
    /// only in the test that checks it).
    skip_passive_copies: bool,
}

/// One worker's reusable buffers.
pub struct Worker {
    pub market: MarketPath,
    pub table: MiningTable,
    pub scratch: Scratch,
    pub outcome: PolicyOutcome,
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
    /// Per month, the treasury the passive policy saw in step 1 of the
    /// current path (see [`Model::first_start`]).
    seen: Vec<TreasuryState>,
    /// Per month, the passive replay's state at its start, from which the
    /// replays of memoryless policies resume at their first conversion.
    carries: Vec<Carry>,
    /// Per policy, the current path's NPV and terminal net reserve.
    npv_terminal: Vec<(f64, f64)>,
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

/// Aggregates of a set of chunks. `+=` is exact (order-independent).
pub struct Partial {
    pub paths: u64,
    pub moments: Vec<Moments>,
    pub histograms: Option<QuantileHistograms>,
    /// Pilot phase only: each batch's quantile metrics (`COUNT_PATHS`
    /// paths, or the rest of a chunk), column-major (`[m * len + j]`), in
    /// path order.
    pub pilot: Vec<Vec<f64>>,
    /// Per policy, the lowest paths (empty when `RunOptions::worst` is 0).
    pub worst: Vec<WorstK>,
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
        Partial {
            paths: 0,
            moments: vec![Moments::default(); layout.n_total],
            histograms,
            pilot: Vec::new(),
            worst: WorstK::per_policy(layout.policies, worst),
            time_simulate: Duration::ZERO,
            time_market_sampled: Duration::ZERO,
            time_policy_sampled: Duration::ZERO,
            time_aggregate: Duration::ZERO,
        }
    }

    fn merge(mut self, other: Partial) -> Partial {
        self.paths += other.paths;
        for (a, b) in self.moments.iter_mut().zip(&other.moments) {
            *a += *b;
        }
        match (&mut self.histograms, &other.histograms) {
            (Some(a), Some(b)) => *a += b,
            (None, Some(_)) => self.histograms = other.histograms,
            _ => {}
        }
        self.pilot.extend(other.pilot);
        for (a, b) in self.worst.iter_mut().zip(&other.worst) {
            *a += b;
        }
        self.time_simulate += other.time_simulate;
        self.time_market_sampled += other.time_market_sampled;
        self.time_policy_sampled += other.time_policy_sampled;
        self.time_aggregate += other.time_aggregate;
        self
    }
}

impl Engine {
    pub fn new(scenario: Scenario) -> Engine {
        let model = Model::new(&scenario);
        let market = MarketModel::new(&scenario.market, &model.calendar);
        let layout = RowLayout::new(model.months(), scenario.policies.len());
        let passive = (0..layout.policies).find(|&p| model.is_passive(p));
        Engine {
            scenario,
            model,
            market,
            layout,
            passive,
            skip_passive_copies: true,
        }
    }

    pub fn worker(&self) -> Worker {
        Worker {
            market: MarketPath::with_months(self.model.months()),
            table: MiningTable::default(),
            scratch: Scratch::default(),
            outcome: PolicyOutcome::default(),
            cols: vec![0.0; COUNT_PATHS * self.layout.n_quantile],
            sum: vec![0.0; self.layout.n_total],
            sum_sq: vec![0.0; self.layout.n_total],
            tile: vec![0.0; TILE_PATHS * self.layout.n_total],
            slot: 0,
            seen: vec![TreasuryState::default(); self.model.months()],
            carries: Vec::with_capacity(self.model.months()),
            npv_terminal: vec![(0.0, 0.0); self.layout.policies],
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
        let seed = self.scenario.simulation.seed;
        self.market.sample(seed, path, &mut w.market);
        w.table
            .fill(&self.model.fleet, &self.model.calendar, &w.market);
    }

    /// Replays every policy on the worker's market and fills its current
    /// row (the market's series too).
    fn replay_policies(&self, w: &mut Worker) {
        let l = &self.layout;
        let months = l.months;
        let n = l.n_total;
        let row = &mut w.tile[w.slot * n..(w.slot + 1) * n];
        // Whole series at a time: slice copies, no per-element index checks.
        row[l.market(0, 0)..][..months].copy_from_slice(&w.market.btc_price_usd[..months]);
        row[l.market(1, 0)..][..months].copy_from_slice(&w.market.hashrate_ehs[..months]);
        for (x, &h) in row[l.market(2, 0)..][..months]
            .iter_mut()
            .zip(&w.market.hashprice_usd_per_eh_day[..months])
        {
            *x = h / 1000.0;
        }
        row[l.market(3, 0)..][..months].copy_from_slice(&w.market.gpu_hour_usd[..months]);
        row[l.market(4, 0)..][..months].copy_from_slice(&w.market.ai_demand_mw[..months]);
        // The passive policy first: a policy that never starts a conversion
        // on this path has its replay, month for month, and is not replayed.
        let passive = self.passive.filter(|_| self.skip_passive_copies);
        let order = passive
            .into_iter()
            .chain((0..l.policies).filter(|&p| Some(p) != passive));
        for p in order {
            // The months before the policy's first conversion are the
            // passive replay's: all of them if it never starts one (copied,
            // not replayed), else, for a policy without memory between
            // months, those before its first start (its replay resumes there).
            let first = passive.filter(|&q| q != p).map(|q| {
                let first = self
                    .model
                    .first_start(p, &w.market, &w.table, &w.seen, &mut w.scratch);
                (q, first)
            });
            let first_month = match first {
                Some((q, None)) => {
                    // Never starts one: the passive figures, copied.
                    let per_policy = POLICY_SERIES * months + POLICY_SCALARS;
                    let from = l.policy_base(q);
                    row.copy_within(from..from + per_policy, l.policy_base(p));
                    let per_policy = MW_SERIES * months + POLICY_FLAGS;
                    let from = l.mean_base(q);
                    row.copy_within(from..from + per_policy, l.mean_base(p));
                    w.npv_terminal[p] = w.npv_terminal[q];
                    continue;
                }
                Some((_, Some(t0))) if self.model.policies[p].memoryless() => t0,
                _ => 0,
            };
            let o = &mut w.outcome;
            let seen = &mut w.seen;
            let record = Some(p) == passive;
            let start = match passive {
                Some(q) if p == q => Start::Recording(&mut w.carries),
                Some(_) if first_month > 0 => Start::Resume(first_month, &w.carries[first_month]),
                _ => Start::Beginning,
            };
            self.model
                .replay_from(p, &w.market, &w.table, &mut w.scratch, o, start, |rec| {
                    if record {
                        seen[rec.t] = *rec.seen;
                    }
                });
            w.npv_terminal[p] = (o.npv_usd, o.terminal_net_reserve_usd);
            if let Some(q) = passive.filter(|_| first_month > 0) {
                // The months before the first start: the passive policy's.
                for k in 0..POLICY_SERIES {
                    let from = l.policy_month(q, k, 0);
                    row.copy_within(from..from + first_month, l.policy_month(p, k, 0));
                }
                for k in 0..MW_SERIES {
                    let from = l.policy_mw(q, k, 0);
                    row.copy_within(from..from + first_month, l.policy_mw(p, k, 0));
                }
            }
            let monthly: [&[f64]; POLICY_SERIES] = [
                &o.revenue_usd,
                &o.mining_revenue_usd,
                &o.ai_revenue_usd,
                &o.btc_mined,
                &o.reserve_btc,
                &o.reserve_usd,
                &o.net_reserve_usd,
            ];
            let from = first_month;
            for (k, series) in monthly.into_iter().enumerate() {
                row[l.policy_month(p, k, from)..][..months - from]
                    .copy_from_slice(&series[from..months]);
            }
            let mw = &o.mw[from..months];
            let (mining, rest) = row[l.policy_mw(p, 0, 0)..].split_at_mut(months);
            let (idle, rest) = rest.split_at_mut(months);
            let (converting, rest) = rest.split_at_mut(months);
            let by_state = mining[from..]
                .iter_mut()
                .zip(&mut idle[from..])
                .zip(&mut converting[from..])
                .zip(&mut rest[from..months]);
            for ((((mining, idle), converting), ai), m) in by_state.zip(mw) {
                (*mining, *idle, *converting, *ai) = (m.mining, m.idle, m.converting, m.ai);
            }
            let scalars = [
                o.npv_usd,
                o.total_revenue_usd,
                o.terminal_net_reserve_usd,
                o.max_drawdown,
                o.max_drawdown_net_usd,
                o.min_reserve_btc,
            ];
            for (k, v) in scalars.into_iter().enumerate() {
                row[l.policy_scalar(p, k)] = v;
            }
            let flags = [
                o.conversions_started as f64,
                o.margin_call as u8 as f64,
                o.liquidation as u8 as f64,
                o.first_distress_month.is_some() as u8 as f64,
                o.first_distress_month.map_or(0.0, |m| m as f64),
            ];
            for (k, v) in flags.into_iter().enumerate() {
                row[l.policy_flag(p, k)] = v;
            }
        }
        // Every policy paired with the baseline.
        let (base_npv, base_terminal) = w.npv_terminal[self.scenario.baseline];
        for (p, &(npv, terminal)) in w.npv_terminal.iter().enumerate() {
            row[l.policy_flag(p, FLAG_NPV_DIFF)] = npv - base_npv;
            row[l.policy_flag(p, FLAG_TERMINAL_DIFF)] = terminal - base_terminal;
        }
    }

    /// Policy `p`'s figures in the row that [`Engine::simulate_path`] filled.
    pub fn path_values(&self, w: &Worker, p: usize) -> PathValues {
        let l = &self.layout;
        let row = w.row();
        let distress = row[l.policy_flag(p, FLAG_DISTRESS)] > 0.0;
        PathValues {
            npv_usd: row[l.policy_scalar(p, 0)],
            terminal_net_reserve_usd: row[l.policy_scalar(p, 2)],
            margin_call: row[l.policy_flag(p, FLAG_MARGIN_CALL)] > 0.0,
            liquidation: row[l.policy_flag(p, FLAG_LIQUIDATION)] > 0.0,
            first_distress_month: distress
                .then(|| row[l.policy_flag(p, FLAG_FIRST_DISTRESS)] as usize),
        }
    }

    /// Simulate chunk `c` (paths `c * CHUNK_PATHS ..`, clipped to `paths`) into `acc`.
    fn run_chunk(&self, w: &mut Worker, c: u64, paths: u64, keep_pilot: bool, acc: &mut Partial) {
        let first = c * CHUNK_PATHS;
        let last = (first + CHUNK_PATHS).min(paths);
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
                        let (npv, terminal) =
                            (row[l.policy_scalar(p, 0)], row[l.policy_scalar(p, 2)]);
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

    /// Run the scenario's paths and summarise them.
    pub fn run(&self, opts: &RunOptions) -> Summary {
        let started = Instant::now();
        let run_started_utc = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(opts.threads)
            .build()
            .expect("thread pool");
        let threads = pool.current_num_threads();
        let paths = self.scenario.simulation.paths;
        let n_chunks = paths.div_ceil(CHUNK_PATHS);
        let bar = progress_bar(opts.progress, n_chunks);

        let (total, ends) = pool.install(|| self.run_phases(paths, opts.worst, &bar));
        let main_end = Instant::now();
        bar.finish_and_clear();
        let (pilot_end, bins_end) = (ends.pilot, ends.bins.unwrap_or(ends.pilot));
        let phases = Phases {
            pilot_s: (pilot_end - started).as_secs_f64(),
            bins_s: (bins_end - pilot_end).as_secs_f64(),
            main_s: (main_end - bins_end).as_secs_f64(),
            summary_s: 0.0, // set by `summarise`, which times itself
        };
        // Percentiles are computed on the run's own threads, and their time
        // counts in the run's.
        pool.install(|| self.summarise(total, threads, started, run_started_utc, phases))
    }

    /// The pilot, the bins and the main phase of a run of `paths` paths,
    /// on the current thread pool: every path's aggregates, merged, and
    /// when the phases ended.
    fn run_phases(
        &self,
        paths: u64,
        worst: usize,
        bar: &indicatif::ProgressBar,
    ) -> (Partial, PhaseEnds) {
        let n_chunks = paths.div_ceil(CHUNK_PATHS);
        // Phase 1: the pilot, kept whole, in path order.
        let pilot_paths = paths.min(PILOT_PATHS);
        let pilot_chunks = pilot_paths.div_ceil(CHUNK_PATHS);
        let pilot = (0..pilot_chunks)
            .into_par_iter()
            .map_init(
                || self.worker(),
                |w, c| {
                    let mut acc = Partial::new(&self.layout, None, worst);
                    self.run_chunk(w, c, paths, true, &mut acc);
                    bar.inc(1);
                    acc
                },
            )
            .collect::<Vec<_>>()
            .into_iter()
            .reduce(Partial::merge)
            .expect("at least one path");
        let mut ends = PhaseEnds {
            pilot: Instant::now(),
            bins: None,
        };
        if paths <= PILOT_PATHS {
            return (pilot, ends);
        }
        // Phase 2: bins from the pilot, then every other path counted in.
        // Each metric's pilot is counted on its bins as they are placed,
        // while its column is still in cache.
        let chunks = &pilot.pilot;
        let hist = QuantileLayout::counted_from_column_fn(
            self.layout.n_quantile,
            HISTOGRAM_INTERVALS,
            |m| pilot_column(chunks, self.layout.n_quantile, m),
        );
        let qlayout = hist.layout().clone();
        ends.bins = Some(Instant::now());
        let mut pilot = pilot;
        pilot.pilot = Vec::new();
        pilot.histograms = Some(hist);
        // Every thread takes the next chunk as it finishes one (so the
        // threads end within a chunk of each other) into its own
        // aggregates, merged at the end: the merges are exact, so the
        // result does not depend on which thread ran which chunk.
        let next = AtomicU64::new(pilot_chunks);
        let rest = rayon::broadcast(|_| {
            let mut w = self.worker();
            let mut acc = Partial::new(
                &self.layout,
                Some(QuantileHistograms::new(qlayout.clone())),
                worst,
            );
            loop {
                let c = next.fetch_add(1, Ordering::Relaxed);
                if c >= n_chunks {
                    break;
                }
                self.run_chunk(&mut w, c, paths, false, &mut acc);
                bar.inc(1);
            }
            acc
        })
        .into_iter()
        .reduce(Partial::merge);
        let total = match rest {
            Some(rest) => pilot.merge(rest),
            None => pilot,
        };
        (total, ends)
    }

    fn summarise(
        &self,
        total: Partial,
        threads: usize,
        started: Instant,
        run_started_utc: String,
        mut phases: Phases,
    ) -> Summary {
        let summary_started = Instant::now();
        let sc = &self.scenario;
        let l = &self.layout;
        let cal = &self.model.calendar;
        let paths = total.paths;
        // Percentiles of every quantile metric.
        let mut max_rank_error: f64 = 0.0;
        let quantiles: Vec<[f64; 5]> = match &total.histograms {
            Some(h) => {
                // Each metric on its own, on the run's threads.
                let q: Vec<_> = (0..l.n_quantile)
                    .into_par_iter()
                    .map(|m| h.quantiles(m))
                    .collect();
                q.iter()
                    .map(|q| {
                        max_rank_error = max_rank_error.max(q.max_rank_error);
                        q.values
                    })
                    .collect()
            }
            None => {
                // Each metric on its own: parallel, and still deterministic.
                (0..l.n_quantile)
                    .into_par_iter()
                    .map(|m| exact_quantiles(&mut pilot_column(&total.pilot, l.n_quantile, m)))
                    .collect()
            }
        };
        let stats = |m: usize| -> Stats {
            let mo = &total.moments[m];
            let q = quantiles[m];
            Stats {
                mean: mo.mean(),
                se: mo.se(),
                p5: q[0],
                p25: q[1],
                p50: q[2],
                p75: q[3],
                p95: q[4],
            }
        };
        let mean = |m: usize| total.moments[m].mean();
        let mean_se = |m: usize| MeanSe {
            mean: total.moments[m].mean(),
            se: total.moments[m].se(),
        };
        let date = |t: usize| cal.dates[t].format("%Y-%m-%d").to_string();

        let market = MarketSummary {
            months: (0..l.months)
                .map(|t| MarketMonth {
                    month: t,
                    date: date(t),
                    btc_price_usd: stats(l.market(0, t)),
                    hashrate_ehs: stats(l.market(1, t)),
                    hashprice_usd_per_ph_day: stats(l.market(2, t)),
                    gpu_hour_usd: stats(l.market(3, t)),
                    ai_demand_mw: stats(l.market(4, t)),
                })
                .collect(),
        };
        let policies = sc
            .policies
            .iter()
            .enumerate()
            .map(|(p, spec)| {
                let is_base = p == sc.baseline;
                let p_distress = mean(l.policy_flag(p, FLAG_DISTRESS));
                PolicySummary {
                    name: spec.name.clone(),
                    kind: spec.kind.as_str().to_string(),
                    npv_usd: stats(l.policy_scalar(p, 0)),
                    total_revenue_usd: stats(l.policy_scalar(p, 1)),
                    terminal_net_reserve_usd: stats(l.policy_scalar(p, 2)),
                    max_drawdown: stats(l.policy_scalar(p, 3)),
                    max_drawdown_net_usd: stats(l.policy_scalar(p, 4)),
                    min_reserve_btc: stats(l.policy_scalar(p, 5)),
                    npv_vs_baseline_usd: (!is_base)
                        .then(|| mean_se(l.policy_flag(p, FLAG_NPV_DIFF))),
                    terminal_net_reserve_vs_baseline_usd: (!is_base)
                        .then(|| mean_se(l.policy_flag(p, FLAG_TERMINAL_DIFF))),
                    conversions_started: Mean {
                        mean: mean(l.policy_flag(p, FLAG_CONVERSIONS)),
                    },
                    p_margin_call: mean(l.policy_flag(p, FLAG_MARGIN_CALL)),
                    p_liquidation: mean(l.policy_flag(p, FLAG_LIQUIDATION)),
                    p_distress,
                    mean_first_distress_month: (p_distress > 0.0)
                        .then(|| mean(l.policy_flag(p, FLAG_FIRST_DISTRESS)) / p_distress),
                    months: (0..l.months)
                        .map(|t| PolicyMonth {
                            month: t,
                            date: date(t),
                            revenue_usd: stats(l.policy_month(p, 0, t)),
                            mining_revenue_usd: stats(l.policy_month(p, 1, t)),
                            ai_revenue_usd: stats(l.policy_month(p, 2, t)),
                            btc_mined: stats(l.policy_month(p, 3, t)),
                            reserve_btc: stats(l.policy_month(p, 4, t)),
                            reserve_usd: stats(l.policy_month(p, 5, t)),
                            net_reserve_usd: stats(l.policy_month(p, 6, t)),
                            mw_mining: mean(l.policy_mw(p, 0, t)),
                            mw_curtailed: mean(l.policy_mw(p, 1, t)),
                            mw_converting: mean(l.policy_mw(p, 2, t)),
                            mw_ai: mean(l.policy_mw(p, 3, t)),
                        })
                        .collect(),
                }
            })
            .collect();
        phases.summary_s = summary_started.elapsed().as_secs_f64();
        let secs = started.elapsed().as_secs_f64();
        // The simulation's time split between market and replays as on
        // the paths timed phase by phase.
        let sampled = (total.time_market_sampled + total.time_policy_sampled)
            .as_secs_f64()
            .max(1e-12);
        let simulate = total.time_simulate.as_secs_f64();
        let time_market = simulate * total.time_market_sampled.as_secs_f64() / sampled;
        let time_policy = simulate * total.time_policy_sampled.as_secs_f64() / sampled;
        let time_aggregate = total.time_aggregate.as_secs_f64();
        let worker = (simulate + time_aggregate).max(1e-12);
        Summary {
            scenario: sc.name.clone(),
            scenario_sha256: sc.sha256.clone(),
            pivotsim_version: env!("CARGO_PKG_VERSION").to_string(),
            seed: sc.simulation.seed,
            paths,
            months: l.months,
            start: sc.simulation.start.format("%Y-%m-%d").to_string(),
            ai_mode: sc.ai.mode.as_str().to_string(),
            halvings: sc
                .market
                .halvings
                .iter()
                .map(|d| d.format("%Y-%m-%d").to_string())
                .collect(),
            baseline: sc.policies[sc.baseline].name.clone(),
            elapsed_s: secs,
            run_started_utc,
            percentiles: PercentileInfo {
                method: if total.histograms.is_some() {
                    "histogram"
                } else {
                    "exact"
                }
                .to_string(),
                pilot_paths: paths.min(PILOT_PATHS),
                max_rank_error,
            },
            market,
            policies,
            worst_paths: total.worst.iter().map(WorstK::lists).collect(),
            performance: Performance {
                threads,
                paths_per_s: paths as f64 / secs,
                site_months_per_s: (paths as f64
                    * l.months as f64
                    * self.model.fleet.len() as f64
                    * l.policies as f64)
                    / secs,
                share_market: time_market / worker,
                share_policy: time_policy / worker,
                share_aggregation: time_aggregate / worker,
                peak_memory_mib: peak_memory_mib(),
                phases,
            },
        }
    }
}

/// When the phases of a run ended: the pilot, and the bins if the run
/// went past the pilot.
struct PhaseEnds {
    pilot: Instant,
    bins: Option<Instant>,
}

/// A full or final tile of rows (path order), each `n` metrics, the first
/// `nq` of them percentile metrics.
struct Tile<'a> {
    rows: &'a [f64],
    n: usize,
    nq: usize,
    /// Paths per column in the column buffer: metric `m`'s value of the
    /// buffer's path `j` is `cols[m * stride + j]`.
    stride: usize,
}

impl Tile<'_> {
    /// Adds the tile's rows to the chunk's sums and sums of squares, one row
    /// after another (so the same bits as adding each path's row as it
    /// comes: each metric is its own lane, with no reassociation), and
    /// writes each percentile metric's values into its chunk column at
    /// paths `j0..`, one cache line a metric. A full tile goes through the
    /// AVX2 copy when the CPU has it (four metrics at a time, transposed in
    /// registers), the same operations in the same order.
    fn flush(&self, sum: &mut [f64], sum_sq: &mut [f64], cols: &mut [f64], j0: usize) {
        assert!(sum.len() >= self.n && sum_sq.len() >= self.n);
        assert!(self.rows.len().is_multiple_of(self.n) && self.rows.len() <= TILE_PATHS * self.n);
        assert!(cols.len() >= self.nq * self.stride && self.nq <= self.n);
        assert!(j0 + self.rows.len() / self.n <= self.stride);
        #[cfg(target_arch = "x86_64")]
        {
            if self.rows.len() == TILE_PATHS * self.n && std::arch::is_x86_feature_detected!("avx2")
            {
                // SAFETY: the CPU has AVX2 (checked just above); the
                // lengths are checked above.
                unsafe { self.flush_avx2(sum, sum_sq, cols, j0) };
                return;
            }
        }
        self.flush_range(0..self.n, sum, sum_sq, cols, j0);
    }

    /// The portable flush of `metrics`.
    fn flush_range(
        &self,
        metrics: std::ops::Range<usize>,
        sum: &mut [f64],
        sum_sq: &mut [f64],
        cols: &mut [f64],
        j0: usize,
    ) {
        let (n, stride) = (self.n, self.stride);
        for m in metrics {
            let (mut s, mut q) = (sum[m], sum_sq[m]);
            for (i, row) in self.rows.chunks_exact(n).enumerate() {
                let x = row[m];
                s += x;
                q += x * x;
                if m < self.nq {
                    cols[m * stride + j0 + i] = x;
                }
            }
            (sum[m], sum_sq[m]) = (s, q);
        }
    }

    /// [`Tile::flush`] of a full tile with AVX2: blocks of four percentile
    /// metrics (eight rows loaded, summed in row order, transposed as two
    /// 4x4 blocks, stored as each metric's cache line), then the other
    /// metrics' sums four at a time, then the portable loop for what is
    /// left.
    ///
    /// # Safety
    /// The CPU must have AVX2, and the lengths checked in [`Tile::flush`]
    /// must hold with `rows` exactly [`TILE_PATHS`] rows.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn flush_avx2(&self, sum: &mut [f64], sum_sq: &mut [f64], cols: &mut [f64], j0: usize) {
        use std::arch::x86_64::*;
        let (n, nq, stride) = (self.n, self.nq, self.stride);
        let t = self.rows.as_ptr();
        let mut m = 0;
        // SAFETY (all pointer offsets below): metric indices stay below `nq`
        // (columns) or `n` (rows, sums), rows below TILE_PATHS, and paths
        // below `j0 + TILE_PATHS <= stride`, as `flush` checked.
        unsafe {
            let (ps, pq, pc) = (sum.as_mut_ptr(), sum_sq.as_mut_ptr(), cols.as_mut_ptr());
            while m + 4 <= nq {
                let mut r = [_mm256_setzero_pd(); TILE_PATHS];
                let mut s = _mm256_loadu_pd(ps.add(m));
                let mut q = _mm256_loadu_pd(pq.add(m));
                for (i, x) in r.iter_mut().enumerate() {
                    *x = _mm256_loadu_pd(t.add(i * n + m));
                    s = _mm256_add_pd(s, *x);
                    q = _mm256_add_pd(q, _mm256_mul_pd(*x, *x));
                }
                _mm256_storeu_pd(ps.add(m), s);
                _mm256_storeu_pd(pq.add(m), q);
                for half in 0..TILE_PATHS / 4 {
                    let [a, b, c, d] = [
                        r[4 * half],
                        r[4 * half + 1],
                        r[4 * half + 2],
                        r[4 * half + 3],
                    ];
                    let ab_lo = _mm256_unpacklo_pd(a, b); // a0 b0 a2 b2
                    let ab_hi = _mm256_unpackhi_pd(a, b); // a1 b1 a3 b3
                    let cd_lo = _mm256_unpacklo_pd(c, d);
                    let cd_hi = _mm256_unpackhi_pd(c, d);
                    let metric = [
                        _mm256_permute2f128_pd::<0x20>(ab_lo, cd_lo),
                        _mm256_permute2f128_pd::<0x20>(ab_hi, cd_hi),
                        _mm256_permute2f128_pd::<0x31>(ab_lo, cd_lo),
                        _mm256_permute2f128_pd::<0x31>(ab_hi, cd_hi),
                    ];
                    for (k, v) in metric.into_iter().enumerate() {
                        _mm256_storeu_pd(pc.add((m + k) * stride + j0 + 4 * half), v);
                    }
                }
                m += 4;
            }
        }
        self.flush_range(m..nq, sum, sum_sq, cols, j0);
        m = nq;
        // SAFETY: as above.
        unsafe {
            let (ps, pq) = (sum.as_mut_ptr(), sum_sq.as_mut_ptr());
            while m + 4 <= n {
                let mut s = _mm256_loadu_pd(ps.add(m));
                let mut q = _mm256_loadu_pd(pq.add(m));
                for i in 0..TILE_PATHS {
                    let x = _mm256_loadu_pd(t.add(i * n + m));
                    s = _mm256_add_pd(s, x);
                    q = _mm256_add_pd(q, _mm256_mul_pd(x, x));
                }
                _mm256_storeu_pd(ps.add(m), s);
                _mm256_storeu_pd(pq.add(m), q);
                m += 4;
            }
        }
        self.flush_range(m..n, sum, sum_sq, cols, j0);
    }
}

/// Metric `m` of every pilot path, in path order, gathered from the pilot's
/// batches (`chunks`, each column-major over `n_metrics` metrics).
fn pilot_column(chunks: &[Vec<f64>], n_metrics: usize, m: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(chunks.iter().map(|c| c.len() / n_metrics).sum());
    for chunk in chunks {
        let len = chunk.len() / n_metrics;
        out.extend_from_slice(&chunk[m * len..(m + 1) * len]);
    }
    out
}

fn progress_bar(show: bool, chunks: u64) -> indicatif::ProgressBar {
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

    /// A tile's flush on the dispatched code path (AVX2 where the CPU has
    /// it) against the portable loop, bit for bit: sums, sums of squares and
    /// columns, over rows of awkward values, metric counts that leave a
    /// vector tail in the percentile metrics and in the rest, full and
    /// partial tiles, and tiles at several places in the chunk.
    #[test]
    fn tile_flush_matches_the_portable_loop_bit_for_bit() {
        let values = [
            1e308,
            -0.0,
            3.5e-310,
            f64::NAN,
            -7.25,
            f64::INFINITY,
            0.1,
            -1e-3,
        ];
        let stride = CHUNK_PATHS as usize;
        for (n, nq) in [(4 * 7 + 3, 4 * 3 + 2), (4 * 9, 4 * 5), (7, 0), (5, 5)] {
            let (mut sum, mut sum_sq) = (vec![0.0; n], vec![0.0; n]);
            let (mut want_sum, mut want_sq) = (vec![0.0; n], vec![0.0; n]);
            let mut cols = vec![0.0; nq * stride];
            let mut want_cols = vec![0.0; nq * stride];
            for (t, rows) in [(0, TILE_PATHS), (1, TILE_PATHS), (3, 5), (31, TILE_PATHS)] {
                // Mostly finite values with inexact squares (so a fused or
                // reordered sum would show), an awkward one now and then.
                let tile: Vec<f64> = (0..rows * n)
                    .map(|k| match (k * 7 + t) % 11 {
                        0 => values[(k + t) % values.len()],
                        _ => ((k * 2_654_435_761 + t) % 1_000_003) as f64 / 997.0 - 500.0,
                    })
                    .collect();
                let tile = Tile {
                    rows: &tile,
                    n,
                    nq,
                    stride,
                };
                let j0 = t * TILE_PATHS;
                tile.flush(&mut sum, &mut sum_sq, &mut cols, j0);
                tile.flush_range(0..n, &mut want_sum, &mut want_sq, &mut want_cols, j0);
                // Every path of the tile went to its column.
                for m in 0..nq {
                    for i in 0..rows {
                        let x = tile.rows[i * n + m];
                        assert_eq!(want_cols[m * stride + j0 + i].to_bits(), x.to_bits());
                    }
                }
            }
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&sum), bits(&want_sum), "n {n}, nq {nq}");
            assert_eq!(bits(&sum_sq), bits(&want_sq), "n {n}, nq {nq}");
            assert_eq!(bits(&cols), bits(&want_cols), "n {n}, nq {nq}");
        }
    }

    /// A reference scenario.
    fn reference(name: &str) -> Scenario {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
        crate::scenario::load(&dir.join(format!("{name}.toml"))).unwrap()
    }

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
        let (total, _) = pool.install(|| engine.run_phases(paths, 0, &bar));
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

    /// `sc` with its threshold policies set to these parameters.
    fn with_threshold(
        mut sc: Scenario,
        hurdle: f64,
        window_months: usize,
        room: usize,
    ) -> Scenario {
        use crate::scenario::PolicyKind;
        for spec in &mut sc.policies {
            if let PolicyKind::Threshold { .. } = spec.kind {
                spec.kind = PolicyKind::Threshold {
                    hurdle,
                    window_months,
                    max_concurrent: room,
                };
            }
        }
        sc
    }

    /// `sc` with nothing to fund conversions with (no cash above the floor,
    /// no mined BTC sold, a BTC floor above the reserve) until a large
    /// equity raise in step 0 of `month`.
    fn funded_only_from(mut sc: Scenario, month: usize) -> Scenario {
        sc.treasury.sell_mined_fraction = 0.0;
        sc.treasury.cash_usd = sc.treasury.min_cash_usd;
        sc.treasury.reserve_floor_btc = 1e9;
        sc.events.push(crate::scenario::Event {
            date: sc.simulation.start,
            month: Some(month),
            kind: crate::scenario::EventKind::RaiseEquity { usd: 1e10 },
        });
        sc
    }

    /// Policies that never start a conversion on a path get the passive
    /// policy's figures copied instead of a replay, and memoryless ones
    /// that do have their replay resumed at the month of their first start
    /// from the passive replay, and memoryless policies are not asked in
    /// months whose step 1 can start nothing: the rows must be the ones
    /// full replays (every policy asked every month) give, bit for bit.
    /// On the reference scenarios (`threshold` rarely
    /// converts), on a `threshold` eager enough to convert on most paths,
    /// with nothing to fund a conversion until the last month (a replay
    /// resumed in it), with `hold` neither first nor the baseline, and with
    /// no passive policy at all; both outcomes of the test for a first
    /// start, and resumed replays, must occur.
    #[test]
    fn shortcuts_give_the_rows_of_full_replays() {
        use crate::scenario::PolicyKind;
        let mut cases = Vec::new();
        for name in [
            "cango_2026",
            "cango_2026_treasury",
            "cango_2026_colocation",
            "cango_2026_no_delever",
        ] {
            cases.push((name.to_string(), reference(name)));
        }
        let eager = with_threshold(reference("cango_2026"), 0.0, 1, 4);
        cases.push(("eager threshold".into(), eager.clone()));
        // The test for a first start must see the treasury after the events.
        let months = eager.simulation.months;
        let last_month_raise = funded_only_from(eager.clone(), months - 1);
        cases.push(("equity raised in the last month".into(), last_month_raise));
        let mut moved = eager.clone();
        moved.policies.rotate_left(1); // hold last, the baseline threshold's
        moved.baseline = moved
            .policies
            .iter()
            .position(|p| matches!(p.kind, PolicyKind::Threshold { .. }))
            .unwrap();
        cases.push(("hold last, not the baseline".into(), moved));
        let mut no_hold = eager;
        no_hold
            .policies
            .retain(|p| !matches!(p.kind, PolicyKind::Hold));
        no_hold.baseline = 0;
        cases.push(("no hold".into(), no_hold));

        let (mut never, mut starts, mut resumed) = (0, 0, 0);
        for (name, sc) in cases {
            let fast = Engine::new(sc.clone());
            let mut full = Engine::new(sc);
            full.skip_passive_copies = false;
            full.model.ask_unfundable = true;
            let (mut wf, mut wr) = (fast.worker(), full.worker());
            for path in 0..300 {
                fast.simulate_path(&mut wf, path);
                full.simulate_path(&mut wr, path);
                let bits = |w: &Worker| w.row().iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&wf), bits(&wr), "{name}, path {path}");
                if let Some(q) = fast.passive {
                    for p in (0..fast.layout.policies).filter(|&p| p != q) {
                        let first = fast.model.first_start(
                            p,
                            &wf.market,
                            &wf.table,
                            &wf.seen,
                            &mut wf.scratch,
                        );
                        match first {
                            None => never += 1,
                            Some(t0) => {
                                starts += 1;
                                if t0 > 0 && fast.model.policies[p].memoryless() {
                                    resumed += 1;
                                }
                            }
                        }
                    }
                }
            }
        }
        assert!(
            never > 100 && starts > 100 && resumed > 100,
            "never {never}, starts {starts}, resumed {resumed}"
        );
    }

    /// The threshold policy's test for a first start on the passive path,
    /// all months at once (bit sets of months), against its `decide` month
    /// by month: the same month, or none, on every path. Reference
    /// scenarios and thresholds that ask early and often, with windows of
    /// 0, 1 and 3 months and one longer than the run, no room to convert,
    /// and a 100-month run (bit sets of two words).
    #[test]
    fn threshold_first_start_matches_its_decide_month_by_month() {
        let mut cases = Vec::new();
        for name in ["cango_2026", "cango_2026_treasury", "cango_2026_colocation"] {
            cases.push((name.to_string(), reference(name)));
        }
        let variants = [
            (0.0, 1, 4, 60),
            (0.5, 3, 4, 60),
            (0.0, 0, 2, 60),
            (0.0, 3, 0, 60),
            (0.0, 61, 4, 60),
            (0.8, 3, 1, 100),
            (0.0, 1, 4, 100),
        ];
        for (hurdle, window_months, room, months) in variants {
            let mut sc = with_threshold(reference("cango_2026"), hurdle, window_months, room);
            sc.simulation.months = months;
            let name =
                format!("hurdle {hurdle} window {window_months} room {room} months {months}");
            cases.push((name, sc));
        }
        // No funding until month 65 of 100: a first start tested across
        // the bit sets' word boundary.
        let mut late = with_threshold(reference("cango_2026"), 0.0, 3, 4);
        late.simulation.months = 100;
        cases.push((
            "equity raised in month 65 of 100".into(),
            funded_only_from(late, 65),
        ));
        let (mut never, mut late) = (0, 0);
        for (name, sc) in cases {
            let engine = Engine::new(sc);
            let mut w = engine.worker();
            let threshold = (0..engine.layout.policies)
                .find(|&p| engine.model.policies[p].as_threshold().is_some())
                .unwrap();
            for path in 0..300 {
                engine.simulate_path(&mut w, path);
                let (market, table, seen) = (&w.market, &w.table, &w.seen);
                let fast = engine
                    .model
                    .first_start(threshold, market, table, seen, &mut w.scratch);
                let by_month = engine.model.first_start_by_month(
                    threshold,
                    market,
                    table,
                    seen,
                    &mut w.scratch,
                );
                assert_eq!(fast, by_month, "{name}, path {path}");
                match fast {
                    None => never += 1,
                    Some(t) if t >= 64 => late += 1,
                    Some(_) => {}
                }
            }
        }
        assert!(never > 100 && late > 0, "never {never}, late {late}");
    }
}
