//! The grid of `--grid key=low:high:n[,key=low:high:n...]` over a policy's
//! keys ([`Grid::parse`]).
//!
//! Each axis has n points, low to high inclusive, evenly spaced, computed
//! in decimal (so `1:2:11` is 1, 1.1, ..., 2 exactly) and given to the
//! policy exactly; an integer key's points are rounded half away from
//! zero, and a point equal to the one before is kept once, its row saying
//! how many it stands for. The grid is the product of the axes, in SPEC
//! order, the last axis fastest; at most [`MAX_POINTS`] points.

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};

use super::OptimizeError;
use crate::scenario::variant::{KeyType, ParamValue, PolicyTable, kind_keys, kinds};

/// The most points a grid may have.
pub const MAX_POINTS: u64 = 10_000;

/// One axis: a key and its points.
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    pub key: String,
    pub integer: bool,
    /// As written in the SPEC.
    pub low: Decimal,
    pub high: Decimal,
    pub n: u64,
    /// The distinct points, low to high.
    pub values: Vec<ParamValue>,
    /// How many of the SPEC's n points each value stands for.
    pub merged: Vec<u64>,
}

/// The grid: its axes, in SPEC order.
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    pub axes: Vec<Axis>,
}

fn bad(message: String) -> OptimizeError {
    OptimizeError::Grid(message)
}

/// A decimal as the scenario reads a decimal string (`1.25`, `1e-3`).
fn decimal(text: &str) -> Option<Decimal> {
    let t = text.trim();
    Decimal::from_str_exact(t)
        .or_else(|_| Decimal::from_scientific(t))
        .ok()
}

impl Grid {
    /// The grid `spec` describes over the keys of `table`'s policy
    /// (`policy` its name, for messages).
    pub fn parse(spec: &str, table: &PolicyTable, policy: &str) -> Result<Grid, OptimizeError> {
        let mut axes: Vec<Axis> = Vec::new();
        for part in spec.split(',') {
            let axis = parse_axis(part.trim(), table, policy)?;
            if axes.iter().any(|a| a.key == axis.key) {
                return Err(bad(format!("key `{}` is given twice", axis.key)));
            }
            axes.push(axis);
        }
        let grid = Grid { axes };
        let points = grid
            .axes
            .iter()
            .fold(1u64, |n, a| n.saturating_mul(a.values.len() as u64));
        if points > MAX_POINTS {
            let sizes: Vec<String> = grid
                .axes
                .iter()
                .map(|a| format!("{} {}", a.key, a.values.len()))
                .collect();
            return Err(bad(format!(
                "{points} points ({}), more than {MAX_POINTS}",
                sizes.join(" x ")
            )));
        }
        Ok(grid)
    }

    /// Points on the grid.
    pub fn len(&self) -> usize {
        self.axes.iter().map(|a| a.values.len()).product()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Point `i`'s value on each axis (axes in SPEC order, the last
    /// fastest), and how many of the SPEC's points it stands for.
    pub fn point(&self, i: usize) -> (Vec<(&str, ParamValue)>, u64) {
        let mut rest = i;
        let mut at = vec![0; self.axes.len()];
        for (k, a) in self.axes.iter().enumerate().rev() {
            at[k] = rest % a.values.len();
            rest /= a.values.len();
        }
        let values = self
            .axes
            .iter()
            .zip(&at)
            .map(|(a, &j)| (a.key.as_str(), a.values[j]))
            .collect();
        let merged = self
            .axes
            .iter()
            .zip(&at)
            .map(|(a, &j)| a.merged[j])
            .product();
        (values, merged)
    }
}

/// One `key=low:high:n`.
fn parse_axis(part: &str, table: &PolicyTable, policy: &str) -> Result<Axis, OptimizeError> {
    let form = || bad(format!("`{part}`: expected key=low:high:n"));
    let (key, range) = part.split_once('=').ok_or_else(form)?;
    let key = key.trim();
    let fields: Vec<&str> = range.split(':').collect();
    let [low, high, n] = fields[..] else {
        return Err(form());
    };
    let integer = match table.key_type(key) {
        Some(KeyType::Integer) => true,
        Some(KeyType::Number) => false,
        Some(KeyType::Other) => {
            return Err(bad(format!(
                "`{key}` of policy `{policy}` is not a numeric key"
            )));
        }
        None => return Err(unknown_key(key, table, policy)),
    };
    let number = |what: &str, text: &str| {
        decimal(text).ok_or_else(|| bad(format!("`{part}`: {what} `{text}` is not a number")))
    };
    let (low, high) = (number("low", low)?, number("high", high)?);
    let n = match n.trim().parse::<i64>() {
        Ok(n) if n >= 1 => n as u64,
        Ok(n) => return Err(bad(format!("`{part}`: n must be at least 1, got {n}"))),
        Err(_) => {
            return Err(bad(format!(
                "`{part}`: n `{}` is not a whole number",
                n.trim()
            )));
        }
    };
    if low > high {
        return Err(bad(format!("`{part}`: low {low} is above high {high}")));
    }
    if n == 1 && low != high {
        return Err(bad(format!(
            "`{part}`: n = 1 needs low = high, got {low} and {high}"
        )));
    }
    if n > MAX_POINTS {
        return Err(bad(format!("`{part}`: {n} points, more than {MAX_POINTS}")));
    }
    let (mut values, mut merged): (Vec<ParamValue>, Vec<u64>) = (Vec::new(), Vec::new());
    for i in 0..n {
        let x = point(low, high, n, i)
            .ok_or_else(|| bad(format!("`{part}`: a point is out of the decimal range")))?;
        let v = if integer {
            let r = x.round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero);
            ParamValue::Integer(
                r.to_i64()
                    .ok_or_else(|| bad(format!("`{part}`: {r} is out of an integer's range")))?,
            )
        } else {
            ParamValue::Number(x)
        };
        match values.last() {
            Some(last) if *last == v => *merged.last_mut().expect("a count per value") += 1,
            _ => {
                values.push(v);
                merged.push(1);
            }
        }
    }
    Ok(Axis {
        key: key.to_string(),
        integer,
        low,
        high,
        n,
        values,
        merged,
    })
}

/// Point `i` of `n` from `low` to `high`: `low + (high - low) i / (n - 1)`,
/// multiplied before dividing (so the last is `high` exactly).
fn point(low: Decimal, high: Decimal, n: u64, i: u64) -> Option<Decimal> {
    if n == 1 {
        return Some(low);
    }
    let span = high.checked_sub(low)?;
    let step = span
        .checked_mul(Decimal::from(i))?
        .checked_div(Decimal::from(n - 1))?;
    low.checked_add(step)
}

/// The error for a key `table`'s kind does not have: naming the kinds that
/// have it, if any, and the keys this kind has.
fn unknown_key(key: &str, table: &PolicyTable, policy: &str) -> OptimizeError {
    let kind = table.kind();
    let own = kind_keys(kind);
    let keys = if own.is_empty() {
        format!("kind {kind} has no keys to vary")
    } else {
        format!("its keys are {}", own.join(", "))
    };
    let others: Vec<String> = kinds()
        .into_iter()
        .filter(|k| k != kind && kind_keys(k).iter().any(|x| x == key))
        .collect();
    if others.is_empty() {
        bad(format!(
            "unknown key `{key}` for policy `{policy}` (kind {kind}); {keys}"
        ))
    } else {
        bad(format!(
            "`{key}` is a key of kind {}, not of policy `{policy}` (kind {kind}); {keys}",
            others.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn table(policy: &str) -> PolicyTable {
        let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/cango_2026.toml");
        PolicyTable::load(&file, policy).unwrap().unwrap()
    }

    fn parse(spec: &str, policy: &str) -> Result<Grid, String> {
        Grid::parse(spec, &table(policy), policy).map_err(|e| e.to_string())
    }

    fn shown(a: &Axis) -> Vec<String> {
        a.values.iter().map(|v| v.to_string()).collect()
    }

    /// Points are exact decimals, low to high; integer keys are rounded
    /// half away from zero and duplicates merged with their count; the
    /// last axis runs fastest.
    #[test]
    fn points_are_exact_rounded_and_merged() {
        let g = parse("hurdle=1:2:11, max_concurrent=1:4:7", "threshold").unwrap();
        assert_eq!(
            shown(&g.axes[0]),
            [
                "1", "1.1", "1.2", "1.3", "1.4", "1.5", "1.6", "1.7", "1.8", "1.9", "2"
            ]
        );
        // 1, 1.5, 2, 2.5, 3, 3.5, 4 rounded: 1, 2, 2, 3, 3, 4, 4.
        assert_eq!(shown(&g.axes[1]), ["1", "2", "3", "4"]);
        assert_eq!(g.axes[1].merged, [1, 2, 2, 2]);
        assert!(g.axes[1].integer && !g.axes[0].integer);
        assert_eq!(g.len(), 44);
        let (p, merged) = g.point(5);
        assert_eq!(p[0].0, "hurdle");
        assert_eq!(
            (p[0].1.to_string(), p[1].1.to_string(), merged),
            ("1.1".into(), "2".into(), 2)
        );
        let g = parse("window_months=2.5:2.5:1", "threshold").unwrap();
        assert_eq!(shown(&g.axes[0]), ["3"]);
        let g = parse("hurdle=1:1:3", "threshold").unwrap();
        assert_eq!(
            (shown(&g.axes[0]), g.axes[0].merged.clone()),
            (vec!["1".to_string()], vec![3])
        );
        let g = parse("hurdle=0:1:4", "threshold").unwrap();
        assert_eq!(g.axes[0].values[3], ParamValue::Number(Decimal::ONE));
    }

    /// Each kind of bad grid is refused with a message that names it.
    #[test]
    fn bad_grids_are_refused_by_name() {
        for (spec, policy, want) in [
            ("nope=1:2:3", "threshold", "unknown key `nope`"),
            ("sites_per_quarter=1:4:4", "threshold", "key of kind staged"),
            ("hurdle=1:4:4", "staged", "key of kind threshold"),
            ("hurdle=2:1:3", "threshold", "low 2 is above high 1"),
            ("hurdle=1:2:0", "threshold", "n must be at least 1"),
            ("hurdle=1:2:-2", "threshold", "n must be at least 1"),
            ("hurdle=1:2:2.5", "threshold", "not a whole number"),
            ("hurdle=1:2:1", "threshold", "n = 1 needs low = high"),
            ("hurdle=a:2:3", "threshold", "low `a` is not a number"),
            ("hurdle=1:nan:3", "threshold", "high `nan` is not a number"),
            ("hurdle=1:2", "threshold", "expected key=low:high:n"),
            ("hurdle", "threshold", "expected key=low:high:n"),
            ("name=1:2:2", "threshold", "not a numeric key"),
            ("hurdle=1:2:2,hurdle=1:3:2", "threshold", "given twice"),
            (
                "hurdle=1:2:101,window_months=1:100:100",
                "threshold",
                "more than 10000",
            ),
            ("hurdle=1:2:20000", "threshold", "more than 10000"),
        ] {
            let e = parse(spec, policy).unwrap_err();
            assert!(e.contains(want), "{spec}: {e}");
        }
        // Merged points count once: 200 integer points over 1..4 are 4.
        assert_eq!(
            parse("hurdle=1:2:100,max_concurrent=1:4:200", "threshold")
                .unwrap()
                .len(),
            400
        );
    }
}
