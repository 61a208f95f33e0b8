use std::path::{Path, PathBuf};

use chrono::{Months, NaiveDate};
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;
use rand_distr::{Distribution, StandardNormal};

use super::hashrate::Grid;
use super::merton::Merton;
use super::*;
use crate::history::{Drivers, HistoryMonth};
use crate::model::calendar::DT_YEARS;

fn month(text: &str) -> NaiveDate {
    crate::history::parse_month(text).unwrap()
}

/// A history in memory: prices, fees, subsidies and hashrates by month.
fn history(first: NaiveDate, rows: &[(f64, f64, Option<f64>, f64)]) -> History {
    History {
        file: PathBuf::from("synthetic.csv"),
        sha256: "0".repeat(64),
        months: rows
            .iter()
            .enumerate()
            .map(|(i, &(price, fee, h, subsidy))| HistoryMonth {
                month: first + Months::new(i as u32),
                btc_price_usd_close: Some(price),
                btc_price_usd_mean: Some(price),
                hashrate_ehs_mean: h,
                fees_btc_per_block_mean: Some(fee),
                subsidy_btc: Some(subsidy),
                line: i as u64 + 2,
            })
            .collect(),
    }
}

fn reference_market() -> crate::scenario::Market {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/cango_2026.toml");
    crate::scenario::load(&path).unwrap().market
}

fn options(market: crate::scenario::Market, anchor: NaiveDate) -> Options {
    Options {
        from: None,
        to: None,
        start: None,
        fit_breakeven: false,
        seed: DEFAULT_SEED,
        scenario: market,
        scenario_start: anchor,
        scenario_file: "test".into(),
        grid: Grid::standard(),
    }
}

const TRUE_LAG: usize = 1;
const TRUE_LIFE: usize = 12;

/// A history drawn from the hashrate equation (lag 1, machine life 12)
/// with known parameters, a price path with crashes, three subsidy eras
/// and noisy fees; returns it with the true equation.
fn synthetic(months: usize, seed: u64) -> (History, Dynamics) {
    let first = month("2001-01");
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut z = || -> f64 { StandardNormal.sample(&mut rng) };
    let mut rows = Vec::with_capacity(months);
    let mut ln_s = 10.0_f64;
    for t in 0..months {
        let subsidy = match t * 3 / months {
            0 => 12.5,
            1 => 6.25,
            _ => 3.125,
        };
        let fee = 0.2 * (0.3 * z()).exp();
        rows.push((ln_s.exp(), fee, Some(1.0), subsidy));
        ln_s += 0.25 * DT_YEARS + 0.7 * DT_YEARS.sqrt() * z();
    }
    let truth = Dynamics {
        kappa_up_per_year: 3.0,
        kappa_down_per_year: 1.0,
        kappa_exit_per_year: 8.0,
        cash_cost_share: 0.6,
        sigma: 0.15,
        capitulation: true,
        breakeven_usd_per_eh_day: 2.0e5,
        efficiency_gain_per_year: 0.2,
        anchor: first,
    };
    let mut h = history(first, &rows);
    let d = Drivers::new(&h, 0, months, TRUE_LAG, TRUE_LIFE, first);
    // Start at the equilibrium of month 0.
    let mut ln_h = d.ln_value_eq_lagged[0].unwrap() - truth.ln_breakeven(0.0);
    for t in 0..months {
        h.months[t].hashrate_ehs_mean = Some(ln_h.exp());
        let step = truth.mean_step(&d, t, ln_h).unwrap();
        ln_h += step + truth.sigma * DT_YEARS.sqrt() * z();
    }
    (h, truth)
}

fn assert_within(name: &str, e: &Estimate, truth: f64, k: f64) {
    let se =
        e.se.unwrap_or_else(|| panic!("{name}: no SE ({e:?}), truth {truth}"));
    assert!(
        (e.estimate - truth).abs() <= k * se,
        "{name}: {} ± {se}, truth {truth}",
        e.estimate
    );
}

fn check_hashrate(fit: &hashrate::HashrateFit, truth: &Dynamics) {
    let values = [
        truth.kappa_up_per_year,
        truth.kappa_down_per_year,
        truth.kappa_exit_per_year,
        truth.cash_cost_share,
        truth.sigma,
    ];
    for (i, name) in [
        "kappa_up",
        "kappa_down",
        "kappa_exit",
        "cash_cost_share",
        "sigma",
    ]
    .iter()
    .enumerate()
    {
        assert_within(name, &fit.estimates[i], values[i], 4.0);
    }
}

#[test]
fn calibrate_fits_a_synthetic_history_back_and_the_grid_finds_its_cell() {
    let (h, truth) = synthetic(300, 7);
    let mut market = reference_market();
    market.hashrate.breakeven_usd_per_eh_day = truth.breakeven_usd_per_eh_day;
    market.hashrate.efficiency_gain_per_year = truth.efficiency_gain_per_year;
    let opts = options(market, truth.anchor);
    let c = calibrate(&h, &opts).unwrap();
    let fit = &c.hashrate;
    assert_eq!(
        (fit.lag_months, fit.machine_life_months),
        (TRUE_LAG, TRUE_LIFE),
        "grid: {:?}",
        fit.grid
    );
    assert_eq!(fit.grid.len(), 35);
    assert_eq!(fit.pairs, 299);
    check_hashrate(fit, &truth);
    // The break-even is the scenario's, carried.
    assert!((c.breakeven().dynamics.breakeven_at(truth.anchor) - 2.0e5).abs() < 1e-6);
}

#[test]
fn calibrate_fits_the_breakeven_of_a_synthetic_history() {
    let (h, truth) = synthetic(300, 11);
    let mut market = reference_market();
    // Starting values away from the truth.
    market.hashrate.breakeven_usd_per_eh_day = 1.4e5;
    market.hashrate.efficiency_gain_per_year = 0.1;
    let mut opts = options(market, truth.anchor);
    opts.fit_breakeven = true;
    opts.grid = Grid {
        lags: vec![TRUE_LAG],
        lives: vec![TRUE_LIFE],
        default: (TRUE_LAG, TRUE_LIFE),
    };
    let c = calibrate(&h, &opts).unwrap();
    check_hashrate(&c.hashrate, &truth);
    let e = &c.hashrate.estimates;
    assert_eq!(e.len(), 7);
    if e[5].identified && e[6].identified {
        assert_within("breakeven", &e[5], truth.breakeven_usd_per_eh_day, 4.0);
        assert_within(
            "efficiency_gain",
            &e[6],
            truth.efficiency_gain_per_year,
            4.0,
        );
    }
}

#[test]
fn calibrate_keeps_the_default_cell_unless_beaten_by_two_units() {
    // The kept cell is (3, 36), or a cell that beats it by at least 2
    // log-likelihood units and is the grid's best.
    let (h, _) = synthetic(120, 3);
    let opts = options(reference_market(), month("2001-01"));
    let fit = calibrate(&h, &opts).unwrap().hashrate;
    let default = fit
        .grid
        .iter()
        .find(|c| (c.lag_months, c.machine_life_months) == (3, 36))
        .unwrap();
    let best = fit
        .grid
        .iter()
        .map(|c| c.log_likelihood)
        .fold(f64::NEG_INFINITY, f64::max);
    if (fit.lag_months, fit.machine_life_months) == (3, 36) {
        assert!(best - default.log_likelihood < 2.0);
    } else {
        assert!(fit.log_likelihood - default.log_likelihood >= 2.0);
        assert_eq!(fit.log_likelihood, best);
    }
}

/// The Merton density term by term, written independently.
fn merton_direct(p: &Merton, r: f64) -> f64 {
    let dt = 1.0 / 12.0;
    let k = (p.jump_mean + p.jump_sd * p.jump_sd / 2.0).exp() - 1.0;
    let drift = (p.mu - p.sigma * p.sigma / 2.0 - p.lambda * k) * dt;
    let mut density = 0.0;
    let mut factorial = 1.0;
    for n in 0..=10 {
        if n > 0 {
            factorial *= n as f64;
        }
        let poisson = (-p.lambda * dt).exp() * (p.lambda * dt).powi(n) / factorial;
        let var = p.sigma * p.sigma * dt + n as f64 * p.jump_sd * p.jump_sd;
        let mean = drift + n as f64 * p.jump_mean;
        density += poisson * (-(r - mean).powi(2) / (2.0 * var)).exp()
            / (2.0 * std::f64::consts::PI * var).sqrt();
    }
    density.ln()
}

#[test]
fn calibrate_merton_likelihood_is_the_direct_sum() {
    let p = Merton {
        mu: 0.3,
        sigma: 0.6,
        lambda: 4.0,
        jump_mean: -0.1,
        jump_sd: 0.15,
    };
    let returns = [0.12, -0.35, 0.02];
    let direct: f64 = returns.iter().map(|&r| merton_direct(&p, r)).sum();
    assert!((p.log_likelihood(&returns) - direct).abs() < 1e-12);
    // No jumps: the normal density, by hand: mu 0, sigma 0.5, r 0.1.
    let normal = Merton {
        mu: 0.0,
        sigma: 0.5,
        lambda: 0.0,
        jump_mean: -0.1,
        jump_sd: 0.2,
    };
    assert!((normal.ln_density(0.1) - 0.724_057_805_582_605_9).abs() < 1e-12);
}

#[test]
fn calibrate_merton_fit_finds_jumps_in_jumpy_returns_and_not_in_normal_ones() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(5);
    let mut z = || -> f64 { StandardNormal.sample(&mut rng) };
    let normal: Vec<f64> = (0..240).map(|_| 0.5 * DT_YEARS.sqrt() * z()).collect();
    let fit = merton::fit(&normal);
    assert!(!fit.jumps_selected, "{fit:?}");
    assert!(fit.ll_jumps >= fit.ll_normal - 1e-6);
    assert_within("sigma", &fit.normal[1], 0.5, 4.0);
    // A crash of -40% every 20 months on a quiet diffusion.
    let jumpy: Vec<f64> = (0..240)
        .map(|t| 0.3 * DT_YEARS.sqrt() * z() + if t % 20 == 7 { -0.4 } else { 0.0 })
        .collect();
    let fit = merton::fit(&jumpy);
    assert!(fit.jumps_selected, "{fit:?}");
    assert_within("jump_lambda", &fit.jumps[2], 0.6, 4.0);
    assert_within("jump_mean", &fit.jumps[3], -0.4, 4.0);
}

#[test]
fn calibrate_fee_estimators_on_a_hand_case() {
    // 30 months of fees 1, 2, ..., 30 (months 0..29); the window is
    // months 12..29.
    let rows: Vec<(f64, f64, Option<f64>, f64)> = (0..30)
        .map(|i| (100.0, f64::from(i + 1), Some(1.0), 6.25))
        .collect();
    let h = history(month("2020-01"), &rows);
    let fit = fees::fit(&h, 12, 18, 9).unwrap();
    // The last 12 months are 19..=30: median 24.5.
    assert_eq!(fit.mean_btc.estimate, 24.5);
    assert_eq!(fit.months_mean, 12);
    // Month i (fee i + 1): ln(i + 1) - ln(mean of i - 11 ..= i) = ln((i + 1) / (i - 5.5)).
    let devs: Vec<f64> = (12..30)
        .map(|i| (f64::from(i + 1) / (f64::from(i) - 5.5)).ln())
        .collect();
    let mean = devs.iter().sum::<f64>() / 18.0;
    let sd = (devs.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / 17.0).sqrt();
    assert!((fit.sigma.estimate - sd).abs() < 1e-12);
    assert!((fit.sigma.se.unwrap() - sd / 34f64.sqrt()).abs() < 1e-12);
    assert_eq!(fit.months_sigma, 18);
    // The bootstrap: deterministic with the seed, positive, seed-dependent.
    let se = fit.mean_btc.se.unwrap();
    assert!(se > 0.0);
    assert_eq!(fees::fit(&h, 12, 18, 9).unwrap().mean_btc.se.unwrap(), se);
    assert_ne!(fees::fit(&h, 12, 18, 10).unwrap().mean_btc.se.unwrap(), se);
    assert_eq!(fees::median(&[3.0, 1.0, 2.0]), 2.0);
}

#[test]
fn calibrate_flags_a_flat_direction_as_not_identified() {
    // -ll depends on x0 only: x1 is not identified; x0's SE is 1 / sqrt(2).
    let f = |x: &[f64]| (x[0] - 1.0).powi(2);
    let t = [optim::Transform::Identity, optim::Transform::Identity];
    let e = optim::estimates(&f, &[1.0, 0.3], &t);
    assert!(e[0].identified && !e[1].identified);
    assert!((e[0].se.unwrap() - 0.5f64.sqrt()).abs() < 1e-6);
    assert_eq!(e[1].se, None);
    // At a bound: no SE.
    let t = [
        optim::Transform::Logistic { hi: 12.0 },
        optim::Transform::Identity,
    ];
    let e = optim::estimates(&f, &[12.0, 0.3], &t);
    assert!(e[0].at_bound && e[0].se.is_none() && e[0].identified);
    // At a bound along a flat direction: not identified.
    let g = |x: &[f64]| (x[1] - 1.0).powi(2);
    let e = optim::estimates(&g, &[12.0, 1.0], &t);
    assert!(e[0].at_bound && !e[0].identified && e[1].identified);
}

#[test]
fn calibrate_window_errors_name_the_flag() {
    let rows: Vec<(f64, f64, Option<f64>, f64)> =
        (0..40).map(|_| (100.0, 0.1, Some(1.0), 6.25)).collect();
    let h = history(month("2020-01"), &rows);
    let opts = |from: &str, to: &str| Options {
        from: Some(from.into()),
        to: Some(to.into()),
        ..options(reference_market(), month("2020-01"))
    };
    let err = |from: &str, to: &str| window(&h, &opts(from, to)).unwrap_err().to_string();
    assert!(err("2021-06", "2021-01").starts_with("--from"));
    assert!(err("2019-06", "2021-01").contains("--from: 2019-06 is outside"));
    assert!(err("2020-01", "2024-01").contains("--to: 2024-01 is outside"));
    assert!(err("2020-01", "2021-01").contains("at least 24"));
    assert!(err("2020-1", "2021-01").contains("YYYY-MM"));
    let w = window(&h, &opts("2020-01", "2022-04")).unwrap();
    assert_eq!((w.first, w.len), (0, 28));
    assert_eq!(w.start, month("2022-05"));
}
