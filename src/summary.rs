//! The results of a run, as written to `summary.json`.
//!
//! Every figure is across paths. A [`Stats`] object is the mean with its
//! standard error and the 5/25/50/75/95th percentiles. Monthly values are at
//! the end of month t; market values are those of month t (docs/model.md section 1:
//! the value at the start of the month, used for everything in it). Money is
//! in USD at full precision; it is rounded only where it is shown (terminal
//! table, CSV, charts).
//!
//! Timing fields (`elapsed_s`, `run_started_utc`, `performance`) are the only
//! ones that differ between two runs of the same scenario and seed.

use serde::{Deserialize, Serialize};

/// Mean, standard error and percentiles of one quantity across paths.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
pub struct Stats {
    /// Mean across paths.
    pub mean: f64,
    /// Standard error of the mean (sample standard deviation / sqrt(paths)).
    pub se: f64,
    /// 5th percentile.
    pub p5: f64,
    /// 25th percentile.
    pub p25: f64,
    /// Median.
    pub p50: f64,
    /// 75th percentile.
    pub p75: f64,
    /// 95th percentile.
    pub p95: f64,
}

impl Stats {
    /// Half-width of the 95% confidence interval of the mean, `1.96 se`.
    pub fn ci95(&self) -> f64 {
        1.96 * self.se
    }
}

/// A mean with its standard error (paired differences).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct MeanSe {
    pub mean: f64,
    pub se: f64,
}

/// A mean alone.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct Mean {
    pub mean: f64,
}

/// The whole run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Summary {
    /// Scenario name.
    pub scenario: String,
    /// SHA-256 of the scenario file (and its fleet CSV).
    pub scenario_sha256: String,
    /// Version of pivotsim that produced the run.
    pub pivotsim_version: String,
    /// Master seed.
    pub seed: u64,
    /// Monte Carlo paths.
    pub paths: u64,
    /// Months simulated.
    pub months: usize,
    /// First month, `YYYY-MM-DD`.
    pub start: String,
    /// AI mode of the scenario (`gpu_cloud` or `colocation`).
    pub ai_mode: String,
    /// Bitcoin halving dates of the scenario, `YYYY-MM-DD` (charts mark them).
    /// Empty in summaries written before this field existed.
    #[serde(default)]
    pub halvings: Vec<String>,
    /// Name of the baseline policy of the paired comparisons.
    pub baseline: String,
    /// Wall-clock seconds of the simulation (timing field).
    pub elapsed_s: f64,
    /// UTC time the run started, RFC 3339 (timing field).
    pub run_started_utc: String,
    /// How percentiles were computed and their accuracy.
    pub percentiles: PercentileInfo,
    /// The sampled market, shared by every policy.
    pub market: MarketSummary,
    /// One entry per policy, in scenario order.
    pub policies: Vec<PolicySummary>,
    /// Throughput figures (timing fields).
    pub performance: Performance,
    /// Per policy, the worst paths (`pivotsim run --worst K`; written to
    /// `worst_paths.csv`, not to summary.json).
    #[serde(skip)]
    pub worst_paths: Vec<WorstLists>,
}

/// How the percentiles were computed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PercentileInfo {
    /// `exact` (all paths kept, paths <= pilot) or `histogram` (bins at the
    /// pilot's quantiles).
    pub method: String,
    /// Paths whose values set the histogram bins.
    pub pilot_paths: u64,
    /// The largest rank error of any reported percentile, as a share of paths
    /// (0.005 = half a percentile point); 0 when exact.
    pub max_rank_error: f64,
}

/// The market across paths.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MarketSummary {
    pub months: Vec<MarketMonth>,
}

/// The market in month t.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct MarketMonth {
    /// 0-based month index.
    pub month: usize,
    /// First day of the month, `YYYY-MM-DD`.
    pub date: String,
    /// BTC price S[t], USD.
    pub btc_price_usd: Stats,
    /// Network hashrate H[t], EH/s.
    pub hashrate_ehs: Stats,
    /// Hashprice HP[t], USD per PH/s per day.
    pub hashprice_usd_per_ph_day: Stats,
    /// GPU-hour price p[t], USD.
    pub gpu_hour_usd: Stats,
    /// AI demand D[t], MW of IT load.
    #[serde(alias = "ai_demand_mw")]
    pub ai_demand_mw_it: Stats,
}

/// One policy across paths.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PolicySummary {
    /// Policy name from the scenario.
    pub name: String,
    /// Policy kind (`hold`, `full_pivot`, `staged`, `threshold`).
    pub kind: String,
    /// Operating value of the allocation, USD (docs/model.md section 5).
    pub npv_usd: Stats,
    /// Sum of monthly revenue (mining + AI), USD, undiscounted.
    pub total_revenue_usd: Stats,
    /// Net reserve at the end of the last month, USD.
    pub terminal_net_reserve_usd: Stats,
    /// Largest fall of the reserve's USD value from its running peak (0 to 1).
    pub max_drawdown: Stats,
    /// Largest fall of the net reserve from its running peak, USD.
    pub max_drawdown_net_usd: Stats,
    /// Lowest end-of-month BTC reserve.
    pub min_reserve_btc: Stats,
    /// Mean paired difference of NPV against the baseline (null for the baseline).
    pub npv_vs_baseline_usd: Option<MeanSe>,
    /// Mean paired difference of terminal net reserve against the baseline.
    pub terminal_net_reserve_vs_baseline_usd: Option<MeanSe>,
    /// Conversions started per path.
    pub conversions_started: Mean,
    /// Share of paths with at least one margin call.
    pub p_margin_call: f64,
    /// Share of paths with a liquidation.
    pub p_liquidation: f64,
    /// Share of paths with at least one distress month.
    pub p_distress: f64,
    /// Mean 0-based month of the first distress month, among paths with one.
    pub mean_first_distress_month: Option<f64>,
    /// Month by month.
    pub months: Vec<PolicyMonth>,
}

/// One policy in month t (end of month).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PolicyMonth {
    pub month: usize,
    pub date: String,
    /// Mining + AI revenue, USD.
    pub revenue_usd: Stats,
    pub mining_revenue_usd: Stats,
    pub ai_revenue_usd: Stats,
    pub btc_mined: Stats,
    /// BTC reserve at the end of the month.
    pub reserve_btc: Stats,
    /// `reserve_btc * S[t]`, USD.
    pub reserve_usd: Stats,
    /// `reserve_usd + cash - loan - project debt - distress debt`, USD.
    pub net_reserve_usd: Stats,
    /// Mean MW of grid power in sites mining (running or idle).
    pub mw_mining: f64,
    /// Mean MW of mining sites idle (curtailed) this month.
    pub mw_curtailed: f64,
    /// Mean MW of sites converting.
    pub mw_converting: f64,
    /// Mean MW of live AI sites (grid MW).
    pub mw_ai: f64,
}

/// Throughput of the run (timing fields: they vary from run to run).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Performance {
    /// Worker threads used.
    pub threads: usize,
    /// Paths per second of wall-clock time.
    pub paths_per_s: f64,
    /// Paths x months x sites x policies per second.
    pub site_months_per_s: f64,
    /// Share of worker time sampling markets and mining tables. The
    /// simulation's time is timed whole and split between this and
    /// `share_policy` as on the paths timed phase by phase (one in eight).
    pub share_market: f64,
    /// Share of worker time replaying policies (split as `share_market` says).
    pub share_policy: f64,
    /// Share of worker time aggregating (moments, histograms).
    pub share_aggregation: f64,
    /// Peak resident memory of the process, MiB (Linux; 0 if unknown).
    pub peak_memory_mib: f64,
    /// Wall time of each phase of the run (absent from summaries written
    /// before it was recorded).
    #[serde(default)]
    pub phases: Phases,
}

/// Wall seconds of the phases of a run, in order. A run of at most
/// `PILOT_PATHS` paths is all pilot (the other phases are 0).
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct Phases {
    /// Simulating the pilot's paths (kept whole in memory).
    pub pilot_s: f64,
    /// Placing the histograms' bins from the pilot, and counting it on them.
    pub bins_s: f64,
    /// Simulating and counting every other path, and merging the threads'
    /// aggregates.
    pub main_s: f64,
    /// Reading the percentiles and building the summary.
    pub summary_s: f64,
}

/// One policy's lowest `(value, path)` pairs, lowest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WorstLists {
    pub npv_usd: Vec<(f64, u64)>,
    pub terminal_net_reserve_usd: Vec<(f64, u64)>,
}
