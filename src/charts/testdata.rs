//! A small, plausible summary for chart tests (no simulation needed).

use crate::summary::*;

/// A fan around `centre` whose spread grows with `t`.
fn fan(centre: f64, spread: f64, t: usize) -> Stats {
    let w = spread * (1.0 + t as f64 / 12.0);
    Stats {
        mean: centre + 0.1 * w,
        se: w / 50.0,
        p5: centre - 1.6 * w,
        p25: centre - 0.6 * w,
        p50: centre,
        p75: centre + 0.7 * w,
        p95: centre + 1.9 * w,
        cvar5: None,
    }
}

fn date(t: usize) -> String {
    let m = 1 + t; // months after 2026-01
    format!("{}-{:02}-01", 2026 + m / 12, m % 12 + 1)
}

/// `policies` policies over `months` months from February 2026.
pub fn summary(policies: usize, months: usize) -> Summary {
    let names = [
        "hold",
        "staged",
        "threshold",
        "full_pivot",
        "fifth",
        "sixth",
    ];
    let n_policies = policies;
    let market = MarketSummary {
        months: (0..months)
            .map(|t| MarketMonth {
                month: t,
                date: date(t),
                btc_price_usd: fan(95_000.0 * (1.0 + 0.01 * t as f64), 9_000.0, t),
                hashrate_ehs: fan(900.0 + 10.0 * t as f64, 40.0, t),
                hashprice_usd_per_ph_day: fan(48.0 - 0.4 * t as f64, 4.0, t),
                gpu_hour_usd: fan(2.0 * 0.98f64.powi(t as i32), 0.15, t),
                ai_demand_mw_it: fan(300.0 + 8.0 * t as f64, 30.0, t),
            })
            .collect(),
    };
    let policies = (0..policies)
        .map(|i| {
            let pivot = i as f64 / (policies.max(2) - 1) as f64;
            let months = (0..months)
                .map(|t| {
                    let ai_share = (pivot * t as f64 / months as f64 * 1.5).min(pivot);
                    let mining = 30e6 * (1.0 - ai_share) * (1.0 - 0.005 * t as f64);
                    let ai = 45e6 * ai_share;
                    PolicyMonth {
                        month: t,
                        date: date(t),
                        revenue_usd: fan(mining + ai, 4e6, t),
                        mining_revenue_usd: fan(mining, 3e6, t),
                        ai_revenue_usd: fan(ai, 1e6, t),
                        btc_mined: fan(250.0 * (1.0 - ai_share), 10.0, t),
                        reserve_btc: fan(3000.0 - 20.0 * t as f64 * pivot, 100.0, t),
                        reserve_usd: fan(285e6, 30e6, t),
                        net_reserve_usd: fan(150e6 - 1e6 * t as f64 * pivot, 20e6, t),
                        mw_mining: 1000.0 * (1.0 - ai_share),
                        mw_curtailed: 60.0 * (1.0 - ai_share),
                        mw_converting: 80.0 * pivot * (t % 12 < 9) as u8 as f64,
                        mw_ai: 900.0 * ai_share,
                    }
                })
                .collect();
            let npv = fan(900e6 + 150e6 * pivot, 200e6, 0);
            PolicySummary {
                name: names[i % names.len()].to_string(),
                kind: names[i % names.len()].to_string(),
                npv_usd: Stats { se: 3e6, ..npv },
                total_revenue_usd: fan(1.5e9 + 0.3e9 * pivot, 0.2e9, 0),
                terminal_net_reserve_usd: fan(120e6 - 40e6 * pivot, 60e6, 0),
                max_drawdown: fan(0.3, 0.1, 0),
                max_drawdown_net_usd: fan(60e6 + 40e6 * pivot, 25e6, 0),
                min_reserve_btc: fan(2500.0, 200.0, 0),
                npv_vs_baseline_usd: (i > 0).then_some(MeanSe {
                    mean: 150e6 * pivot - 20e6,
                    se: 1.5e6,
                }),
                terminal_net_reserve_vs_baseline_usd: (i > 0).then_some(MeanSe {
                    mean: -40e6 * pivot,
                    se: 1e6,
                }),
                conversions_started: Mean { mean: 16.0 * pivot },
                p_margin_call: 0.05 + 0.2 * pivot,
                p_liquidation: 0.01 + 0.04 * pivot,
                p_distress: 0.02 + 0.1 * pivot,
                mean_first_distress_month: Some(20.0),
                months,
            }
        })
        .collect();
    Summary {
        scenario: "demo".to_string(),
        scenario_sha256: "0".repeat(64),
        pivotsim_version: env!("CARGO_PKG_VERSION").to_string(),
        seed: 42,
        paths: 1000,
        months,
        start: "2026-02-01".to_string(),
        ai_mode: "gpu_cloud".to_string(),
        halvings: vec!["2028-04-15".to_string(), "2032-04-15".to_string()],
        evpi_usd: None,
        drivers: drivers(&names[1..n_policies.clamp(1, names.len())], 1000),
        worst_paths: Vec::new(),
        baseline: "hold".to_string(),
        elapsed_s: 1.0,
        run_started_utc: "2026-02-03T14:05:00Z".to_string(),
        percentiles: PercentileInfo {
            method: "exact".to_string(),
            pilot_paths: 1000,
            max_rank_error: 0.0,
            cvar5_max_error_usd: None,
        },
        market,
        policies,
        performance: Performance::default(),
    }
}

/// The drivers of the run's policies against the baseline (the first
/// name): plausible decile means (BTC's return and the hashprice pull the
/// difference down, AI demand and GPU prices lift it), ties in the jump
/// count that merge deciles 2-4 and 6-7, shares of R^2 that add up.
pub fn drivers(policies: &[&str], paths: u64) -> Vec<PolicyDrivers> {
    // name, slope of the decile means (USD per decile), share of R^2
    // (before scaling to the policy's R^2), mean when beats / otherwise.
    let specs: [(&str, f64, f64, f64, f64); 6] = [
        ("btc_log_return", -22e6, 0.46, -0.05, 0.31),
        ("hashprice_mean_usd_per_ph_day", -11e6, 0.18, 41.0, 47.5),
        ("btc_jumps", -3e6, 0.03, 1.4, 1.6),
        ("ai_demand_end_mw_it", 9e6, 0.21, 720.0, 610.0),
        ("gpu_hour_end_usd", 6e6, 0.10, 1.62, 1.41),
        ("ai_utilisation_mean", 4e6, 0.02, 0.83, 0.74),
    ];
    policies
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let scale = 1.0 + 0.6 * i as f64;
            let level = -40e6 + 35e6 * i as f64;
            let r_squared = 0.78 - 0.1 * i as f64;
            let drivers = specs
                .iter()
                .map(|&(driver, slope, share, beats, otherwise)| {
                    let decile_mean_usd = (0..10)
                        .map(|k| {
                            let merged = driver == "btc_jumps" && matches!(k, 1..=3 | 6);
                            let x = k as f64 - 4.5;
                            let curve = 0.08 * slope.abs() * x * x;
                            (!merged).then_some(level + scale * (slope * x + curve))
                        })
                        .collect();
                    DriverStats {
                        driver: driver.to_string(),
                        std_coef: scale * slope * 2.9,
                        rank_corr: (slope / 25e6).clamp(-1.0, 1.0),
                        contribution_to_variance: share * r_squared,
                        decile_mean_usd,
                        mean_when_beats: Some(beats),
                        mean_otherwise: Some(otherwise),
                        note: String::new(),
                    }
                })
                .collect();
            PolicyDrivers {
                policy: name.to_string(),
                paths,
                p_beats_baseline: 0.3 + 0.15 * i as f64,
                r_squared,
                p_margin_call_when_beats: Some(0.04 + 0.01 * i as f64),
                p_margin_call_otherwise: Some(0.12 + 0.02 * i as f64),
                drivers,
            }
        })
        .collect()
}
