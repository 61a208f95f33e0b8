//! `--from-calibration FILE`: the keys `pivotsim calibrate` fitted, with
//! their estimates and standard errors, read from its `calibration.json`
//! (`crate::calibrate::output::json`).
//!
//! A key is fitted when its estimate has a standard error, is identified
//! and is not at a bound of the fit: BTC volatility and, when the jump
//! model was selected, the jumps (`btc.*`: the selected model's figures);
//! the fees' mean and dispersion; the hashrate equation's speeds, noise and
//! cash-cost share; the break-even and efficiency gain when they were
//! fitted (`hashrate.breakeven_source = "fit"`). The historical drift is a
//! view, not a key (`calibrate` does not write it). The break-even is
//! estimated at the window's first month and carried to the scenario's
//! start by the efficiency gain; its SE is carried with it (the same
//! factor), so the key moves to `b_start (1 -+ 2 SE / estimate)`.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use super::BadInput;

/// The calibration's groups and their keys in the scenario.
const KEYS: [(&str, &str, &[&str]); 3] = [
    (
        "btc",
        "market.btc.",
        &["sigma", "jump_lambda_per_year", "jump_mean", "jump_sd"],
    ),
    ("fees", "market.fees.", &["mean_btc", "sigma"]),
    (
        "hashrate",
        "market.hashrate.",
        &[
            "kappa_up_per_year",
            "kappa_down_per_year",
            "kappa_exit_per_year",
            "cash_cost_share",
            "sigma",
            "efficiency_gain_per_year",
            "breakeven_usd_per_eh_day",
        ],
    ),
];

/// The fitted keys of a `calibration.json`: scenario key -> (estimate, SE).
pub fn read(path: &Path) -> Result<BTreeMap<String, (f64, f64)>, BadInput> {
    let at = |m: &str| BadInput(format!("--from-calibration {}: {m}", path.display()));
    let bytes = std::fs::read(path).map_err(|e| at(&format!("cannot read ({e})")))?;
    let json: Value = serde_json::from_slice(&bytes).map_err(|e| {
        at(&format!(
            "not JSON ({e}); expected the calibration.json of `pivotsim calibrate`"
        ))
    })?;
    fitted(&json).map_err(|m| at(&m))
}

/// The fitted keys of a parsed `calibration.json`.
pub fn fitted(json: &Value) -> Result<BTreeMap<String, (f64, f64)>, String> {
    let mut out = BTreeMap::new();
    let breakeven_fitted = json
        .pointer("/hashrate/breakeven_source")
        .and_then(Value::as_str)
        == Some("fit");
    for (group, prefix, keys) in KEYS {
        let g = json.get(group).ok_or_else(|| {
            format!("no `{group}` object: expected the calibration.json of `pivotsim calibrate`")
        })?;
        for &key in keys {
            let breakeven = matches!(key, "breakeven_usd_per_eh_day" | "efficiency_gain_per_year");
            if breakeven && !breakeven_fitted {
                continue;
            }
            let Some((estimate, se)) = g.get(key).and_then(estimate_se) else {
                continue;
            };
            let (estimate, se) = if key == "breakeven_usd_per_eh_day" {
                let start = json
                    .pointer("/hashrate/breakeven_usd_per_eh_day_at_start")
                    .and_then(Value::as_f64)
                    .filter(|v| v.is_finite() && *v > 0.0)
                    .ok_or("no `hashrate.breakeven_usd_per_eh_day_at_start`")?;
                if estimate <= 0.0 {
                    continue;
                }
                (start, se * start / estimate)
            } else {
                (estimate, se)
            };
            out.insert(format!("{prefix}{key}"), (estimate, se));
        }
    }
    Ok(out)
}

/// `{estimate, se, identified, at_bound}` of a fitted estimate: `None`
/// unless it has a positive SE, is identified and is not at a bound.
fn estimate_se(e: &Value) -> Option<(f64, f64)> {
    let estimate = e.get("estimate")?.as_f64()?;
    let se = e.get("se")?.as_f64()?;
    let identified = e.get("identified").and_then(Value::as_bool) == Some(true);
    let at_bound = e.get("at_bound").and_then(Value::as_bool) == Some(true);
    (identified && !at_bound && estimate.is_finite() && se.is_finite() && se > 0.0)
        .then_some((estimate, se))
}
