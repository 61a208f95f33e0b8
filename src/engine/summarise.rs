//! A run's merged aggregates into its [`Summary`]: the percentiles of every
//! quantile metric (from the histograms, or exact on the pilot), the
//! market's months, each policy's figures and months, and the run's
//! performance.

use std::time::Instant;

use rayon::prelude::*;

use super::drivers;
use super::metrics::{
    CONVERSIONS, DISTRESS, FIRST_DISTRESS, Figure, LIQUIDATION, MARGIN_CALL, MARKET_SERIES,
    MAX_DRAWDOWN, MAX_DRAWDOWN_NET, MIN_RESERVE_BTC, NPV, NPV_REGRET, NPV_VS_BASELINE,
    POLICY_SERIES, Series, Stat, TERMINAL_NET_RESERVE, TERMINAL_VS_BASELINE, TOTAL_REVENUE,
};
use super::phases::{Partial, peak_memory_mib, pilot_column, tail_metrics};
use super::{Engine, PILOT_PATHS};
use crate::engine::worst::WorstK;
use crate::scenario::PolicySpec;
use crate::stats::cvar::{cvar_lower_exact, cvar_lower_from_bins};
use crate::stats::{Moments, exact_quantiles};
use crate::summary::{
    MarketMonth, MarketSummary, Mean, MeanSe, PercentileInfo, Performance, Phases, PolicyDrivers,
    PolicyMonth, PolicySummary, Stats, Summary,
};

/// The share of paths whose mean is the reported CVaR: the worst 5%.
const CVAR_ALPHA: f64 = 0.05;

/// Each metric's figures: its moments and, for the quantile metrics, its
/// percentiles (p5, p25, p50, p75, p95).
struct Figures<'a> {
    moments: &'a [Moments],
    quantiles: &'a [[f64; 5]],
}

impl Figures<'_> {
    fn stats(&self, m: usize) -> Stats {
        let mo = &self.moments[m];
        let q = self.quantiles[m];
        Stats {
            mean: mo.mean(),
            se: mo.se(),
            p5: q[0],
            p25: q[1],
            p50: q[2],
            p75: q[3],
            p95: q[4],
            cvar5: None,
        }
    }

    /// Metric `m`'s figures, of the kind `stat` says.
    fn figure(&self, m: usize, stat: Stat) -> Figure {
        match stat {
            Stat::Percentiles => Figure::Stats(self.stats(m)),
            Stat::MeanOnly => Figure::Mean(self.mean(m)),
        }
    }

    fn mean(&self, m: usize) -> f64 {
        self.moments[m].mean()
    }

    fn mean_se(&self, m: usize) -> MeanSe {
        MeanSe {
            mean: self.moments[m].mean(),
            se: self.moments[m].se(),
        }
    }
}

impl Engine {
    pub(super) fn summarise(
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
        let paths = total.paths;
        let (quantiles, percentiles) = self.percentiles(&total);
        let figures = Figures {
            moments: &total.moments,
            quantiles: &quantiles,
        };
        let market = self.market_summary(&figures);
        let (cvar5, cvar5_max_error_usd) = self.cvar5(&total);
        let percentiles = PercentileInfo {
            cvar5_max_error_usd: Some(cvar5_max_error_usd),
            ..percentiles
        };
        let policies = sc
            .policies
            .iter()
            .enumerate()
            .map(|(p, spec)| {
                let mut s = self.policy_summary(&figures, p, spec);
                [s.npv_usd.cvar5, s.terminal_net_reserve_usd.cvar5] = cvar5[p];
                s
            })
            .collect();
        let evpi_usd = self.evpi(&figures);
        let drivers = self.drivers(&total);
        phases.summary_s = summary_started.elapsed().as_secs_f64();
        let secs = started.elapsed().as_secs_f64();
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
            percentiles,
            market,
            policies,
            evpi_usd,
            drivers,
            worst_paths: total.worst.iter().map(WorstK::lists).collect(),
            performance: self.performance(&total, threads, secs, phases),
        }
    }

    /// Percentiles of every quantile metric, and how they were found: from
    /// the histograms past the pilot (with the largest rank error of any),
    /// else exact on the pilot's paths.
    fn percentiles(&self, total: &Partial) -> (Vec<[f64; 5]>, PercentileInfo) {
        let l = &self.layout;
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
        let info = PercentileInfo {
            method: if total.histograms.is_some() {
                "histogram"
            } else {
                "exact"
            }
            .to_string(),
            pilot_paths: total.paths.min(PILOT_PATHS),
            max_rank_error,
            cvar5_max_error_usd: None,
        };
        (quantiles, info)
    }

    /// The expected value of perfect information over the policies: the
    /// mean regret (best NPV on the path minus the policy's) of the policy
    /// of highest mean NPV (the first, on a tie), with its SE.
    fn evpi(&self, f: &Figures<'_>) -> Option<MeanSe> {
        let l = &self.layout;
        let mut best: Option<(usize, f64)> = None;
        for p in 0..l.policies {
            let npv = f.mean(l.scalar(p, NPV));
            if best.is_none_or(|(_, b)| npv > b) {
                best = Some((p, npv));
            }
        }
        best.map(|(p, _)| f.mean_se(l.scalar(p, NPV_REGRET)))
    }

    /// Each policy's CVaR at 5% of its NPV and terminal net reserve, and the
    /// largest error bound of any: exact on the pilot's paths when the run
    /// has no more, else from the exact per-cell sums beside the histograms.
    fn cvar5(&self, total: &Partial) -> (Vec<[Option<f64>; 2]>, f64) {
        let l = &self.layout;
        let metrics = tail_metrics(l);
        let mut max_error: f64 = 0.0;
        let values: Vec<Option<f64>> = match (&total.histograms, &total.tails) {
            (Some(h), Some(tails)) => (0..metrics.len())
                .map(|k| {
                    let cells = tails.cells(k, h)?;
                    let (cvar, error) = cvar_lower_from_bins(&cells, total.paths, CVAR_ALPHA);
                    max_error = max_error.max(error);
                    Some(cvar)
                })
                .collect(),
            _ => metrics
                .iter()
                .map(|&m| {
                    let column = pilot_column(&total.pilot, l.n_quantile, m);
                    (!column.is_empty()).then(|| cvar_lower_exact(&column, CVAR_ALPHA))
                })
                .collect(),
        };
        let per_policy = values.chunks_exact(2).map(|v| [v[0], v[1]]).collect();
        (per_policy, max_error)
    }

    /// Every policy's drivers but the baseline's, from the records of the
    /// first paths.
    fn drivers(&self, total: &Partial) -> Vec<PolicyDrivers> {
        let mut chunks: Vec<&(u64, Vec<f64>)> = total.drivers.iter().collect();
        chunks.sort_by_key(|(c, _)| *c);
        let records: Vec<f64> = chunks.iter().flat_map(|(_, r)| r.iter().copied()).collect();
        let names: Vec<String> = self
            .scenario
            .policies
            .iter()
            .map(|p| p.name.clone())
            .collect();
        drivers::summarise(&records, &names, self.scenario.baseline)
    }

    /// Month `t`'s date, `YYYY-MM-DD`.
    fn date(&self, t: usize) -> String {
        self.model.calendar.dates[t].format("%Y-%m-%d").to_string()
    }

    /// The market's series, month by month.
    fn market_summary(&self, f: &Figures<'_>) -> MarketSummary {
        let l = &self.layout;
        MarketSummary {
            months: (0..l.months)
                .map(|t| {
                    let mut month = MarketMonth {
                        month: t,
                        date: self.date(t),
                        ..MarketMonth::default()
                    };
                    for (k, m) in MARKET_SERIES.iter().enumerate() {
                        *(m.set)(&mut month) = f.stats(l.market(k, t));
                    }
                    month
                })
                .collect(),
        }
    }

    /// Policy `p`'s figures: its per-path scalars, its differences from
    /// the baseline (none for the baseline itself), its flags' rates and
    /// its months.
    fn policy_summary(&self, f: &Figures<'_>, p: usize, spec: &PolicySpec) -> PolicySummary {
        let l = &self.layout;
        let is_base = p == self.scenario.baseline;
        let p_distress = f.mean(l.scalar(p, DISTRESS));
        PolicySummary {
            name: spec.name.clone(),
            kind: spec.kind.as_str().to_string(),
            npv_usd: f.stats(l.scalar(p, NPV)),
            total_revenue_usd: f.stats(l.scalar(p, TOTAL_REVENUE)),
            terminal_net_reserve_usd: f.stats(l.scalar(p, TERMINAL_NET_RESERVE)),
            max_drawdown: f.stats(l.scalar(p, MAX_DRAWDOWN)),
            max_drawdown_net_usd: f.stats(l.scalar(p, MAX_DRAWDOWN_NET)),
            min_reserve_btc: f.stats(l.scalar(p, MIN_RESERVE_BTC)),
            npv_vs_baseline_usd: (!is_base).then(|| f.mean_se(l.scalar(p, NPV_VS_BASELINE))),
            terminal_net_reserve_vs_baseline_usd: (!is_base)
                .then(|| f.mean_se(l.scalar(p, TERMINAL_VS_BASELINE))),
            conversions_started: Mean {
                mean: f.mean(l.scalar(p, CONVERSIONS)),
            },
            p_margin_call: f.mean(l.scalar(p, MARGIN_CALL)),
            p_liquidation: f.mean(l.scalar(p, LIQUIDATION)),
            p_distress,
            mean_first_distress_month: (p_distress > 0.0)
                .then(|| f.mean(l.scalar(p, FIRST_DISTRESS)) / p_distress),
            months: (0..l.months)
                .map(|t| {
                    let mut month = PolicyMonth {
                        month: t,
                        date: self.date(t),
                        ..PolicyMonth::default()
                    };
                    for (k, m) in POLICY_SERIES.iter().enumerate() {
                        let at = l.series(p, Series(k), t);
                        (m.set)(&mut month, f.figure(at, m.stat));
                    }
                    month
                })
                .collect(),
        }
    }

    /// The run's speed over `secs` seconds on `threads` threads, and how
    /// the workers' time split between market, replays and aggregation.
    fn performance(
        &self,
        total: &Partial,
        threads: usize,
        secs: f64,
        phases: Phases,
    ) -> Performance {
        let l = &self.layout;
        let paths = total.paths;
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
        Performance {
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
        }
    }
}
