//! The drivers of each policy's paired NPV difference against the baseline:
//! per-path values kept for the first [`DRIVER_PATHS`] paths (so a sharded
//! run keeps exactly the same ones), and their analysis into
//! [`PolicyDrivers`] by [`crate::stats::drivers`].
//!
//! A path's record ([`record`]) is the market's drivers, then per policy its
//! NPV difference against the baseline, its mean AI utilisation and its
//! margin-call flag (`1 + MARKET_DRIVERS.len()` plus 3 per policy values).

use super::Worker;
use crate::stats::drivers::{analyse, mean_split};
use crate::summary::{DriverStats, PolicyDrivers};

/// Paths whose drivers are kept, path by path (a multiple of the chunk).
pub const DRIVER_PATHS: u64 = 65_536;
const _: () = assert!(DRIVER_PATHS.is_multiple_of(super::CHUNK_PATHS));

/// The market's drivers, in record order.
pub const MARKET_DRIVERS: [&str; 5] = [
    "btc_log_return",
    "hashprice_mean_usd_per_ph_day",
    "btc_jumps",
    "ai_demand_end_mw_it",
    "gpu_hour_end_usd",
];
/// The policy's own driver, after the market's.
pub const POLICY_DRIVER: &str = "ai_utilisation_mean";
/// Values per policy in a record: difference, utilisation, margin call.
const PER_POLICY: usize = 3;

/// Values in one path's record.
pub fn record_len(policies: usize) -> usize {
    MARKET_DRIVERS.len() + PER_POLICY * policies
}

/// The path the worker simulated last, appended to `out` as a record.
pub(super) fn record(w: &Worker, policies: usize, baseline: usize, out: &mut Vec<f64>) {
    let m = &w.market;
    let t_end = m.months() - 1;
    let hashprice_sum: f64 = m.hashprice_usd_per_eh_day.iter().map(|x| x / 1000.0).sum();
    out.extend_from_slice(&[
        (m.btc_price_usd[t_end] / m.btc_price_usd[0]).ln(),
        hashprice_sum / m.months() as f64,
        f64::from(m.btc_jumps),
        m.ai_demand_mw_it[t_end],
        m.gpu_hour_usd[t_end],
    ]);
    let base = w.replays.outcome(baseline).npv_usd;
    for p in 0..policies {
        let o = w.replays.outcome(p);
        out.extend_from_slice(&[
            o.npv_usd - base,
            o.ai_utilisation_mean,
            f64::from(u8::from(o.margin_call)),
        ]);
    }
}

/// Every policy's drivers but the baseline's, from the records of the
/// first paths in path order (`records`, `record_len(policies)` values a
/// path).
pub(super) fn summarise(records: &[f64], names: &[String], baseline: usize) -> Vec<PolicyDrivers> {
    let policies = names.len();
    let width = record_len(policies);
    let paths = records.len() / width;
    let column = |k: usize| -> Vec<f64> { records.chunks_exact(width).map(|r| r[k]).collect() };
    let market: Vec<Vec<f64>> = (0..MARKET_DRIVERS.len()).map(column).collect();
    let mut out = Vec::new();
    for p in (0..policies).filter(|&p| p != baseline) {
        let at = MARKET_DRIVERS.len() + PER_POLICY * p;
        let (diff, utilisation, margin) = (column(at), column(at + 1), column(at + 2));
        let beats: Vec<bool> = diff.iter().map(|&d| d > 0.0).collect();
        let mut x: Vec<&[f64]> = market.iter().map(Vec::as_slice).collect();
        x.push(&utilisation);
        let a = analyse(&x, &diff, &beats);
        let (p_margin_call_when_beats, p_margin_call_otherwise) = mean_split(&margin, &beats);
        let n_beats = beats.iter().filter(|&&b| b).count();
        let drivers = MARKET_DRIVERS
            .iter()
            .chain([&POLICY_DRIVER])
            .zip(&a.columns)
            .map(|(name, c)| DriverStats {
                driver: (*name).to_string(),
                std_coef: c.std_coef,
                rank_corr: c.rank_corr,
                contribution_to_variance: c.contribution,
                decile_mean_usd: c.decile_means.to_vec(),
                mean_when_beats: c.mean_when_flag,
                mean_otherwise: c.mean_otherwise,
                note: if c.constant {
                    "constant".to_string()
                } else {
                    String::new()
                },
            })
            .collect();
        out.push(PolicyDrivers {
            policy: names[p].clone(),
            paths: paths as u64,
            p_beats_baseline: if paths > 0 {
                n_beats as f64 / paths as f64
            } else {
                0.0
            },
            r_squared: a.r_squared,
            p_margin_call_when_beats,
            p_margin_call_otherwise,
            drivers,
        });
    }
    out
}
