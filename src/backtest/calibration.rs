//! The parameters of a `calibration.json` written by `pivotsim calibrate`,
//! read leniently: only the keys the backtest needs, each either an object
//! with an `estimate` or a bare number; other keys are ignored. A missing or
//! unusable key is a bad input naming the file and the key (exit code 2).

use std::path::Path;

use serde_json::Value;

use super::{DEFAULT_SEED, Params, SourceKind};
use crate::history::{Dynamics, parse_month};
use crate::scenario::ScenarioError;

/// The hashrate keys read as numbers, with their admissible range.
const RATES: [(&str, f64, f64); 4] = [
    ("kappa_up_per_year", 0.0, 12.0),
    ("kappa_down_per_year", 0.0, 12.0),
    ("kappa_exit_per_year", 0.0, 12.0),
    ("sigma", 0.0, 10.0),
];

/// Read the calibration in `file`: its hashrate dynamics with capitulation
/// on and the break-even anchored at the window's first month, and its
/// window (where the random walk is fitted).
pub fn load(file: &Path) -> Result<Params, ScenarioError> {
    let invalid = |key: &str, message: String| ScenarioError::Invalid {
        file: file.to_path_buf(),
        key: key.to_owned(),
        message,
    };
    let bytes = crate::scenario::read_capped(file)?;
    let root: Value = serde_json::from_slice(&bytes).map_err(|e| ScenarioError::Parse {
        file: file.to_path_buf(),
        message: format!("not a calibration.json (JSON): {e}"),
    })?;
    let number = |key: &str| -> Result<f64, ScenarioError> {
        let path = format!("hashrate.{key}");
        let value = root
            .get("hashrate")
            .and_then(|h| h.get(key))
            .ok_or_else(|| {
                invalid(
                    &path,
                    "missing; a calibration.json from `pivotsim calibrate` has it".into(),
                )
            })?;
        let estimate = value.get("estimate").unwrap_or(value);
        estimate.as_f64().filter(|x| x.is_finite()).ok_or_else(|| {
            invalid(
                &path,
                format!("expected a number as its estimate, got {estimate}"),
            )
        })
    };
    let ranged = |key: &str, lo: f64, hi: f64| -> Result<f64, ScenarioError> {
        let x = number(key)?;
        if (lo..=hi).contains(&x) {
            Ok(x)
        } else {
            Err(invalid(
                &format!("hashrate.{key}"),
                format!("{x} is outside [{lo}, {hi}]"),
            ))
        }
    };
    let integer = |key: &str, lo: usize, hi: usize| -> Result<usize, ScenarioError> {
        let x = number(key)?;
        if x.fract() == 0.0 && x >= lo as f64 && x <= hi as f64 {
            Ok(x as usize)
        } else {
            Err(invalid(
                &format!("hashrate.{key}"),
                format!("expected a whole number in {lo}..={hi}, got {x}"),
            ))
        }
    };
    let month = |key: &str| -> Result<chrono::NaiveDate, ScenarioError> {
        let path = format!("window.{key}");
        let text = root
            .get("window")
            .and_then(|w| w.get(key))
            .ok_or_else(|| invalid(&path, "missing; expected a month YYYY-MM".into()))?;
        text.as_str()
            .and_then(parse_month)
            .ok_or_else(|| invalid(&path, format!("expected a month YYYY-MM, got {text}")))
    };
    let [up, down, exit, sigma] = {
        let mut v = [0.0; 4];
        for (slot, (key, lo, hi)) in v.iter_mut().zip(RATES) {
            *slot = ranged(key, lo, hi)?;
        }
        v
    };
    let cash_cost_share = number("cash_cost_share")?;
    if !(cash_cost_share > 0.0 && cash_cost_share <= 1.0) {
        return Err(invalid(
            "hashrate.cash_cost_share",
            format!("{cash_cost_share} is outside (0, 1]"),
        ));
    }
    let breakeven = number("breakeven_usd_per_eh_day")?;
    if breakeven <= 0.0 {
        return Err(invalid(
            "hashrate.breakeven_usd_per_eh_day",
            format!("expected > 0, got {breakeven}"),
        ));
    }
    let efficiency_gain = ranged("efficiency_gain_per_year", -1.0, 1.0)?;
    let lag_months = integer("lag_months", 0, 120)?;
    let machine_life_months = integer("machine_life_months", 1, 600)?;
    let (from, to) = (month("from")?, month("to")?);
    if to < from {
        return Err(invalid(
            "window.to",
            "the window ends before it starts".into(),
        ));
    }
    // The calibration's folder names it (`output/calibrate-2018-01-2025-12/`).
    let name = file
        .canonicalize()
        .ok()
        .and_then(|p| {
            p.parent()?
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
        })
        .or_else(|| file.file_stem().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "calibration".to_owned());
    Ok(Params {
        kind: SourceKind::Calibration,
        name,
        file: file.to_path_buf(),
        dynamics: Dynamics {
            kappa_up_per_year: up,
            kappa_down_per_year: down,
            kappa_exit_per_year: exit,
            cash_cost_share,
            sigma,
            capitulation: true,
            breakeven_usd_per_eh_day: breakeven,
            efficiency_gain_per_year: efficiency_gain,
            anchor: from,
        },
        lag_months,
        machine_life_months,
        window: Some((from, to)),
        seed: DEFAULT_SEED,
    })
}
