use std::path::{Path, PathBuf};

use chrono::{Months, NaiveDate};
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;
use rand_distr::{Distribution, StandardNormal};

use super::simulate::{SPAN, simulate_ln_h};
use super::*;
use crate::history::Drivers;
use crate::model::calendar::DT_YEARS;

const HEADER: &str = "month,btc_price_usd_close,btc_price_usd_mean,hashrate_ehs_mean,fees_btc_per_block_mean,subsidy_btc\n";

fn shipped() -> History {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/history/btc_history_monthly.csv");
    History::load(&path).unwrap()
}

fn month(text: &str) -> NaiveDate {
    parse_month(text).unwrap()
}

const FIRST: &str = "2015-01";
const MONTHS: usize = 84;

/// A synthetic history of `MONTHS` months from `FIRST`: a wavy BTC price
/// (seeded), fees 0.2 BTC, the subsidy halving in month 40 (on its 1st),
/// and hashrate `h[i]`.
fn history_text(price: &[f64], h: &[f64]) -> String {
    let mut text = HEADER.to_owned();
    for i in 0..MONTHS {
        let m = month(FIRST) + Months::new(i as u32);
        let subsidy = if i < 40 { 6.25 } else { 3.125 };
        text += &format!(
            "{},{p},{p},{},0.2,{subsidy}\n",
            month_label(m),
            h[i],
            p = price[i]
        );
    }
    text
}

fn load_text(text: &str) -> (tempfile::TempDir, History) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.csv");
    std::fs::write(&path, text).unwrap();
    let h = History::load(&path).unwrap();
    (dir, h)
}

fn prices(seed: u64) -> Vec<f64> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut ln_s = 30_000f64.ln();
    (0..MONTHS)
        .map(|i| {
            let z: f64 = StandardNormal.sample(&mut rng);
            ln_s += 0.12 * z + 0.03 * (i as f64 / 5.0).sin();
            ln_s.exp()
        })
        .collect()
}

fn params(dynamics: Dynamics, lag_months: usize, machine_life_months: usize) -> Params {
    Params {
        kind: SourceKind::Scenario,
        name: "synthetic".into(),
        file: PathBuf::from("synthetic.toml"),
        dynamics,
        lag_months,
        machine_life_months,
        window: None,
        seed: 1,
    }
}

/// The parameters the synthetic histories are generated with.
fn true_params() -> Params {
    params(
        Dynamics {
            kappa_up_per_year: 3.0,
            kappa_down_per_year: 1.0,
            kappa_exit_per_year: 6.0,
            cash_cost_share: 0.6,
            sigma: 0.15,
            capitulation: true,
            breakeven_usd_per_eh_day: 60_000.0,
            efficiency_gain_per_year: 0.1,
            anchor: month(FIRST),
        },
        2,
        12,
    )
}

/// A history whose hashrate follows `p`'s equation (with its noise, seeded)
/// on the synthetic drivers.
fn generated_history(p: &Params, seed: u64) -> (tempfile::TempDir, History) {
    let price = prices(seed);
    let (_dir, placeholder) = load_text(&history_text(&price, &vec![1.0; MONTHS]));
    let d = Drivers::new(
        &placeholder,
        0,
        MONTHS,
        p.lag_months,
        p.machine_life_months,
        p.dynamics.anchor,
    );
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed ^ 0xabcd);
    let vol = p.dynamics.sigma * DT_YEARS.sqrt();
    let mut ln_h = vec![400f64.ln()];
    for t in 0..MONTHS - 1 {
        let z: f64 = StandardNormal.sample(&mut rng);
        let next = ln_h[t] + p.dynamics.mean_step(&d, t, ln_h[t]).unwrap() + vol * z;
        ln_h.push(next);
    }
    let h: Vec<f64> = ln_h.iter().map(|x| x.exp()).collect();
    load_text(&history_text(&price, &h))
}

#[test]
fn the_halvings_of_the_shipped_file_and_the_default_events() {
    let h = shipped();
    let labels = |ms: Vec<NaiveDate>| ms.into_iter().map(month_label).collect::<Vec<_>>();
    assert_eq!(
        labels(halvings(&h)),
        ["2016-07", "2020-05", "2024-04"],
        "a halving after the 1st drops the subsidy in two months; the event is the first"
    );
    let events = default_events(&h);
    let got: Vec<(String, EventKind)> = events
        .iter()
        .map(|e| (month_label(e.month), e.kind))
        .collect();
    use EventKind::*;
    assert_eq!(
        got,
        [
            ("2016-07".to_owned(), Halving),
            ("2018-11".to_owned(), Capitulation),
            ("2020-05".to_owned(), Halving),
            ("2022-06".to_owned(), Capitulation),
            ("2024-04".to_owned(), Halving),
        ]
    );
}

#[test]
fn events_the_model_cannot_start_before_are_bad_inputs() {
    let h = shipped();
    for (m, needle) in [
        ("2014-02", "before the file's first month 2014-01"),
        ("2030-01", "not in the file"),
    ] {
        let e = events_of(&h, &[month(m)]).unwrap_err().to_string();
        assert!(e.contains("btc_history_monthly.csv"), "{e}");
        assert!(e.contains(needle), "{e}");
    }
    // A synthetic file whose hashrate is missing in the start month.
    let mut hs = vec![400.0; MONTHS];
    hs[10] = f64::NAN;
    let text = history_text(&vec![100.0; MONTHS], &hs).replace(",NaN,", ",,");
    let (_dir, synthetic) = load_text(&text);
    let e = events_of(&synthetic, &[month(FIRST) + Months::new(13)])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("the observed hashrate of 2015-11, which is missing"),
        "{e}"
    );
    let e = events_of(&h, &[month("2021-03"), month("2021-03")]).unwrap();
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].kind, EventKind::Other);
}

/// With a tiny noise every path is the deterministic equation: the median
/// is `Dynamics::mean_step` stepped from the start, month by month, in both
/// branches.
#[test]
fn with_tiny_sigma_the_median_is_the_equation_stepped() {
    let mut p = true_params();
    // Revision 4's pricing of the subsidy: the halving takes the hashprice
    // below the cash cost, so both branches are stepped.
    p.dynamics.sigma = 1e-9;
    p.machine_life_months = 1;
    p.dynamics.cash_cost_share = 0.95;
    let (_dir, h) = generated_history(&true_params(), 5);
    let event = Event {
        month: month(FIRST) + Months::new(40),
        kind: EventKind::Halving,
    };
    let s = 40 - LEAD_MONTHS;
    let h0 = h.months[s].hashrate_ehs_mean.unwrap();
    let rw = RandomWalk::fit(&h, month(FIRST), month("2021-12")).unwrap();
    let result = simulate::event(&h, &p, &rw, &event, 3, 101);
    let d = Drivers::new(&h, s, SPAN, p.lag_months, 1, p.dynamics.anchor);
    let mut x = h0.ln();
    let (mut exits, mut entries) = (0, 0);
    for t in 0..=SPAN {
        let median = result.months[t].hashrate_ehs.unwrap()[2];
        assert!(
            (median / x.exp() - 1.0).abs() < 1e-6,
            "month {t}: median {median} vs equation {}",
            x.exp()
        );
        if t < SPAN {
            let step = p.dynamics.mean_step(&d, t, x).unwrap();
            // Which branch: the exit branch pulls down at kappa_exit.
            let mut no_exit = p.dynamics.clone();
            no_exit.capitulation = false;
            if no_exit.mean_step(&d, t, x).unwrap() != step {
                exits += 1;
            } else {
                entries += 1;
            }
            x += step;
        }
    }
    assert!(
        exits > 0 && entries > 0,
        "exit months {exits}, gap months {entries}"
    );
    // The rows read the same fans.
    for r in &result.rows {
        let fan = result.months[LEAD_MONTHS + r.horizon_months]
            .hashrate_ehs
            .unwrap();
        assert_eq!(r.hashrate_ehs, Some([fan[0], fan[2], fan[4]]));
    }
}

#[test]
fn the_true_parameters_score_better_than_wrong_ones() {
    let truth = true_params();
    let mut wrong = truth.clone();
    wrong.dynamics.kappa_up_per_year = 0.3;
    wrong.dynamics.kappa_down_per_year = 0.1;
    wrong.dynamics.capitulation = false;
    wrong.dynamics.breakeven_usd_per_eh_day *= 4.0;
    wrong.dynamics.sigma = 0.05;
    let mut wins = 0;
    for seed in [1, 2, 3] {
        let (_dir, h) = generated_history(&truth, seed);
        let events =
            events_of(&h, &[month("2016-01"), month("2018-05"), month("2020-06")]).unwrap();
        let good = run(&h, &truth, &events, 7, 500).unwrap();
        let bad = run(&h, &wrong, &events, 7, 500).unwrap();
        assert_eq!(good.scored_rows, 12);
        let (g, b) = (good.score.unwrap(), bad.score.unwrap());
        assert!(g.is_finite() && b.is_finite());
        if g > b + 1.0 {
            wins += 1;
        }
    }
    assert_eq!(wins, 3, "the true parameters must win on every history");
}

#[test]
fn the_same_seed_gives_the_same_bytes_and_events_are_independent() {
    let h = shipped();
    let sc = crate::scenario::load(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/scenarios/cango_2026.toml"),
    )
    .unwrap();
    let p = Params::of_scenario(&sc, Path::new("cango_2026.toml"));
    let events = default_events(&h);
    let a = run(&h, &p, &events, 9, 300).unwrap();
    let b = run(&h, &p, &events, 9, 300).unwrap();
    assert_eq!(report::csv(&a), report::csv(&b));
    assert_eq!(report::json(&a), report::json(&b));
    let c = run(&h, &p, &events, 10, 300).unwrap();
    assert_ne!(report::csv(&a), report::csv(&c));
    // One event alone gives the same rows as among the others.
    let alone = run(&h, &p, &events[2..3], 9, 300).unwrap();
    assert_eq!(alone.events[0].rows, a.events[2].rows);
}

/// An event near the file's end: a month with an empty hashrate cell has a
/// fan but no actual; months past the file's drivers have neither; neither
/// is scored.
#[test]
fn months_without_an_actual_are_written_blank_and_not_scored() {
    let h = shipped();
    let sc = crate::scenario::load(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/cango_2026.toml"),
    )
    .unwrap();
    let p = Params::of_scenario(&sc, Path::new("cango_2026.toml"));
    let events = events_of(&h, &[month("2026-03")]).unwrap();
    let b = run(&h, &p, &events, 1, 200).unwrap();
    let rows = &b.events[0].rows;
    // h = 1: 2026-04, observed.
    assert!(rows[1].actual_hashrate_ehs.is_some() && rows[1].scored());
    // h = 3: 2026-06, hashrate cell empty; the model's fan is there.
    assert_eq!(rows[2].actual_hashrate_ehs, None);
    assert!(rows[2].hashrate_ehs.is_some());
    assert!(rows[2].log_density_hashrate.is_none() && !rows[2].scored());
    // h = 6 and 12: past the file.
    for r in &rows[3..] {
        assert_eq!((r.actual_hashrate_ehs, r.hashrate_ehs), (None, None));
        assert!(!r.scored());
    }
    assert_eq!(b.scored_rows, 1);
    assert_eq!(b.score, rows[1].log_density_hashrate);
    let csv = String::from_utf8(report::csv(&b)).unwrap();
    let last = csv.lines().last().unwrap();
    assert_eq!(last, "2026-03,12,,,,,,,,,");
}

#[test]
fn the_random_walk_is_fitted_on_the_one_month_changes() {
    let price = vec![100.0; MONTHS];
    let mut hs: Vec<f64> = vec![1.0; MONTHS];
    for i in 1..MONTHS {
        hs[i] = hs[i - 1] * if i % 2 == 0 { 1.3 } else { 1.1 };
    }
    let (_dir, h) = load_text(&history_text(&price, &hs));
    let rw = RandomWalk::fit(&h, month("2015-01"), month("2015-05")).unwrap();
    // Changes ln 1.1, ln 1.3, ln 1.1, ln 1.3.
    let (a, b) = (1.1f64.ln(), 1.3f64.ln());
    assert_eq!(rw.steps, 4);
    assert!((rw.drift_per_month - (a + b) / 2.0).abs() < 1e-12);
    let var = 4.0 * ((a - b) / 2.0).powi(2) / 3.0;
    assert!((rw.vol_per_month - var.sqrt()).abs() < 1e-12);
    // Its density k months on: Normal(ln h0 + k drift, k vol^2).
    let got = rw.log_density(0.0, 4, 0.5);
    let sd = 2.0 * var.sqrt();
    let z = (0.5 - 4.0 * rw.drift_per_month) / sd;
    let expected = -0.5 * z * z - sd.ln() - 0.5 * (2.0 * std::f64::consts::PI).ln();
    assert!((got - expected).abs() < 1e-12);
}

fn calibration_json(drop: Option<&str>) -> String {
    let mut v = serde_json::json!({
        "hashrate": {
            "kappa_up_per_year": {"estimate": 4.2, "se": 1.0, "at_bound": false, "identified": true},
            "kappa_down_per_year": {"estimate": 0.8, "se": 0.2, "at_bound": false, "identified": true},
            "kappa_exit_per_year": {"estimate": 12.0, "se": null, "at_bound": true, "identified": true},
            "cash_cost_share": {"estimate": 0.55, "se": 0.1, "at_bound": false, "identified": true},
            "sigma": {"estimate": 0.21, "se": 0.02, "at_bound": false, "identified": true},
            "efficiency_gain_per_year": {"estimate": 0.2, "se": null, "at_bound": false, "identified": false},
            "breakeven_usd_per_eh_day": {"estimate": 90000.0, "se": null, "at_bound": false, "identified": false},
            "breakeven_usd_per_eh_day_at_window_end": {"estimate": 20000.0},
            "lag_months": {"estimate": 3},
            "machine_life_months": {"estimate": 36}
        },
        "window": {"from": "2018-01", "to": "2025-12"}
    });
    if let Some(key) = drop {
        let (group, name) = key.split_once('.').unwrap();
        v[group].as_object_mut().unwrap().remove(name);
    }
    v.to_string()
}

#[test]
fn a_calibration_is_read_by_its_key_names() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("calibrate-2018-01-2025-12");
    std::fs::create_dir(&folder).unwrap();
    let file = folder.join("calibration.json");
    std::fs::write(&file, calibration_json(None)).unwrap();
    let p = calibration::load(&file).unwrap();
    assert_eq!(p.kind, SourceKind::Calibration);
    assert_eq!(p.name, "calibrate-2018-01-2025-12");
    assert_eq!(p.dynamics.kappa_up_per_year, 4.2);
    assert_eq!(p.dynamics.kappa_exit_per_year, 12.0);
    assert_eq!(p.dynamics.breakeven_usd_per_eh_day, 90000.0);
    assert_eq!(p.dynamics.anchor, month("2018-01"));
    assert!(p.dynamics.capitulation);
    assert_eq!((p.lag_months, p.machine_life_months), (3, 36));
    assert_eq!(p.window, Some((month("2018-01"), month("2025-12"))));
    for key in [
        "hashrate.sigma",
        "hashrate.lag_months",
        "hashrate.breakeven_usd_per_eh_day",
        "window.from",
    ] {
        std::fs::write(&file, calibration_json(Some(key))).unwrap();
        let e = calibration::load(&file).unwrap_err().to_string();
        assert!(e.contains("calibration.json"), "{e}");
        assert!(e.contains(key), "{e}");
    }
    std::fs::write(&file, "{ not json").unwrap();
    assert!(calibration::load(&file).is_err());
}

#[test]
fn a_calibration_backtest_fits_the_random_walk_on_its_window() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("calibration.json");
    std::fs::write(&file, calibration_json(None)).unwrap();
    let p = calibration::load(&file).unwrap();
    let h = shipped();
    let b = run(&h, &p, &default_events(&h), 1, 100).unwrap();
    assert_eq!(b.random_walk.from, month("2018-01"));
    assert_eq!(b.random_walk.to, month("2025-12"));
    assert_eq!(b.random_walk.steps, 95);
    assert!(b.score.unwrap().is_finite());
}

#[test]
fn simulated_paths_do_not_depend_on_the_path_count() {
    let (_dir, h) = generated_history(&true_params(), 4);
    let p = true_params();
    let e = month(FIRST) + Months::new(20);
    let few = simulate_ln_h(&h, &p, 17, 6.0, 3, e, 10);
    let many = simulate_ln_h(&h, &p, 17, 6.0, 3, e, 50);
    for t in 0..=SPAN {
        assert_eq!(few[t][..], many[t][..10]);
    }
}

#[test]
fn the_percentile_rank_counts_ties_half() {
    let v = [1.0, 2.0, 3.0, 4.0];
    assert_eq!(forecast::percentile_rank(&v, 0.5), 0.0);
    assert_eq!(forecast::percentile_rank(&v, 2.0), 37.5);
    assert_eq!(forecast::percentile_rank(&v, 9.0), 100.0);
}
