//! A run's merged aggregates into its [`Summary`]: the percentiles of every
//! quantile metric (from the histograms, or exact on the pilot), the
//! market's months, each policy's figures and months, and the run's
//! performance.

use std::time::Instant;

use rayon::prelude::*;

use super::layout::{
    FLAG_CONVERSIONS, FLAG_DISTRESS, FLAG_FIRST_DISTRESS, FLAG_LIQUIDATION, FLAG_MARGIN_CALL,
    FLAG_NPV_DIFF, FLAG_TERMINAL_DIFF,
};
use super::phases::{Partial, peak_memory_mib, pilot_column};
use super::{Engine, PILOT_PATHS};
use crate::engine::worst::WorstK;
use crate::stats::exact_quantiles;
use crate::summary::{
    MarketMonth, MarketSummary, Mean, MeanSe, PercentileInfo, Performance, Phases, PolicyMonth,
    PolicySummary, Stats, Summary,
};

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
