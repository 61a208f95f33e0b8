//! The run's value of information (EVPI), lower-tail means (CVaR) and
//! drivers against direct computations from every path's replay.

use pivotsim::engine::drivers::{DRIVER_PATHS, MARKET_DRIVERS};
use pivotsim::engine::{Engine, PILOT_PATHS, RunOptions};
use pivotsim::scenario::Scenario;
use pivotsim::stats::cvar::cvar_lower_exact;
use pivotsim::stats::drivers::analyse;
use pivotsim::summary::Summary;

use crate::common::load;

fn run(sc: Scenario, paths: u64, threads: usize) -> (Engine, Summary) {
    let mut sc = sc;
    sc.simulation.paths = paths;
    let engine = Engine::new(sc);
    let summary = engine.run(&RunOptions {
        threads,
        ..RunOptions::default()
    });
    (engine, summary)
}

/// Every policy's NPV and terminal net reserve on every path, and the
/// path's driver values (market, then per policy utilisation and margin
/// call), by replaying each path on its own.
struct PerPath {
    npv: Vec<Vec<f64>>,
    terminal: Vec<Vec<f64>>,
    market: Vec<[f64; 5]>,
    utilisation: Vec<Vec<f64>>,
    margin_call: Vec<Vec<bool>>,
}

fn per_path(engine: &Engine, paths: u64) -> PerPath {
    let n = engine.scenario.policies.len();
    let mut out = PerPath {
        npv: vec![Vec::new(); n],
        terminal: vec![Vec::new(); n],
        market: Vec::new(),
        utilisation: vec![Vec::new(); n],
        margin_call: vec![Vec::new(); n],
    };
    for path in 0..paths {
        let inputs = engine.path_inputs(path);
        let m = &inputs.market;
        let t = m.months() - 1;
        let hashprice: f64 = m.hashprice_usd_per_eh_day.iter().map(|x| x / 1000.0).sum();
        out.market.push([
            (m.btc_price_usd[t] / m.btc_price_usd[0]).ln(),
            hashprice / m.months() as f64,
            f64::from(m.btc_jumps),
            m.ai_demand_mw_it[t],
            m.gpu_hour_usd[t],
        ]);
        for p in 0..n {
            let o = engine.replay_inputs(&inputs, p, |_| {});
            out.npv[p].push(o.npv_usd);
            out.terminal[p].push(o.terminal_net_reserve_usd);
            out.utilisation[p].push(o.ai_utilisation_mean);
            out.margin_call[p].push(o.margin_call);
        }
    }
    out
}

/// EVPI = E[max_p NPV_p] - max_p E[NPV_p], with the SE of the per-path
/// max_p NPV_p - NPV_p*: within 1e-9 relative of the direct computation.
#[test]
fn evpi_is_the_direct_computation_from_every_paths_npv() {
    let paths = 600;
    let (engine, summary) = run(load("cango_2026"), paths, 2);
    let per = per_path(&engine, paths);
    let n = paths as f64;
    let means: Vec<f64> = per.npv.iter().map(|v| v.iter().sum::<f64>() / n).collect();
    let best = (0..means.len()).fold(0, |b, p| if means[p] > means[b] { p } else { b });
    let regret: Vec<f64> = (0..paths as usize)
        .map(|i| {
            per.npv
                .iter()
                .map(|v| v[i])
                .fold(f64::NEG_INFINITY, f64::max)
                - per.npv[best][i]
        })
        .collect();
    let mean = regret.iter().sum::<f64>() / n;
    let var = regret.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / (n - 1.0);
    let evpi = summary.evpi_usd.expect("EVPI with policies");
    assert!(mean > 0.0, "the reference's policies differ on some path");
    assert!(
        (evpi.mean - mean).abs() <= 1e-9 * mean.abs(),
        "{} vs {mean}",
        evpi.mean
    );
    let se = (var / n).sqrt();
    assert!((evpi.se - se).abs() <= 1e-9 * se, "{} vs {se}", evpi.se);
    // E[max] - max E: the same figure.
    let e_max = per.npv[0]
        .iter()
        .enumerate()
        .map(|(i, _)| {
            per.npv
                .iter()
                .map(|v| v[i])
                .fold(f64::NEG_INFINITY, f64::max)
        })
        .sum::<f64>()
        / n;
    assert!((evpi.mean - (e_max - means[best])).abs() <= 1e-9 * mean);
}

/// Two policies of one rule: no information is worth anything, exactly.
#[test]
fn evpi_is_exactly_zero_for_identical_policies() {
    let mut sc = load("smoke");
    let mut twin = sc.policies[sc.baseline].clone();
    twin.name = "twin".into();
    sc.policies = vec![sc.policies[sc.baseline].clone(), twin];
    sc.baseline = 0;
    let (_, summary) = run(sc, 300, 2);
    let evpi = summary.evpi_usd.expect("EVPI with policies");
    assert_eq!((evpi.mean, evpi.se), (0.0, 0.0));
}

/// CVaR 5% against a sort: exact up to the pilot's paths; past it, within
/// the reported error bound.
#[test]
fn cvar_is_the_mean_of_the_worst_twentieth() {
    for (paths, exact) in [(1000, true), (PILOT_PATHS + 1300, false)] {
        let (engine, summary) = run(load("cango_2026"), paths, 2);
        let per = per_path(&engine, paths);
        let bound = summary.percentiles.cvar5_max_error_usd.expect("a bound");
        if exact {
            assert_eq!(bound, 0.0);
        }
        for (p, s) in summary.policies.iter().enumerate() {
            for (values, got) in [
                (&per.npv[p], s.npv_usd.cvar5),
                (&per.terminal[p], s.terminal_net_reserve_usd.cvar5),
            ] {
                let want = cvar_lower_exact(values, 0.05);
                let got = got.expect("cvar5 on npv and terminal net reserve");
                // The sums behind it are rounded to 2^-20 USD a value.
                let slack = bound + 1e-6 * paths as f64 + 1e-12 * want.abs();
                assert!(
                    (got - want).abs() <= slack,
                    "{paths} paths, {}: {got} vs {want} (bound {bound})",
                    s.name
                );
                assert!(got <= s.npv_usd.mean.max(s.terminal_net_reserve_usd.mean));
            }
        }
    }
}

/// The drivers are those of every path's own values, in path order, on
/// the first min(paths, DRIVER_PATHS) paths, whatever the threads.
#[test]
fn drivers_are_those_of_each_paths_replay() {
    let paths = 3 * 256 + 17;
    assert!(paths < DRIVER_PATHS);
    let (engine, summary) = run(load("cango_2026"), paths, 2);
    let (_, one_thread) = run(load("cango_2026"), paths, 1);
    assert_eq!(summary.drivers, one_thread.drivers);
    let per = per_path(&engine, paths);
    let base = engine.scenario.baseline;
    let policies: Vec<usize> = (0..per.npv.len()).filter(|&p| p != base).collect();
    assert_eq!(summary.drivers.len(), policies.len());
    for (d, &p) in summary.drivers.iter().zip(&policies) {
        assert_eq!(d.policy, engine.scenario.policies[p].name);
        assert_eq!(d.paths, paths);
        let diff: Vec<f64> = per.npv[p]
            .iter()
            .zip(&per.npv[base])
            .map(|(a, b)| a - b)
            .collect();
        let beats: Vec<bool> = diff.iter().map(|&x| x > 0.0).collect();
        let columns: Vec<Vec<f64>> = (0..MARKET_DRIVERS.len())
            .map(|k| per.market.iter().map(|m| m[k]).collect())
            .collect();
        let mut x: Vec<&[f64]> = columns.iter().map(Vec::as_slice).collect();
        x.push(&per.utilisation[p]);
        let want = analyse(&x, &diff, &beats);
        assert_eq!(
            d.r_squared.to_bits(),
            want.r_squared.to_bits(),
            "{}",
            d.policy
        );
        for (got, want) in d.drivers.iter().zip(&want.columns) {
            assert_eq!(
                got.std_coef.to_bits(),
                want.std_coef.to_bits(),
                "{}",
                got.driver
            );
            assert_eq!(got.rank_corr.to_bits(), want.rank_corr.to_bits());
            assert_eq!(got.decile_mean_usd, want.decile_means.to_vec());
        }
        let wins = beats.iter().filter(|&&b| b).count();
        assert_eq!(d.p_beats_baseline, wins as f64 / paths as f64);
        let calls_when_beats = per.margin_call[p]
            .iter()
            .zip(&beats)
            .filter(|(c, b)| **b && **c)
            .count();
        if wins > 0 {
            let want = calls_when_beats as f64 / wins as f64;
            assert_eq!(d.p_margin_call_when_beats, Some(want));
        }
    }
}
