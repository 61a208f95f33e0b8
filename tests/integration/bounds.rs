//! Issue 24, item 5: every numeric key of the scenario format has a bound,
//! and a run either refuses a value naming its key (exit 2) or reports
//! finite figures everywhere: no `null` in summary.json and no blank cell in
//! a CSV, but where the summary documents one.
//!
//! The fixture `tests/data/all_keys.toml` (and its fleet CSV) writes every
//! key; [`the_fixture_covers_every_numeric_key`] checks that against the
//! raw types of `src/scenario/raw.rs`, so a new key without a case fails.
//! Each key is then set, one at a time, to 0, -1, -1e300, 1e-300, 1e300,
//! NaN, inf, -inf, i64::MIN and i64::MAX, and to the two ends of its
//! allowed range (read from its own error message). The cases run in the
//! library (a binary per case would take minutes); a few go through the
//! real binary for its exit codes and messages.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use assert_cmd::Command;
use pivotsim::engine::metrics::{POLICY_SERIES, Stat};
use pivotsim::engine::{Engine, RunOptions};
use pivotsim::report;
use pivotsim::scenario;
use pivotsim::summary::Summary;
use toml::{Table, Value};

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("data")
        .join(name)
}

fn fixture() -> Table {
    let text = fs::read_to_string(data("all_keys.toml")).unwrap();
    text.parse::<Table>().unwrap()
}

/// One step from a TOML table to a value.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    Key(String),
    Index(usize),
}

/// A numeric value of the fixture: where it is, and its key as errors
/// name it (`market.btc.regimes[0].mu`, `market.correlation.matrix[0][1]`).
#[derive(Debug, Clone)]
struct Leaf {
    steps: Vec<Step>,
    key: String,
}

impl Leaf {
    /// The key with the index of a table list replaced by the table's
    /// `kind` (events, policies) or by nothing (regimes, regions, sites),
    /// and the matrix's cells by the matrix: the raw type's field.
    fn field(&self, table: &Table) -> String {
        let mut out = String::new();
        let mut value: Option<&Value> = None;
        for step in &self.steps {
            match step {
                Step::Key(k) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(k);
                    value = Some(match value {
                        None => &table[k.as_str()],
                        Some(v) => &v[k.as_str()],
                    });
                }
                Step::Index(i) => {
                    let item = &value.unwrap()[*i];
                    match item.get("kind").and_then(Value::as_str) {
                        Some(kind) => out.push_str(&format!("[{kind}]")),
                        None if item.is_table() => out.push_str("[]"),
                        None => {} // a cell of the matrix
                    }
                    value = Some(item);
                }
            }
        }
        out
    }

    /// The name a message must hold: the key's last name (`mu`,
    /// `power_mw`, `matrix`), which parse errors quote with their source
    /// line and validation errors with the full key.
    fn needle(&self) -> &str {
        let last = self.key.rsplit('.').next().unwrap();
        last.split('[').next().unwrap()
    }
}

/// Every numeric value under `value`, depth first.
fn leaves(value: &Value, steps: &mut Vec<Step>, key: &str, out: &mut Vec<Leaf>) {
    match value {
        Value::Integer(_) | Value::Float(_) => out.push(Leaf {
            steps: steps.clone(),
            key: key.to_string(),
        }),
        Value::Table(t) => {
            for (k, v) in t {
                steps.push(Step::Key(k.clone()));
                let sub = if key.is_empty() {
                    k.clone()
                } else {
                    format!("{key}.{k}")
                };
                leaves(v, steps, &sub, out);
                steps.pop();
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                steps.push(Step::Index(i));
                leaves(v, steps, &format!("{key}[{i}]"), out);
                steps.pop();
            }
        }
        _ => {}
    }
}

/// The fixture's numeric values, one per raw field (the first region,
/// regime and site; every cell of the matrix; every event and policy).
fn fixture_leaves(table: &Table) -> Vec<Leaf> {
    let mut all = Vec::new();
    leaves(&Value::Table(table.clone()), &mut Vec::new(), "", &mut all);
    let mut seen = BTreeSet::new();
    all.into_iter()
        .filter(|leaf| leaf.key.contains("matrix") || seen.insert(leaf.field(table)))
        .collect()
}

fn get_mut<'a>(table: &'a mut Table, steps: &[Step]) -> &'a mut Value {
    let Step::Key(first) = &steps[0] else {
        unreachable!()
    };
    let mut v = table.get_mut(first.as_str()).unwrap();
    for step in &steps[1..] {
        v = match step {
            Step::Key(k) => v.get_mut(k.as_str()).unwrap(),
            Step::Index(i) => v.get_mut(*i).unwrap(),
        };
    }
    v
}

/// The fixture with `leaf` set to `value` (both cells of an off-diagonal
/// pair of the matrix, so that the value is tested, not the symmetry).
fn with_value(table: &Table, leaf: &Leaf, value: &Value) -> Table {
    let mut t = table.clone();
    *get_mut(&mut t, &leaf.steps) = value.clone();
    if let [.., Step::Key(m), Step::Index(i), Step::Index(j)] = leaf.steps.as_slice()
        && m == "matrix"
        && i != j
    {
        let mut mirror = leaf.steps.clone();
        let n = mirror.len();
        mirror.swap(n - 1, n - 2);
        *get_mut(&mut t, &mirror) = value.clone();
    }
    t
}

/// The extreme values of the issue, as TOML values and as CSV cells.
fn extremes() -> Vec<(Value, &'static str)> {
    vec![
        (Value::Integer(0), "0"),
        (Value::Integer(-1), "-1"),
        (Value::Float(-1e300), "-1e300"),
        (Value::Float(1e-300), "1e-300"),
        (Value::Float(1e300), "1e300"),
        (Value::Float(f64::NAN), "NaN"),
        (Value::Float(f64::INFINITY), "inf"),
        (Value::Float(f64::NEG_INFINITY), "-inf"),
        (Value::Integer(i64::MIN), "-9223372036854775808"),
        (Value::Integer(i64::MAX), "9223372036854775807"),
    ]
}

/// What a scenario gave: refused (the message), or its summary and, when
/// asked, whether every value of every path was finite.
enum Outcome {
    Refused(String),
    Ran(Box<Summary>, Option<String>),
}

/// Load `file` and, if valid, run it on one thread (`rows`: also check
/// every path's every value, a path at a time).
fn run_file(file: &Path, rows: bool) -> Outcome {
    let sc = match scenario::load(file) {
        Err(e) => return Outcome::Refused(e.to_string()),
        Ok(sc) => sc,
    };
    let engine = Engine::new(sc);
    let mut bad_row = None;
    if rows {
        let mut w = engine.worker();
        for path in 0..engine.scenario.simulation.paths {
            engine.simulate_path(&mut w, path);
            if let Some(m) = w.row().iter().position(|v| !v.is_finite()) {
                bad_row = Some(format!("path {path}, metric {m}: {}", w.row()[m]));
                break;
            }
        }
    }
    let summary = engine.run(&RunOptions {
        threads: 1,
        progress: false,
        worst: 0,
    });
    Outcome::Ran(Box::new(summary), bad_row)
}

/// A refusal must name the key; a run must report finite figures only.
/// Returns `Err` with what went wrong.
fn check(case: &str, needle: &str, outcome: &Outcome) -> Result<(), String> {
    match outcome {
        Outcome::Refused(message) if message.contains(needle) => Ok(()),
        Outcome::Refused(message) => Err(format!("{case}: refused without `{needle}`: {message}")),
        Outcome::Ran(summary, _) => {
            if let Some(bad) = summary.first_non_finite() {
                return Err(format!("{case}: {bad}"));
            }
            check_outputs(summary).map_err(|e| format!("{case}: {e}"))
        }
    }
}

/// summary.json has `null` only where the summary documents it, and the
/// CSVs a blank cell only where they do; no cell reads NaN or inf.
fn check_outputs(s: &Summary) -> Result<(), String> {
    check_files(s, &rendered(s))
}

/// The files a run writes (and compare.csv), rendered in memory.
fn rendered(s: &Summary) -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("summary.json", report::summary_json(s)),
        ("monthly.csv", report::monthly_csv(s)),
        ("market.csv", report::market_csv(s)),
        ("policies.csv", report::policies_csv(s)),
        (
            "compare.csv",
            report::compare::compare_csv(std::slice::from_ref(s)),
        ),
    ]
}

/// `files` (summary.json and CSVs) of the run `s`: `null` and blank cells
/// only where documented, no cell reading NaN or inf.
fn check_files(s: &Summary, files: &[(&str, Vec<u8>)]) -> Result<(), String> {
    let baseline = s
        .policies
        .iter()
        .position(|p| p.name == s.baseline)
        .unwrap();
    // A driver's decile bin merged by ties into a lower one, and a mean over
    // no path (the policy beats the baseline on none, or on all), are null.
    let driver_null = |path: &str| {
        s.drivers.iter().enumerate().any(|(i, d)| {
            let at = format!("drivers[{i}].");
            let Some(rest) = path.strip_prefix(&at) else {
                return false;
            };
            let none_beat = d.p_beats_baseline == 0.0;
            let all_beat = d.p_beats_baseline == 1.0;
            (rest == "p_margin_call_when_beats" && none_beat)
                || (rest == "p_margin_call_otherwise" && all_beat)
                || d.drivers.iter().enumerate().any(|(k, _)| {
                    let driver = format!("drivers[{k}].");
                    rest.strip_prefix(&driver).is_some_and(|field| {
                        field.starts_with("decile_mean_usd[")
                            || (field == "mean_when_beats" && none_beat)
                            || (field == "mean_otherwise" && all_beat)
                    })
                })
        })
    };
    let allowed = |path: &str| {
        driver_null(path)
            || s.policies.iter().enumerate().any(|(i, p)| {
                (i == baseline
                    && [
                        format!("policies[{i}].npv_vs_baseline_usd"),
                        format!("policies[{i}].terminal_net_reserve_vs_baseline_usd"),
                    ]
                    .iter()
                    .any(|a| a == path))
                    || (p.p_distress == 0.0
                        && path == format!("policies[{i}].mean_first_distress_month"))
            })
    };
    let mean_only: BTreeSet<&str> = POLICY_SERIES
        .iter()
        .filter(|m| matches!(m.stat, Stat::MeanOnly))
        .map(|m| m.name)
        .collect();
    for (name, bytes) in files {
        if *name == "summary.json" {
            let json: serde_json::Value = serde_json::from_slice(bytes).unwrap();
            let mut nulls = Vec::new();
            json_nulls(&json, String::new(), &mut nulls);
            if let Some(null) = nulls.iter().find(|n| !allowed(n)) {
                return Err(format!("summary.json: null at {null}"));
            }
            continue;
        }
        let mut reader = csv::Reader::from_reader(bytes.as_slice());
        let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
        for (r, record) in reader.records().enumerate() {
            let record = record.unwrap();
            for (c, cell) in record.iter().enumerate() {
                let column = header[c].as_str();
                if ["NaN", "inf", "-inf"].contains(&cell) {
                    return Err(format!("{name} row {r} `{column}`: {cell}"));
                }
                if !cell.is_empty() {
                    continue;
                }
                let documented = match *name {
                    // A mean-only metric (MW) carries its mean alone.
                    "monthly.csv" => mean_only.contains(&record[3]) && !["mean"].contains(&column),
                    "policies.csv" => {
                        let p = &s.policies[r];
                        (r == baseline && column.contains("vs_baseline"))
                            || (column == "mean_first_distress_month"
                                && p.mean_first_distress_month.is_none())
                    }
                    _ => false,
                };
                if !documented {
                    return Err(format!("{name} row {r}: blank `{column}`"));
                }
            }
        }
    }
    Ok(())
}

fn json_nulls(v: &serde_json::Value, path: String, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Null => out.push(path),
        serde_json::Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                json_nulls(item, format!("{path}[{i}]"), out);
            }
        }
        serde_json::Value::Object(map) => {
            for (k, item) in map {
                let sub = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                json_nulls(item, sub, out);
            }
        }
        _ => {}
    }
}

/// The allowed range a refusal states (`a number in [0.01, 1e9]`, `an
/// integer in [1, 600]`, `> loan.initial_ltv (0.6) and <= 5`, `(0,
/// loan.initial_ltv = 0.6]`): its two ends, the lower one nudged up if
/// open. `None` when the message states no range.
fn stated_range(message: &str) -> Option<(f64, f64)> {
    let expected = &message[message.find("expected")?..];
    if let Some(hi_at) = expected.find("and <= ") {
        let at = expected.find('>')?;
        let lo = expected[at..]
            .split(['(', ')'])
            .nth(1)?
            .parse::<f64>()
            .ok()?;
        let hi = expected[hi_at + 7..]
            .split(',')
            .next()?
            .trim()
            .parse()
            .ok()?;
        let open = !expected[at..].starts_with(">=");
        return Some((
            if open {
                lo + (lo.abs() * 1e-9).max(1e-9)
            } else {
                lo
            },
            hi,
        ));
    }
    let start = expected.find(['[', '('])?;
    let end = start + expected[start..].find(']')?;
    let (lo, hi) = expected[start + 1..end].split_once(", ")?;
    let hi = hi.rsplit("= ").next()?.trim().parse::<f64>().ok()?;
    let lo = lo.trim().parse::<f64>().ok()?;
    let lo = if expected[start..].starts_with('(') {
        lo + (lo.abs() * 1e-9).max(1e-9)
    } else {
        lo
    };
    Some((lo, hi))
}

/// A bound as a TOML value: an integer when it is one and fits.
fn bound_value(v: f64, integer: bool) -> Value {
    if integer {
        Value::Integer(v as i64)
    } else {
        Value::Float(v)
    }
}

/// Runs every case of `cases` (name, needle, file writer), collecting
/// failures.
struct Runner {
    dir: tempfile::TempDir,
    failures: Vec<String>,
    runs: usize,
    refused: usize,
    /// At a bound: cases whose paths were finite but whose sums outgrew
    /// their fixed point (the documented limit, exit 1).
    sums_limit: Vec<String>,
}

impl Runner {
    fn new() -> Runner {
        let dir = tempfile::tempdir().unwrap();
        fs::copy(data("all_keys_fleet.csv"), dir.path().join("fleet.csv")).unwrap();
        Runner {
            dir,
            failures: Vec::new(),
            runs: 0,
            refused: 0,
            sums_limit: Vec::new(),
        }
    }

    fn scenario(&self, table: &Table) -> PathBuf {
        let file = self.dir.path().join("case.toml");
        fs::write(&file, toml::to_string(table).unwrap()).unwrap();
        file
    }

    fn record(&mut self, case: String, needle: &str, outcome: &Outcome) {
        match outcome {
            Outcome::Refused(_) => self.refused += 1,
            Outcome::Ran(..) => self.runs += 1,
        }
        if let Err(e) = check(&case, needle, outcome) {
            self.failures.push(e);
        }
    }

    /// A value at a bound: refused naming the key, or every path finite
    /// and the summary finite, but for means and standard errors past the
    /// fixed-point sums' limit (docs/scenario-format.md, "Bounds").
    fn record_bound(&mut self, case: String, needle: &str, outcome: &Outcome) {
        if let Outcome::Ran(summary, bad_row) = outcome {
            if let Some(row) = bad_row {
                self.runs += 1;
                self.failures
                    .push(format!("{case}: a path is not finite: {row}"));
                return;
            }
            if let Some(bad) = summary.first_non_finite()
                && (bad.metric.ends_with(".mean") || bad.metric.ends_with(".se"))
            {
                self.runs += 1;
                self.sums_limit.push(format!("{case}: {}", bad.path));
                return;
            }
        }
        self.record(case, needle, outcome);
    }
}

/// The fixture holds a value for every numeric field of the raw types
/// (`src/scenario/raw.rs`): a key added there without a case here fails.
/// The fleet CSV fixture has every numeric site column.
#[test]
fn the_fixture_covers_every_numeric_key() {
    let raw = raw_source();
    let expected = raw_numeric_fields(&raw);
    let table = fixture();
    let covered: BTreeSet<String> = fixture_leaves(&table)
        .iter()
        .map(|leaf| leaf.field(&table))
        .collect();
    let expected_keys: BTreeSet<String> = expected
        .iter()
        .map(|(owner, field, _)| format!("{}{field}", prefix_of(owner)))
        .collect();
    assert_eq!(
        covered, expected_keys,
        "tests/data/all_keys.toml must write every numeric key of src/scenario/raw.rs once \
         (left: the fixture's, right: the raw types')"
    );
    let site_fields: BTreeSet<String> = expected
        .iter()
        .filter(|(owner, _, _)| owner == "RawSite")
        .map(|(_, field, _)| field.clone())
        .collect();
    let csv = fs::read_to_string(data("all_keys_fleet.csv")).unwrap();
    let columns: BTreeSet<String> = csv_numeric_columns(&csv).into_iter().collect();
    assert_eq!(
        columns, site_fields,
        "the fleet CSV fixture's numeric columns"
    );
}

fn raw_source() -> String {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/scenario/raw.rs");
    fs::read_to_string(file).unwrap()
}

/// docs/scenario-format.md gives every numeric key of the raw types a
/// range bounded on both sides (its `allowed` column).
#[test]
fn every_numeric_key_has_a_documented_range() {
    let docs = fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/scenario-format.md"),
    )
    .unwrap();
    // (key as the table writes it, its `allowed` cell)
    let rows: Vec<(String, String)> = docs
        .lines()
        .filter(|line| line.starts_with("| `"))
        .filter_map(|line| {
            let cells: Vec<&str> = line.split(" | ").collect();
            let key = cells.first()?.trim_start_matches("| ").trim_matches('`');
            Some((key.to_string(), cells.get(3)?.to_string()))
        })
        .collect();
    for (owner, field, _) in raw_numeric_fields(&raw_source()) {
        let allowed: Vec<&String> = rows
            .iter()
            .filter(|(key, _)| *key == field || key.ends_with(&format!(".{field}")))
            .map(|(_, allowed)| allowed)
            .collect();
        assert!(
            !allowed.is_empty(),
            "{owner}.{field} has no row in the docs"
        );
        for cell in allowed {
            assert!(
                [" to ", "[", "(", "at most", ".."]
                    .iter()
                    .any(|s| cell.contains(s)),
                "{owner}.{field}: `{cell}` is not bounded on both sides"
            );
        }
    }
}

/// (type or `Enum::Variant`, field, is an integer) of every field of
/// `raw.rs` whose type holds a number (`Num`, `i64`, `u64`).
fn raw_numeric_fields(raw: &str) -> Vec<(String, String, bool)> {
    let mut out = Vec::new();
    let (mut owner, mut variant): (Option<String>, Option<String>) = (None, None);
    for line in raw.lines() {
        let trimmed = line.trim();
        if let Some(rest) = line
            .strip_prefix("pub struct ")
            .or_else(|| line.strip_prefix("pub enum "))
            && let Some(name) = rest.strip_suffix(" {")
        {
            owner = Some(name.to_string());
            variant = None;
            continue;
        }
        if line == "}" {
            owner = None;
            continue;
        }
        if owner.is_some() && line.starts_with("    ") && !line.starts_with("     ") {
            if let Some(name) = trimmed.strip_suffix(" {") {
                variant = Some(name.to_string());
                continue;
            }
            if trimmed == "}," {
                variant = None;
                continue;
            }
        }
        let Some(owner) = &owner else { continue };
        let field = trimmed.strip_prefix("pub ").unwrap_or(trimmed);
        let Some((name, ty)) = field.split_once(": ") else {
            continue;
        };
        if name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            && ["Num", "i64", "u64"].iter().any(|t| ty.contains(t))
        {
            let owner = match &variant {
                Some(v) => format!("{owner}::{v}"),
                None => owner.clone(),
            };
            out.push((owner, name.to_string(), !ty.contains("Num")));
        }
    }
    assert!(out.len() > 80, "raw.rs read wrongly: {out:?}");
    out
}

/// Where a raw type's fields are in a scenario file, as
/// [`Leaf::field`] writes it.
fn prefix_of(owner: &str) -> String {
    let snake = |name: &str| {
        let mut s = String::new();
        for (i, c) in name.chars().enumerate() {
            if c.is_uppercase() && i > 0 {
                s.push('_');
            }
            s.push(c.to_ascii_lowercase());
        }
        s
    };
    match owner {
        "RawSimulation" => "simulation.".into(),
        "RawBtc" => "market.btc.".into(),
        "RawRegime" => "market.btc.regimes[].".into(),
        "RawHashrate" => "market.hashrate.".into(),
        "RawFees" => "market.fees.".into(),
        "RawSubsidy" => "market.subsidy.".into(),
        "RawGpuPrice" => "market.gpu_price.".into(),
        "RawAiDemand" => "market.ai_demand.".into(),
        "RawCorrelation" => "market.correlation.".into(),
        "RawMining" => "mining.".into(),
        "RawAi" => "ai.".into(),
        "RawRegion" => "regions[].".into(),
        "RawSite" => "sites[].".into(),
        "RawTreasury" => "treasury.".into(),
        "RawSellToTargetLtv" => "treasury.sell_to_target_ltv.".into(),
        "RawLoan" => "loan.".into(),
        "RawFinancing" => "financing.".into(),
        "RawValuation" => "valuation.".into(),
        _ => match owner.split_once("::") {
            Some(("RawEvent", v)) => format!("events[{}].", snake(v)),
            Some(("RawPolicy", v)) => format!("policies[{}].", snake(v)),
            _ => panic!("{owner} has numeric fields: say where it is in a scenario file"),
        },
    }
}

/// The CSV's columns whose first row holds a number.
fn csv_numeric_columns(csv: &str) -> Vec<String> {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let first: Vec<&str> = lines.next().unwrap().split(',').collect();
    header
        .iter()
        .zip(first)
        .filter(|(_, cell)| cell.parse::<f64>().is_ok())
        .map(|(h, _)| h.to_string())
        .collect()
}

/// The property: every numeric key at every extreme value, and at both
/// ends of its range, inline and in the fleet CSV.
#[test]
fn every_key_at_extreme_values_is_refused_by_name_or_runs_finite() {
    let started = Instant::now();
    let table = fixture();
    let mut runner = Runner::new();
    let integers: BTreeSet<String> = raw_numeric_fields(&raw_source())
        .into_iter()
        .filter(|(_, _, integer)| *integer)
        .map(|(owner, field, _)| format!("{}{field}", prefix_of(&owner)))
        .collect();
    for leaf in fixture_leaves(&table) {
        let integer = integers.contains(&leaf.field(&table));
        // `months` states its range in two messages.
        let mut range = (leaf.key == "simulation.months").then_some((1.0, 600.0));
        for (value, label) in extremes() {
            let file = runner.scenario(&with_value(&table, &leaf, &value));
            let outcome = run_file(&file, false);
            if let Outcome::Refused(message) = &outcome
                && range.is_none()
            {
                range = stated_range(message);
            }
            runner.record(format!("{} = {label}", leaf.key), leaf.needle(), &outcome);
        }
        // The ends of the stated range (paths: not billions of them).
        if let Some((lo, hi)) = range
            && leaf.key != "simulation.paths"
        {
            for v in [lo, hi] {
                let file = runner.scenario(&with_value(&table, &leaf, &bound_value(v, integer)));
                let outcome = run_file(&file, true);
                runner.record_bound(
                    format!("{} = {v} (bound)", leaf.key),
                    leaf.needle(),
                    &outcome,
                );
            }
        }
    }
    // The fleet CSV's numeric columns.
    let mut csv_table = table.clone();
    csv_table.remove("sites");
    csv_table.insert("sites_csv".into(), Value::String("fleet.csv".into()));
    let csv = fs::read_to_string(data("all_keys_fleet.csv")).unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    for column in csv_numeric_columns(&csv) {
        let c = header.iter().position(|h| *h == column).unwrap();
        for (_, cell) in extremes() {
            let mut lines: Vec<String> = csv.lines().map(String::from).collect();
            let mut cells: Vec<&str> = lines[1].split(',').collect();
            cells[c] = cell;
            lines[1] = cells.join(",");
            fs::write(runner.dir.path().join("fleet.csv"), lines.join("\n") + "\n").unwrap();
            let file = runner.scenario(&csv_table);
            let outcome = run_file(&file, false);
            runner.record(format!("fleet.csv {column} = {cell}"), &column, &outcome);
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    eprintln!(
        "bounds: {} runs, {} refusals in {elapsed:.1} s; at a bound, past the sums' limit: {:?}",
        runner.runs, runner.refused, runner.sums_limit
    );
    assert!(
        runner.failures.is_empty(),
        "{} failures:\n{}",
        runner.failures.len(),
        runner.failures.join("\n")
    );
    assert!(
        runner.runs > 100 && runner.refused > 500,
        "{} runs, {} refused",
        runner.runs,
        runner.refused
    );
}

fn pivotsim() -> Command {
    Command::cargo_bin("pivotsim").unwrap()
}

/// The fixture's text with `edits` (`table.key`, TOML value text; in an
/// array of tables, its first) made as a user would, line by line, written to `dir/name.toml` next to the
/// fixture's fleet CSV.
fn write_case(dir: &Path, name: &str, edits: &[(&str, &str)]) -> PathBuf {
    let text = fs::read_to_string(data("all_keys.toml")).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    for (key, value) in edits.iter().chain(&[("name", "\"NAME\"")]) {
        let (table, leaf) = key.rsplit_once('.').unwrap_or(("", key));
        let (header, first_of_array) = (format!("[{table}]"), format!("[[{table}]]"));
        let from = if table.is_empty() {
            0
        } else {
            lines
                .iter()
                .position(|l| *l == header || *l == first_of_array)
                .unwrap()
        };
        let at = from
            + lines[from..]
                .iter()
                .position(|l| l.starts_with(&format!("{leaf} = ")))
                .unwrap();
        lines[at] = format!("{leaf} = {value}").replace("NAME", name);
    }
    fs::copy(data("all_keys_fleet.csv"), dir.join("fleet.csv")).unwrap();
    let file = dir.join(format!("{name}.toml"));
    fs::write(&file, lines.join("\n") + "\n").unwrap();
    file
}

/// No file in `dir` (it may exist: the run checks it is writable first).
fn nothing_written(dir: &Path) -> bool {
    fs::read_dir(dir).map_or(true, |mut entries| entries.next().is_none())
}

/// Through the real binary: an extreme value exits 2 naming the file, the
/// key and, for a value out of its range, the range; nothing is written.
#[test]
fn extreme_values_exit_2_through_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    for (edits, needles) in [
        (
            vec![("market.btc.mu", "3.5")],
            vec!["key `market.btc.mu`: expected a number in [-1, 1], got 3.5"],
        ),
        (
            vec![("market.btc.s0_usd", "\"1e28\"")],
            vec!["key `market.btc.s0_usd`: expected a number in [0.01, 1e9], got 1"],
        ),
        (
            vec![("market.ai_demand.growth_per_year", "7")],
            vec!["key `market.ai_demand.growth_per_year`", "[-1, 1], got 7"],
        ),
        (
            vec![("market.btc.sigma", "1e6")],
            vec!["key `market.btc.sigma`: expected a number in [0, 2], got 1000000"],
        ),
        (
            vec![("simulation.months", "1200")],
            vec!["key `simulation.months`: expected at most 600"],
        ),
        (
            vec![("simulation.months", "1e300")],
            vec!["in simulation: `months = 1e300`", "expected i64"],
        ),
        (
            vec![("loan.rate", "nan")],
            vec!["in loan: `rate = nan`", "finite"],
        ),
    ] {
        let file = write_case(dir.path(), "case", &edits);
        let output = pivotsim()
            .args(["run", "--no-charts", "-q", "--out"])
            .arg(&out)
            .arg(&file)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{edits:?}: {stderr}");
        assert!(stderr.contains("case.toml"), "{edits:?}: {stderr}");
        for needle in needles {
            assert!(
                stderr.contains(needle),
                "{edits:?}: no {needle:?} in {stderr}"
            );
        }
        assert!(!out.exists(), "{edits:?}: bad input writes nothing");
    }
    // A fleet CSV cell names its column.
    let file = write_case(dir.path(), "case", &[]);
    let mut table: Table = fs::read_to_string(&file).unwrap().parse().unwrap();
    table.remove("sites");
    table.insert("sites_csv".into(), Value::String("fleet.csv".into()));
    fs::write(&file, toml::to_string(&table).unwrap()).unwrap();
    let csv = fs::read_to_string(data("all_keys_fleet.csv")).unwrap();
    fs::write(
        dir.path().join("fleet.csv"),
        csv.replacen(",50,", ",1e300,", 1),
    )
    .unwrap();
    let output = pivotsim().arg("validate").arg(&file).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("key `sites_csv (fleet.csv line 2) power_mw`"),
        "{stderr}"
    );
}

/// Through the real binary: extreme values a key accepts run and write
/// finite figures only (seed i64::MAX, no fees, a zero volatility, demand
/// falling 100 % a year).
#[test]
fn accepted_extremes_write_finite_figures_through_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let file = write_case(
        dir.path(),
        "edge",
        &[
            ("simulation.seed", "9223372036854775807"),
            ("market.fees.mean_btc", "0"),
            ("market.gpu_price.sigma", "0"),
            ("market.ai_demand.growth_per_year", "-1"),
        ],
    );
    pivotsim()
        .args(["run", "--no-charts", "-q", "--out"])
        .arg(&out)
        .arg(&file)
        .assert()
        .success();
    let files: Vec<(&str, Vec<u8>)> = ["summary.json", "monthly.csv", "market.csv", "policies.csv"]
        .into_iter()
        .map(|name| (name, fs::read(out.join(name)).unwrap()))
        .collect();
    let summary: Summary = serde_json::from_slice(&files[0].1).unwrap();
    assert_eq!(summary.seed, i64::MAX as u64);
    check_files(&summary, &files).unwrap();
}

/// A run whose figures outgrow the exact sums (every input within its
/// bounds) exits 1 naming the figure, its policy or the market, and its
/// month, and writes nothing; compare names the scenario. Before, it
/// exited 0 with `null` in summary.json.
#[test]
fn a_non_finite_figure_exits_1_naming_it_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    // The whole BTC supply at a billion USD: 2.1e16 USD a path.
    let rich = write_case(
        dir.path(),
        "rich",
        &[
            ("treasury.reserve_btc", "21000000"),
            ("market.btc.s0_usd", "1e9"),
        ],
    );
    let out = dir.path().join("out");
    let output = pivotsim()
        .args(["run", "--no-charts", "-q", "--out"])
        .arg(&out)
        .arg(&rich)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    for needle in [
        "error: rich: `",
        ".mean` of policy `hold`",
        "is NaN",
        "nothing was written",
    ] {
        assert!(stderr.contains(needle), "no {needle:?} in {stderr}");
    }
    assert!(
        nothing_written(&out),
        "{:?}",
        fs::read_dir(&out).unwrap().collect::<Vec<_>>()
    );
    // Not even the folder the writability check had to create.
    assert!(!out.exists(), "{} was left behind", out.display());

    // 50 years of +100 % a year: the price's own sums overflow in a month
    // of the market; compare names the scenario and writes nothing.
    let boom = write_case(
        dir.path(),
        "boom",
        &[
            ("simulation.months", "600"),
            ("market.btc.regimes.mu", "1"),
            ("market.btc.regimes.sigma", "0"),
            ("market.btc.regimes.mean_duration_years", "1000"),
        ],
    );
    let calm = write_case(dir.path(), "calm", &[]);
    let out = dir.path().join("compare");
    let output = pivotsim()
        .args(["compare", "--no-charts", "-q", "--out"])
        .arg(&out)
        .args([&calm, &boom])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    for needle in [
        "error: boom: `btc_price_usd.",
        "` of the market in month ",
        "is NaN",
    ] {
        assert!(stderr.contains(needle), "no {needle:?} in {stderr}");
    }
    assert!(nothing_written(&out));
}
