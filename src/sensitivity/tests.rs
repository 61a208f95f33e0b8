//! The plan's rules (default set, clamping, rounding, skips, explicit
//! ranges), the calibration's fitted keys, and the bisection on known
//! functions. The runs themselves are tested against separate `pivotsim
//! run`s in `tests/integration/sensitivity.rs`.

use std::path::Path;

use super::breakeven::{bisect, mean_se};
use super::plan::{PlanOptions, in_default_set, plan, side};
use super::*;
use crate::scenario::Overrides;
use crate::scenario::edit::{Loaded, ScenarioDoc, as_read};

fn reference() -> Loaded {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/cango_2026.toml");
    ScenarioDoc::load(&file, &Overrides::default()).unwrap()
}

fn key(value: f64, (lo, lo_open, hi): (f64, bool, f64), integer: bool) -> NumericKey {
    NumericKey {
        key: "k".into(),
        value,
        lo,
        lo_open,
        hi,
        integer,
    }
}

fn opts(range: f64) -> PlanOptions {
    PlanOptions {
        range,
        ..PlanOptions::default()
    }
}

#[test]
fn the_default_set_is_the_nonzero_model_keys() {
    let l = reference();
    let set: Vec<&str> = l
        .keys
        .iter()
        .filter(|k| in_default_set(k))
        .map(|k| k.key.as_str())
        .collect();
    for k in [
        "market.btc.sigma",
        "market.ai_demand.growth_per_year",
        "market.correlation.matrix[0][1]",
        "regions[0].power_usd_per_mwh",
        "regions[2].lead_months",
        "treasury.reserve_btc",
        "loan.margin_call_ltv",
        "financing.capex_debt_rate",
        "valuation.discount_rate",
        "ai.lease_usd_per_mw_it_year",
    ] {
        assert!(set.contains(&k), "{k} missing from {set:?}");
    }
    for k in [
        "market.hashrate.kappa_down_per_year", // zero
        "market.hashrate.lag_months",          // zero
        "market.correlation.matrix[0][0]",     // the diagonal
        "market.correlation.matrix[1][0]",     // the mirror of [0][1]
        "market.correlation.matrix[0][2]",     // zero
        "policies[2].hurdle",                  // a policy's, not the model's
        "events[0].btc",
    ] {
        assert!(!set.contains(&k), "{k} in the default set");
    }
    assert!(set.iter().all(|k| !k.starts_with("simulation.")));
    let planned = plan(&l, &opts(0.2)).unwrap();
    assert_eq!(planned.len(), set.len());
}

#[test]
fn values_move_by_the_range_clamped_and_rounded() {
    let share = key(0.9, (0.0, false, 1.0), false);
    assert_eq!(side(&share, 0.9 * 0.8, true), Candidate::Run(0.72));
    assert_ne!(0.9 * 0.8, 0.72, "held as a file would hold it");
    assert_eq!(side(&share, 0.9 * 1.2, true), Candidate::Run(1.0));
    let full = key(1.0, (0.0, false, 1.0), false);
    match side(&full, 1.2, true) {
        Candidate::Skip { value, reason } => {
            assert_eq!(value, Some(1.0));
            assert!(reason.contains("equal to the base") && reason.contains("clamped"));
        }
        c => panic!("{c:?}"),
    }
    // Integers: half away from zero.
    let months = key(12.0, (1.0, false, 600.0), true);
    assert_eq!(side(&months, 12.0 * 0.8, true), Candidate::Run(10.0));
    assert_eq!(side(&months, 12.0 * 1.2, true), Candidate::Run(14.0));
    let five = key(5.0, (0.0, false, 100.0), true);
    assert_eq!(side(&five, 5.5, true), Candidate::Run(6.0));
    assert!(
        matches!(side(&five, 4.5, true), Candidate::Skip { .. }),
        "4.5 -> 5"
    );
    let neg = key(-2.0, (-10.0, false, 10.0), true);
    assert_eq!(side(&neg, -2.5, true), Candidate::Run(-3.0));
    // An excluded lower bound is skipped, not run.
    let uptime = key(0.5, (0.0, true, 1.0), false);
    match side(&uptime, 0.0, true) {
        Candidate::Skip { reason, .. } => assert!(reason.contains("outside"), "{reason}"),
        c => panic!("{c:?}"),
    }
}

#[test]
fn params_name_keys_and_refuse_others() {
    let l = reference();
    let p = PlanOptions {
        params: Some(vec![
            "market.btc.sigma".into(),
            "market.correlation.matrix[1][0]".into(),
            "market.btc.sigma".into(),
        ]),
        range: 0.5,
        ..PlanOptions::default()
    };
    let planned = plan(&l, &p).unwrap();
    assert_eq!(planned.len(), 2, "duplicates merged");
    assert_eq!(planned[0].low, Candidate::Run(as_read(0.66 * 0.5)));
    assert_eq!(planned[0].high, Candidate::Run(as_read(0.66 * 1.5)));
    for (bad, needle) in [
        ("market.btc.nope", "not a key"),
        ("ai.mode", "not a number"),
        ("simulation.paths", "setting of the run"),
    ] {
        let p = PlanOptions {
            params: Some(vec![bad.into()]),
            range: 0.2,
            ..PlanOptions::default()
        };
        let e = plan(&l, &p).unwrap_err().to_string();
        assert!(e.contains(bad) && e.contains(needle), "{e}");
    }
    for r in [0.0, -0.1, f64::NAN, f64::INFINITY] {
        assert!(plan(&l, &opts(r)).is_err(), "range {r}");
    }
}

/// A copy of the reference scenario with `extra` appended, loaded.
fn with_ranges(extra: &str) -> Result<Vec<Param>, String> {
    let dir = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let text = std::fs::read_to_string(root.join("cango_2026.toml")).unwrap();
    std::fs::copy(
        root.join("cango_fleet.csv"),
        dir.path().join("cango_fleet.csv"),
    )
    .unwrap();
    let file = dir.path().join("s.toml");
    std::fs::write(&file, format!("{text}\n{extra}\n")).unwrap();
    let l = ScenarioDoc::load(&file, &Overrides::default()).map_err(|e| e.to_string())?;
    plan(&l, &opts(0.2)).map_err(|e| e.to_string())
}

#[test]
fn the_ranges_table_sets_values_and_is_checked() {
    let planned = with_ranges(
        "[sensitivity.ranges]\n\"market.btc.sigma\" = [0.3, 0.6]\n\
         \"market.hashrate.kappa_down_per_year\" = [0, \"0.5\"]\n\"regions[0].lead_months\" = [6, 18]",
    )
    .unwrap();
    let find = |k: &str| planned.iter().find(|p| p.key.key == k).unwrap();
    let sigma = find("market.btc.sigma");
    assert_eq!(
        (sigma.source, &sigma.low, &sigma.high),
        (Source::Explicit, &Candidate::Run(0.3), &Candidate::Run(0.6))
    );
    // A zero key joins the set when the table names it; its low equals the base.
    let kd = find("market.hashrate.kappa_down_per_year");
    assert!(matches!(kd.low, Candidate::Skip { .. }));
    assert_eq!(kd.high, Candidate::Run(0.5));
    assert_eq!(find("regions[0].lead_months").low, Candidate::Run(6.0));
    for (entry, needle) in [
        ("\"market.btc.nope\" = [0.1, 0.2]", "not a key"),
        ("\"ai.mode\" = [0.1, 0.2]", "not a number"),
        ("\"market.btc.sigma\" = [0.3]", "two numbers"),
        ("\"market.btc.sigma\" = 0.3", "two numbers"),
        ("\"market.btc.sigma\" = [0.3, \"x\"]", "two numbers"),
        ("\"market.btc.sigma\" = [0.6, 0.3]", "low < high"),
        ("\"market.btc.sigma\" = [0.3, 2.5]", "allowed range [0, 2]"),
        ("\"regions[0].lead_months\" = [6.5, 18]", "integer"),
    ] {
        let e = with_ranges(&format!("[sensitivity.ranges]\n{entry}")).unwrap_err();
        assert!(
            e.contains("sensitivity.ranges") && e.contains(needle),
            "{entry}: {e}"
        );
    }
    let e = with_ranges("[sensitivity]\nrange = [1, 2]").unwrap_err();
    assert!(e.contains("unknown field"), "{e}");
}

#[test]
fn calibration_keys_are_the_fitted_ones() {
    let est = |e: f64, se: Option<f64>, at_bound: bool| serde_json::json!({"estimate": e, "se": se, "identified": true, "at_bound": at_bound});
    let json = serde_json::json!({
        "btc": {"sigma": est(0.66, Some(0.05), false), "jump_lambda_per_year": est(0.0, None, false),
                "mu_historical": est(0.49, Some(0.2), false)},
        "fees": {"mean_btc": est(0.032, Some(0.006), false), "sigma": est(1.0, Some(0.08), false)},
        "hashrate": {"kappa_down_per_year": est(0.0, Some(0.1), true),
                     "kappa_up_per_year": est(0.67, Some(0.11), false),
                     "breakeven_usd_per_eh_day": est(100.0, Some(10.0), false),
                     "breakeven_usd_per_eh_day_at_start": 50.0,
                     "breakeven_source": "fit"},
    });
    let fitted = calibration::fitted(&json).unwrap();
    let keys: Vec<&str> = fitted.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "market.btc.sigma",
            "market.fees.mean_btc",
            "market.fees.sigma",
            "market.hashrate.breakeven_usd_per_eh_day",
            "market.hashrate.kappa_up_per_year"
        ]
    );
    assert_eq!(
        fitted["market.hashrate.breakeven_usd_per_eh_day"],
        (50.0, 5.0)
    );
    let l = reference();
    let p = PlanOptions {
        params: Some(vec!["market.btc.sigma".into(), "market.btc.mu".into()]),
        range: 0.2,
        calibration: fitted,
    };
    let planned = plan(&l, &p).unwrap();
    assert_eq!(planned[0].low, Candidate::Run(as_read(0.66 - 0.1)));
    assert_eq!(planned[0].high, Candidate::Run(as_read(0.66 + 0.1)));
    assert_eq!(planned[1].source, Source::Range(0.2));
    assert!(calibration::fitted(&serde_json::json!({"x": 1})).is_err());
}

fn ms(mean: f64, se: f64) -> MeanSe {
    MeanSe { mean, se }
}

#[test]
fn bisection_finds_a_known_crossing_inside_its_bracket() {
    // A difference of slope 2 crossing at 0.3, SE 1e-3: the crossing's SE
    // is 5e-4, and the bracket stops below it or at 1e-3 of the width.
    let s = bisect(0.0, 1.0, false, |x| Ok(ms(2.0 * (x - 0.3), 1e-3)));
    let x = s.crossing.unwrap();
    let [lo, hi] = s.bracket.unwrap();
    assert!(lo <= x && x <= hi && lo < 0.3 && 0.3 < hi, "{s:?}");
    assert!((x - 0.3).abs() < 1e-12, "linear: the secant is exact");
    assert!((s.se.unwrap() - 5e-4).abs() < 1e-12);
    assert!(hi - lo < 5e-4 || hi - lo <= 1e-3);
    assert_eq!(s.evaluations.len(), s.iterations + 2);
    // A nonlinear one: the bracket holds the root.
    let s = bisect(2.0, 0.0, false, |x| Ok(ms(x * x * x - 0.5, 0.0)));
    let [lo, hi] = s.bracket.unwrap();
    let root = 0.5f64.cbrt();
    assert!(lo <= root && root <= hi && hi - lo <= 2e-3, "{s:?}");
    // An integer key ends on adjacent integers.
    let s = bisect(0.0, 10.0, true, |x| Ok(ms(x - 3.5, 0.1)));
    assert_eq!(s.bracket, Some([3.0, 4.0]));
    assert!(s.evaluations.iter().all(|e| e.value.fract() == 0.0));
}

#[test]
fn no_crossing_is_reported_with_the_reason() {
    let s = bisect(0.0, 1.0, false, |x| Ok(ms(1.0 + x, 0.1)));
    assert_eq!(s.crossing, None);
    assert!(s.reason.unwrap().contains("same sign"));
    let s = bisect(0.0, 1.0, false, |_| Ok(ms(0.0, 0.0)));
    assert!(s.reason.unwrap().contains("act alike at 0 and 1"));
    // A policy that stops acting above 0.5: a tie, not a crossing.
    let s = bisect(0.0, 1.0, false, |x| {
        Ok(if x < 0.5 { ms(-1.0, 0.1) } else { ms(0.0, 0.0) })
    });
    assert_eq!(s.crossing, None);
    assert!(s.reason.unwrap().contains("act alike at 1"));
    let s = bisect(0.0, 1.0, false, |x| {
        Ok(if x < 0.5 {
            ms(-1.0, 0.1)
        } else if x < 0.9 {
            ms(0.0, 0.0)
        } else {
            ms(1.0, 0.1)
        })
    });
    assert_eq!(s.crossing, None);
    assert!(
        s.reason.as_deref().unwrap().contains("act alike at 0.5"),
        "{s:?}"
    );
    // A mean of exactly zero by chance, with an SE, is a crossing there.
    let s = bisect(0.0, 1.0, false, |x| Ok(ms(x - 0.5, 0.1)));
    assert_eq!(s.crossing, Some(0.5));
    let s = bisect(0.0, 1.0, false, |x| {
        if x > 0.0 && x < 1.0 {
            Err("invalid at the middle".into())
        } else {
            Ok(ms(x - 0.5, 0.1))
        }
    });
    assert_eq!(s.crossing, None);
    assert_eq!(s.reason.as_deref(), Some("invalid at the middle"));
}

#[test]
fn mean_se_is_the_sample_formula() {
    let v = [1.0, 2.0, 3.0, 4.0];
    let m = mean_se(v.iter().copied());
    assert_eq!(m.mean, 2.5);
    let sd = (5.0f64 / 3.0).sqrt();
    assert!((m.se - sd / 2.0).abs() < 1e-15);
}

#[test]
fn a_swing_spans_the_base_and_both_sides() {
    let s = Swing {
        base: 1.0,
        low: Some(3.0),
        high: None,
    };
    assert_eq!((s.extent(), s.width()), ((1.0, 3.0), 2.0));
}
