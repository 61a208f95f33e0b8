//! Which parameters move, and to which low and high values.
//!
//! - The keys: those of `--params`, in that order; by default every numeric
//!   key of `market`, `mining`, `ai`, `regions`, `treasury`, `loan`,
//!   `financing` and `valuation` whose value is not zero (a cell of the
//!   correlation matrix once, above the diagonal, and never the diagonal),
//!   then the keys of `[sensitivity.ranges]` not among them.
//! - The values, first rule that applies: the scenario's
//!   `[sensitivity.ranges]` (`"market.btc.sigma" = [0.3, 0.6]`, taken as
//!   written); a key `--from-calibration` fitted, estimate -+ 2 SE; else
//!   `value x (1 -+ range)`. The computed values are rounded half away from
//!   zero for an integer key and clamped into the key's allowed range, and
//!   a float is taken as the scenario will hold it (`as_read`: 0.75 x 0.8
//!   is 0.6000000000000001 in f64, and 0.6 once read from a file).
//! - A side equal to the base value (after clamping and rounding), or on an
//!   excluded bound, is skipped with the reason; a side the validation
//!   refuses is skipped when it is run ([`super::points`]).

use std::collections::BTreeMap;

use toml::Value;

use super::{BadInput, Candidate, Param, Source};
use crate::scenario::edit::{Loaded, NumericKey, as_read};

/// The sections whose numeric keys move by default.
pub const DEFAULT_SECTIONS: [&str; 8] = [
    "market",
    "mining",
    "ai",
    "regions",
    "treasury",
    "loan",
    "financing",
    "valuation",
];

/// The default range: -+20%.
pub const DEFAULT_RANGE: f64 = 0.2;

/// What the command line asks for.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// `--params`: these keys, in this order.
    pub params: Option<Vec<String>>,
    /// `--range`: the fraction of the value to move either way.
    pub range: f64,
    /// `--from-calibration`: the fitted keys' (estimate, SE).
    pub calibration: BTreeMap<String, (f64, f64)>,
}

/// Whether `k` moves by default: in a default section, not zero, and not
/// the diagonal or lower triangle of the correlation matrix.
pub fn in_default_set(k: &NumericKey) -> bool {
    let section = k.key.split(['.', '[']).next().unwrap_or("");
    if !DEFAULT_SECTIONS.contains(&section) || k.value == 0.0 {
        return false;
    }
    match matrix_cell(&k.key) {
        Some((i, j)) => i < j,
        None => true,
    }
}

/// `(i, j)` of `market.correlation.matrix[i][j]`.
fn matrix_cell(key: &str) -> Option<(usize, usize)> {
    let rest = key.strip_prefix("market.correlation.matrix[")?;
    let (i, rest) = rest.split_once("][")?;
    let j = rest.strip_suffix(']')?;
    Some((i.parse().ok()?, j.parse().ok()?))
}

/// The parameters to move, with their low and high values.
pub fn plan(loaded: &Loaded, opts: &PlanOptions) -> Result<Vec<Param>, BadInput> {
    let file = loaded.doc.file().display().to_string();
    if !(opts.range.is_finite() && opts.range > 0.0) {
        return Err(BadInput(format!(
            "--range: expected a fraction above 0 (0.2 moves each value by -+20%), got {}",
            opts.range
        )));
    }
    let explicit = explicit_ranges(loaded)?;
    let find = |name: &str| loaded.keys.iter().find(|k| k.key == name);
    let chosen: Vec<&NumericKey> = match &opts.params {
        Some(names) => {
            let mut out: Vec<&NumericKey> = Vec::new();
            for name in names {
                let key = find(name).ok_or_else(|| {
                    BadInput(format!("{file}: --params: {}", loaded.doc.problem(name)))
                })?;
                if !out.iter().any(|k| k.key == key.key) {
                    out.push(key);
                }
            }
            out
        }
        None => {
            let mut out: Vec<&NumericKey> =
                loaded.keys.iter().filter(|k| in_default_set(k)).collect();
            for name in explicit.keys() {
                let key = find(name).expect("checked by explicit_ranges");
                if !out.iter().any(|k| k.key == key.key) {
                    out.push(key);
                }
            }
            out
        }
    };
    Ok(chosen
        .into_iter()
        .map(|key| param(key, opts, explicit.get(&key.key).copied()))
        .collect())
}

/// One parameter's source and values.
fn param(key: &NumericKey, opts: &PlanOptions, explicit: Option<(f64, f64)>) -> Param {
    let (source, low, high) = if let Some((lo, hi)) = explicit {
        (Source::Explicit, side(key, lo, false), side(key, hi, false))
    } else if let Some(&(estimate, se)) = opts.calibration.get(&key.key) {
        (
            Source::Calibration { estimate, se },
            side(key, estimate - 2.0 * se, true),
            side(key, estimate + 2.0 * se, true),
        )
    } else {
        let r = opts.range;
        (
            Source::Range(r),
            side(key, key.value * (1.0 - r), true),
            side(key, key.value * (1.0 + r), true),
        )
    };
    Param {
        key: key.clone(),
        source,
        low,
        high,
    }
}

/// A side's value: `target` rounded (integer key) and clamped (when
/// `adjust`), skipped when equal to the base or on an excluded bound.
pub(super) fn side(key: &NumericKey, target: f64, adjust: bool) -> Candidate {
    let mut v = target;
    let mut how = Vec::new();
    if adjust && key.integer && v.round() != v {
        v = v.round();
        how.push(format!("rounded from {target}"));
    }
    if adjust && key.clamp(v) != v {
        v = key.clamp(v);
        how.push(format!(
            "clamped into the allowed range {}",
            key.range_text()
        ));
    }
    if !key.integer {
        // What the scenario will hold: a float as the file format reads it.
        v = as_read(v);
    }
    let how = if how.is_empty() {
        String::new()
    } else {
        format!(" ({})", how.join(", "))
    };
    if v == key.value {
        Candidate::Skip {
            value: Some(v),
            reason: format!("equal to the base value{how}"),
        }
    } else if !key.contains(v) {
        Candidate::Skip {
            value: Some(v),
            reason: format!("outside the allowed range {}{how}", key.range_text()),
        }
    } else {
        Candidate::Run(v)
    }
}

/// `[sensitivity.ranges]`, checked: each key a numeric key of the scenario,
/// each value `[low, high]`, two numbers in the key's allowed range, low
/// below high, integers for an integer key.
pub fn explicit_ranges(loaded: &Loaded) -> Result<BTreeMap<String, (f64, f64)>, BadInput> {
    let file = loaded.doc.file().display().to_string();
    let mut out = BTreeMap::new();
    for (name, value) in loaded.doc.ranges() {
        let at = format!("{file}: [sensitivity.ranges] \"{name}\"");
        let key = loaded
            .keys
            .iter()
            .find(|k| k.key == name)
            .ok_or_else(|| BadInput(format!("{at}: {}", loaded.doc.problem(&name))))?;
        let pair = value.as_array().filter(|a| a.len() == 2);
        let numbers = pair.and_then(|a| a.iter().map(number).collect::<Option<Vec<f64>>>());
        let Some([lo, hi]) = numbers.and_then(|n| <[f64; 2]>::try_from(n).ok()) else {
            return Err(BadInput(format!(
                "{at}: expected [low, high], two numbers, got {value}"
            )));
        };
        if lo >= hi {
            return Err(BadInput(format!(
                "{at}: expected low < high, got [{lo}, {hi}]"
            )));
        }
        for v in [lo, hi] {
            if !key.contains(v) {
                return Err(BadInput(format!(
                    "{at}: {v} is outside the key's allowed range {}",
                    key.range_text()
                )));
            }
            if key.integer && v.fract() != 0.0 {
                return Err(BadInput(format!(
                    "{at}: `{name}` is an integer key, got {v}"
                )));
            }
        }
        out.insert(name, (lo, hi));
    }
    Ok(out)
}

/// A TOML number, or a decimal string as the scenario format allows.
fn number(v: &Value) -> Option<f64> {
    let x = match v {
        Value::Integer(i) => *i as f64,
        Value::Float(f) => *f,
        Value::String(s) => s.trim().parse().ok()?,
        _ => return None,
    };
    x.is_finite().then_some(x)
}
