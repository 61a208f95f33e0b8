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
//! market and policy replays into a row) and [`Engine::path_values`]. Where
//! a metric sits in a row is `layout`; a tile of rows into the chunk's sums
//! and columns, `tile`; the pilot, bins and main phase, `phases`; the
//! aggregates into a [`Summary`], `summarise`. The worst paths and the
//! replay ledger are [`worst`] and [`ledger`].

use std::time::Instant;

mod layout;
pub mod ledger;
mod phases;
mod summarise;
mod tile;
pub mod worst;

pub use layout::RowLayout;
pub use phases::{Partial, peak_memory_mib};

use crate::model::market::{MarketModel, MarketPath};
use crate::model::mining::MiningTable;
use crate::scenario::Scenario;
use crate::sim::{Carry, Model, PolicyOutcome, Scratch, Start, TreasuryState};
use crate::summary::{Phases, Summary};
use layout::{
    FLAG_DISTRESS, FLAG_FIRST_DISTRESS, FLAG_LIQUIDATION, FLAG_MARGIN_CALL, FLAG_NPV_DIFF,
    FLAG_TERMINAL_DIFF, MW_SERIES, POLICY_FLAGS, POLICY_SCALARS, POLICY_SERIES,
};
use phases::progress_bar;

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
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reference scenario.
    pub(super) fn reference(name: &str) -> Scenario {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
        crate::scenario::load(&dir.join(format!("{name}.toml"))).unwrap()
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
                .find(|&p| {
                    matches!(
                        engine.scenario.policies[p].kind,
                        crate::scenario::PolicyKind::Threshold { .. }
                    )
                })
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
