//! A scenario file as a TOML table in which a numeric key is set and the
//! scenario rebuilt through the one validation path: what `pivotsim
//! sensitivity` moves.
//!
//! A key is named as errors name it (`market.btc.sigma`,
//! `regions[0].power_usd_per_mwh`, `market.correlation.matrix[0][1]`,
//! `policies[2].hurdle`). Setting it changes that value of the file's own
//! table and nothing else, so the scenario built is the one `pivotsim run`
//! builds from a copy of the file with that one line changed: a key the
//! file omits is added (with the tables above it), and a list the file
//! omits whole (`[[regions]]`, the correlation matrix) is first written out
//! with its defaults, as exact decimal strings. An off-diagonal cell of the
//! correlation matrix moves its mirror with it, as the matrix must stay
//! symmetric.
//!
//! The numeric keys of a scenario, their values and their allowed ranges
//! are what validation read ([`NumericKey`]): every key the scenario has a
//! value for, defaults included, with the range it was checked against
//! (for a key bounded by another, such as `loan.margin_call_ltv` above
//! `loan.initial_ltv`, the range at the other's value).

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use toml::{Table, Value};

use super::raw::{Num, RawCorrelation, RawRegion, RawScenario};
use super::{Overrides, Scenario, ScenarioError};

/// A number validation read: its key, value and allowed range.
#[derive(Debug, Clone, PartialEq)]
pub struct NumericKey {
    /// As errors name it: `market.btc.sigma`, `regions[0].uptime`.
    pub key: String,
    pub value: f64,
    /// The lower bound, excluded when `lo_open`.
    pub lo: f64,
    pub lo_open: bool,
    /// The upper bound, included.
    pub hi: f64,
    /// An integer key (months, counts).
    pub integer: bool,
}

impl NumericKey {
    pub fn contains(&self, v: f64) -> bool {
        (if self.lo_open {
            v > self.lo
        } else {
            v >= self.lo
        }) && v <= self.hi
    }

    /// `v` brought into `[lo, hi]` (onto `lo` itself when it is excluded:
    /// validation then refuses it, with its reason).
    pub fn clamp(&self, v: f64) -> f64 {
        v.clamp(self.lo, self.hi)
    }

    /// `[0, 2]`, `(0, 1]`.
    pub fn range_text(&self) -> String {
        let open = if self.lo_open { '(' } else { '[' };
        format!("{open}{}, {}]", self.lo, self.hi)
    }
}

/// The number a scenario holds when its file writes the float `v`: a TOML
/// float is read as an exact decimal of f64's precision (`Num`), which
/// validation turns back into an f64. `0.6000000000000001` becomes `0.6`.
pub fn as_read(v: f64) -> f64 {
    use rust_decimal::prelude::ToPrimitive;
    rust_decimal::Decimal::try_from(v)
        .ok()
        .and_then(|d| d.to_f64())
        .unwrap_or(v)
}

/// Why a key named by the user cannot be moved.
#[derive(Debug, Clone, PartialEq)]
pub enum KeyProblem {
    /// Not a key of the scenario format (or past the end of a list).
    Unknown(String),
    /// A key whose value is not a number (`ai.mode`, `mining.curtailment`).
    NotNumeric(String),
    /// A numeric key this scenario has no value for (an optional override
    /// left out), or a setting of the run (`simulation.*`).
    NoValue(String),
}

impl std::fmt::Display for KeyProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyProblem::Unknown(m) | KeyProblem::NotNumeric(m) | KeyProblem::NoValue(m) => {
                f.write_str(m)
            }
        }
    }
}

/// A scenario file loaded for editing: its table, the overrides of the
/// command line, and the base scenario with its numeric keys.
#[derive(Debug, Clone)]
pub struct ScenarioDoc {
    file: PathBuf,
    table: Table,
    overrides: Overrides,
}

/// The file loaded, the scenario it gives (exactly as [`super::load_with`]
/// gives it) and every number validation read, in order.
pub struct Loaded {
    pub doc: ScenarioDoc,
    pub scenario: Scenario,
    pub keys: Vec<NumericKey>,
}

impl ScenarioDoc {
    /// Read and validate `path` (errors as [`super::load_with`]'s).
    pub fn load(path: &Path, overrides: &Overrides) -> Result<Loaded, ScenarioError> {
        let text = super::read_text(path)?;
        let raw = super::parse(path, &text)?;
        let record = RefCell::new(Vec::new());
        let scenario = super::build(path, raw, text.as_bytes(), overrides, Some(&record))?;
        // It parsed as a scenario, so it parses as a table.
        let table = text.parse::<Table>().map_err(|e| ScenarioError::Parse {
            file: path.to_path_buf(),
            message: e.message().to_string(),
        })?;
        let mut keys: Vec<NumericKey> = Vec::new();
        for k in record.into_inner() {
            // Keys that cannot be written in the file (a fleet CSV's cells,
            // named by line) are left out; a key read twice keeps its first.
            if parse_key(&k.key).is_some() && !keys.iter().any(|seen| seen.key == k.key) {
                keys.push(k);
            }
        }
        let doc = ScenarioDoc {
            file: path.to_path_buf(),
            table,
            overrides: overrides.clone(),
        };
        Ok(Loaded {
            doc,
            scenario,
            keys,
        })
    }

    pub fn file(&self) -> &Path {
        &self.file
    }

    /// The file's table, as written.
    pub fn table(&self) -> &Table {
        &self.table
    }

    /// `[sensitivity.ranges]`, empty when the file has none.
    pub fn ranges(&self) -> Table {
        self.table
            .get("sensitivity")
            .and_then(|s| s.get("ranges"))
            .and_then(Value::as_table)
            .cloned()
            .unwrap_or_default()
    }

    /// The file's table with `key` set to `value` (an integer for an
    /// integer key), and its mirror for a cell of the correlation matrix.
    pub fn with_value(&self, key: &str, value: f64, integer: bool) -> Result<Table, KeyProblem> {
        let steps = parse_key(key).ok_or_else(|| {
            KeyProblem::Unknown(format!(
                "`{key}` is not a key: expected names joined by `.`, with list indices in \
                 brackets (market.btc.sigma, regions[0].power_usd_per_mwh)"
            ))
        })?;
        let v = if integer {
            Value::Integer(value as i64)
        } else {
            Value::Float(value)
        };
        let mut table = self.table.clone();
        set(&mut table, &steps, v.clone())
            .map_err(|m| KeyProblem::Unknown(format!("`{key}`: {m}")))?;
        if let [.., Step::Key(m), Step::Index(i), Step::Index(j)] = steps.as_slice()
            && m == "matrix"
            && i != j
        {
            let mut mirror = steps.clone();
            let n = mirror.len();
            mirror.swap(n - 1, n - 2);
            set(&mut table, &mirror, v)
                .map_err(|m| KeyProblem::Unknown(format!("`{key}`: {m}")))?;
        }
        Ok(table)
    }

    /// The scenario of `table` (this file's, edited), validated as the
    /// file would be, with the command line's overrides.
    pub fn build(&self, table: &Table) -> Result<Scenario, ScenarioError> {
        let raw: RawScenario =
            table
                .clone()
                .try_into()
                .map_err(|e: toml::de::Error| ScenarioError::Parse {
                    file: self.file.clone(),
                    message: e.message().trim().to_string(),
                })?;
        let text = toml::to_string(table).unwrap_or_default();
        super::build(&self.file, raw, text.as_bytes(), &self.overrides, None)
    }

    /// Why `key`, which is not among the scenario's numeric keys, cannot
    /// be moved: found by setting it to the integer 1 (which every numeric
    /// key accepts) and reading what the file's schema says.
    pub fn problem(&self, key: &str) -> KeyProblem {
        if key == "simulation" || key.starts_with("simulation.") {
            return KeyProblem::NoValue(format!(
                "`{key}` is a setting of the run, not of the model (use --paths and --seed)"
            ));
        }
        let table = match self.with_value(key, 1.0, true) {
            Ok(t) => t,
            Err(p) => return p,
        };
        let err = match table.try_into::<RawScenario>() {
            Ok(_) => {
                return KeyProblem::NoValue(format!(
                    "`{key}` has no value in this scenario (an optional key left out): \
                     there is nothing to move it from"
                ));
            }
            Err(e) => e.message().trim().to_string(),
        };
        if err.contains("invalid type") {
            let expected = err.split("expected ").nth(1).unwrap_or("another type");
            let expected = expected.replace("string only", "a string");
            KeyProblem::NotNumeric(format!(
                "`{key}` is not a number: the scenario format expects {expected} there"
            ))
        } else {
            KeyProblem::Unknown(format!(
                "`{key}` is not a key of the scenario format ({err})"
            ))
        }
    }
}

/// One step from a table to a value.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    Key(String),
    Index(usize),
}

/// `a.b[1].c` into its steps; `None` unless the text is names joined by
/// `.`, each followed by any number of `[N]`.
fn parse_key(key: &str) -> Option<Vec<Step>> {
    let mut steps = Vec::new();
    for part in key.split('.') {
        let (name, mut rest) = part.split_at(part.find('[').unwrap_or(part.len()));
        let name_ok = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !name_ok {
            return None;
        }
        steps.push(Step::Key(name.to_string()));
        while !rest.is_empty() {
            let close = rest.find(']')?;
            let digits = rest.get(1..close).filter(|_| rest.starts_with('['))?;
            if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
                return None;
            }
            steps.push(Step::Index(digits.parse().ok()?));
            rest = &rest[close + 1..];
        }
    }
    Some(steps)
}

/// Set the value at `steps` in `table`, adding missing tables and the
/// defaults of a list the file omits.
fn set(table: &mut Table, steps: &[Step], value: Value) -> Result<(), String> {
    let mut root = Value::Table(std::mem::take(table));
    let result = set_from(&mut root, steps, 0, value);
    if let Value::Table(t) = root {
        *table = t;
    }
    result
}

/// Set the value at `steps[i..]` below `here`, which `steps[..i]` reached.
fn set_from(here: &mut Value, steps: &[Step], i: usize, value: Value) -> Result<(), String> {
    let last = i + 1 == steps.len();
    match &steps[i] {
        Step::Key(k) => {
            let t = here
                .as_table_mut()
                .ok_or_else(|| format!("`{}` is not a table", written(&steps[..i])))?;
            if last {
                t.insert(k.clone(), value);
                return Ok(());
            }
            if !t.contains_key(k) {
                let fresh = match steps[i + 1] {
                    Step::Key(_) => Value::Table(Table::new()),
                    Step::Index(_) => default_list(&steps[..=i])
                        .ok_or_else(|| format!("the file has no `{}`", written(&steps[..=i])))?,
                };
                t.insert(k.clone(), fresh);
            }
            set_from(t.get_mut(k).expect("present"), steps, i + 1, value)
        }
        Step::Index(n) => {
            let at = written(&steps[..i]);
            let list = here
                .as_array_mut()
                .ok_or_else(|| format!("`{at}` is not a list"))?;
            let len = list.len();
            let item = list
                .get_mut(*n)
                .ok_or_else(|| format!("`{at}` has {len} entries (indices from 0)"))?;
            if last {
                *item = value;
                return Ok(());
            }
            set_from(item, steps, i + 1, value)
        }
    }
}

/// Steps written back as a key.
fn written(steps: &[Step]) -> String {
    let mut out = String::new();
    for s in steps {
        match s {
            Step::Key(k) if out.is_empty() => out.push_str(k),
            Step::Key(k) => {
                out.push('.');
                out.push_str(k);
            }
            Step::Index(n) => out.push_str(&format!("[{n}]")),
        }
    }
    out
}

/// The default of a list the file may omit whole, written out as the file
/// would write it (numbers as exact decimal strings).
fn default_list(steps: &[Step]) -> Option<Value> {
    let num = |n: Num| Value::String(n.0.to_string());
    match written(steps).as_str() {
        "regions" => Some(Value::Array(
            RawRegion::reference()
                .into_iter()
                .map(|r| {
                    let mut t = Table::new();
                    t.insert("name".into(), Value::String(r.name));
                    t.insert("power_usd_per_mwh".into(), num(r.power_usd_per_mwh));
                    t.insert("uptime".into(), num(r.uptime));
                    if let Some(m) = r.lead_months {
                        t.insert("lead_months".into(), Value::Integer(m));
                    }
                    if let Some(c) = r.facility_capex_usd_per_mw_it {
                        t.insert("facility_capex_usd_per_mw_it".into(), num(c));
                    }
                    if let Some(s) = r.take_or_pay_share {
                        t.insert("take_or_pay_share".into(), num(s));
                    }
                    Value::Table(t)
                })
                .collect(),
        )),
        "market.correlation.matrix" => Some(Value::Array(
            RawCorrelation::default()
                .matrix
                .into_iter()
                .map(|row| Value::Array(row.into_iter().map(num).collect()))
                .collect(),
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("scenarios")
            .join(name)
    }

    fn load(name: &str) -> Loaded {
        ScenarioDoc::load(&shipped(name), &Overrides::default()).unwrap()
    }

    fn key<'a>(keys: &'a [NumericKey], k: &str) -> &'a NumericKey {
        keys.iter()
            .find(|n| n.key == k)
            .unwrap_or_else(|| panic!("no key {k}"))
    }

    /// The scenario without its hash, which differs between a file and
    /// its table.
    fn unhashed(sc: &Scenario) -> String {
        format!(
            "{:?}",
            Scenario {
                sha256: String::new(),
                ..sc.clone()
            }
        )
    }

    #[test]
    fn keys_parse_into_steps() {
        use Step::*;
        assert_eq!(
            parse_key("market.correlation.matrix[0][1]"),
            Some(vec![
                Key("market".into()),
                Key("correlation".into()),
                Key("matrix".into()),
                Index(0),
                Index(1)
            ])
        );
        assert_eq!(
            parse_key("regions[2].uptime"),
            Some(vec![Key("regions".into()), Index(2), Key("uptime".into())])
        );
        for bad in ["", "a..b", "a[", "a[x]", "a[]", "[0]", "a b", "a.b]"] {
            assert_eq!(parse_key(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_reference_keys_have_their_values_and_ranges() {
        let l = load("cango_2026.toml");
        let sigma = key(&l.keys, "market.btc.sigma");
        assert_eq!((sigma.value, sigma.lo, sigma.hi), (0.66, 0.0, 2.0));
        assert!(!sigma.integer && !sigma.lo_open);
        assert_eq!(key(&l.keys, "regions[0].power_usd_per_mwh").value, 80.0);
        assert_eq!(key(&l.keys, "market.correlation.matrix[0][1]").value, 0.3);
        // Bounded by another key: above loan.initial_ltv.
        let call = key(&l.keys, "loan.margin_call_ltv");
        assert_eq!((call.lo, call.lo_open), (0.6, true));
        let per_quarter = key(&l.keys, "policies[1].sites_per_quarter");
        assert!(per_quarter.integer);
        assert_eq!(per_quarter.value, 2.0);
        // A default by mode, which the file may omit.
        assert_eq!(key(&l.keys, "market.ai_demand.growth_per_year").value, 0.4);
        // The fleet CSV's cells cannot be set in the file.
        assert!(l.keys.iter().all(|k| !k.key.contains(' ')));
    }

    #[test]
    fn the_unedited_table_builds_the_files_scenario() {
        for name in [
            "cango_2026.toml",
            "smoke.toml",
            "cango_2026_colocation.toml",
        ] {
            let l = load(name);
            let again = l.doc.build(l.doc.table()).unwrap();
            assert_eq!(unhashed(&again), unhashed(&l.scenario), "{name}");
        }
    }

    #[test]
    fn a_float_is_held_as_read() {
        let l = load("cango_2026.toml");
        for v in [
            0.66 * 0.8,
            0.6000000000000001,
            0.1 + 0.2,
            1.0 / 3.0,
            1e-9 / 3.0,
        ] {
            let t = l.doc.with_value("market.btc.sigma", v, false).unwrap();
            let sc = l.doc.build(&t).unwrap();
            assert_eq!(sc.market.btc.sigma, as_read(v), "{v}");
            assert_eq!(as_read(as_read(v)), as_read(v), "{v}: idempotent");
        }
        assert_eq!(as_read(0.6000000000000001), 0.6);
    }

    #[test]
    fn a_matrix_cell_moves_its_mirror() {
        let l = load("cango_2026.toml");
        let t = l
            .doc
            .with_value("market.correlation.matrix[0][1]", 0.25, false)
            .unwrap();
        let sc = l.doc.build(&t).unwrap();
        assert_eq!(sc.market.correlation[0][1], 0.25);
        assert_eq!(sc.market.correlation[1][0], 0.25);
    }

    #[test]
    fn keys_the_file_omits_are_added_with_their_lists() {
        // smoke.toml has no [market.*] tables, no matrix; a file with no
        // regions gets the reference ones.
        let l = load("smoke.toml");
        let t = l
            .doc
            .with_value("market.correlation.matrix[3][0]", 0.1, false)
            .unwrap();
        let sc = l.doc.build(&t).unwrap();
        assert_eq!(sc.market.correlation[0][3], 0.1);
        assert_eq!(
            sc.market.correlation[0][1],
            l.scenario.market.correlation[0][1]
        );
        let t = l.doc.with_value("market.btc.mu", 0.2, false).unwrap();
        assert_eq!(l.doc.build(&t).unwrap().market.btc.mu, 0.2);

        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("bare.toml");
        std::fs::write(
            &file,
            "[[sites]]\nsite_id = \"a\"\nregion = \"US\"\npower_mw = 10\nj_per_th = 20\nconvertible = true\n",
        )
        .unwrap();
        let bare = ScenarioDoc::load(&file, &Overrides::default()).unwrap();
        assert_eq!(key(&bare.keys, "regions[1].uptime").value, 0.9);
        let t = bare
            .doc
            .with_value("regions[1].uptime", 0.8, false)
            .unwrap();
        let sc = bare.doc.build(&t).unwrap();
        assert_eq!(sc.regions[1].uptime, 0.8);
        let mut expected = bare.scenario.regions.clone();
        expected[1].uptime = 0.8;
        assert_eq!(format!("{:?}", sc.regions), format!("{expected:?}"));
    }

    #[test]
    fn keys_that_cannot_move_say_why() {
        let l = load("cango_2026.toml");
        let kind = |k: &str| match l.doc.problem(k) {
            KeyProblem::Unknown(_) => "unknown",
            KeyProblem::NotNumeric(_) => "not numeric",
            KeyProblem::NoValue(_) => "no value",
        };
        assert_eq!(kind("ai.mode"), "not numeric");
        assert_eq!(kind("mining.curtailment"), "not numeric");
        assert_eq!(kind("regions[0].name"), "not numeric");
        assert_eq!(kind("market.btc.nope"), "unknown");
        assert_eq!(kind("regions[9].uptime"), "unknown");
        assert_eq!(kind("nope"), "unknown");
        assert_eq!(kind("market..btc"), "unknown");
        assert_eq!(kind("simulation.paths"), "no value");
        assert_eq!(kind("regions[3].lead_months"), "no value");
        assert!(l.doc.problem("ai.mode").to_string().contains("ai.mode"));
    }
}
