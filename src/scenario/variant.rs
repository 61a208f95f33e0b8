//! Variants of a scenario's policy: its `[[policies]]` table as the file
//! writes it, with some keys set to other values, through the scenario's
//! own deserialisation and validation ([`PolicyTable::variant`]). So a
//! variant is the policy a copy of the file with those keys set would
//! build, and a bad value gets the error that copy would.
//!
//! What keys a kind has, and whether each is an integer or a number, is
//! read from the scenario's schema itself (the raw policy type, by
//! probing it), not from a list kept here: a new kind's keys can be varied
//! as soon as the scenario accepts them ([`kinds`], [`kind_keys`],
//! [`key_type`]).

use std::fmt;
use std::path::{Path, PathBuf};

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use super::raw::RawPolicy;
use super::{PolicySpec, ScenarioError};

/// What a policy key holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    /// A whole number (`window_months`): varied values are rounded.
    Integer,
    /// A number (`hurdle`), read as a decimal.
    Number,
    /// Anything else (the name).
    Other,
}

/// A value given to a numeric key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamValue {
    Integer(i64),
    /// Given to the policy exactly, as the decimal string `"1.1"` in a
    /// scenario file is.
    Number(Decimal),
}

impl ParamValue {
    /// The value as the scenario reads it (what the policy is built with).
    pub fn as_f64(self) -> f64 {
        match self {
            ParamValue::Integer(v) => v as f64,
            ParamValue::Number(d) => d.to_f64().unwrap_or(f64::NAN),
        }
    }

    /// The TOML value that gives the policy exactly this value.
    fn exact(self) -> toml::Value {
        match self {
            ParamValue::Integer(v) => toml::Value::Integer(v),
            ParamValue::Number(d) => toml::Value::String(d.normalize().to_string()),
        }
    }

    /// The TOML value to paste into a scenario: a float literal where it
    /// reads back as this value, else the exact decimal string.
    fn pasteable(self) -> toml::Value {
        match self {
            ParamValue::Integer(v) => toml::Value::Integer(v),
            ParamValue::Number(d) => {
                let f = self.as_f64();
                // A float literal is read as `Decimal::try_from(f64)`, then
                // as f64 (`raw::Num`, `validate::Check::num`).
                let back = Decimal::try_from(f).ok().and_then(|d| d.to_f64());
                if back.map(f64::to_bits) == Some(f.to_bits()) {
                    toml::Value::Float(f)
                } else {
                    toml::Value::String(d.normalize().to_string())
                }
            }
        }
    }
}

impl fmt::Display for ParamValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamValue::Integer(v) => write!(f, "{v}"),
            ParamValue::Number(d) => write!(f, "{}", d.normalize()),
        }
    }
}

/// One policy's `[[policies]]` table of a scenario file, as written.
#[derive(Debug, Clone)]
pub struct PolicyTable {
    file: PathBuf,
    /// Its place among the file's policies.
    index: usize,
    table: toml::Table,
}

impl PolicyTable {
    /// The table of the policy named `name` in scenario `file` (a file
    /// without policies has one `hold`). `None` if there is none of that
    /// name. The file should have been loaded (validated) first.
    pub fn load(file: &Path, name: &str) -> Result<Option<PolicyTable>, ScenarioError> {
        let bytes = super::read_capped(file)?;
        let parse = |message: String| ScenarioError::Parse {
            file: file.to_path_buf(),
            message,
        };
        let text = String::from_utf8(bytes).map_err(|_| parse("expected a text file".into()))?;
        let root: toml::Table = toml::from_str(&text).map_err(|e| parse(e.message().into()))?;
        let tables: Vec<toml::Table> = match root.get("policies") {
            Some(toml::Value::Array(a)) if !a.is_empty() => {
                a.iter().filter_map(|v| v.as_table().cloned()).collect()
            }
            _ => vec![toml::Table::from_iter([("kind".into(), "hold".into())])],
        };
        Ok(tables
            .into_iter()
            .enumerate()
            .find(|(_, t)| table_name(t) == Some(name))
            .map(|(index, table)| PolicyTable {
                file: file.to_path_buf(),
                index,
                table,
            }))
    }

    /// Its kind, as written (`threshold`).
    pub fn kind(&self) -> &str {
        self.table
            .get("kind")
            .and_then(toml::Value::as_str)
            .unwrap_or("")
    }

    /// Its place among the file's policies.
    pub fn index(&self) -> usize {
        self.index
    }

    /// Key `key` of this policy's kind: what it holds, `None` if the kind
    /// has no such key.
    pub fn key_type(&self, key: &str) -> Option<KeyType> {
        key_type(&self.table, key)
    }

    /// The policy with `set` keys set (others as written), through the
    /// scenario's validation: its errors name the file and
    /// `policies[<index>].<key>`.
    pub fn variant(&self, set: &[(&str, ParamValue)]) -> Result<PolicySpec, ScenarioError> {
        let mut t = self.table.clone();
        for (key, value) in set {
            t.insert((*key).to_string(), value.exact());
        }
        let raw: RawPolicy = t
            .try_into()
            .map_err(|e: toml::de::Error| ScenarioError::Parse {
                file: self.file.clone(),
                message: format!("policies[{}]: {}", self.index, e.message()),
            })?;
        super::validate::policy(&self.file, self.index, raw)
    }

    /// The table to paste into a scenario: `name` named, with `set` keys
    /// set; `kind` and `name` first, then the other keys in name order.
    /// Each value reads back as the one [`PolicyTable::variant`] gave the
    /// policy.
    pub fn pasteable(&self, name: &str, set: &[(&str, ParamValue)]) -> String {
        let mut t = self.table.clone();
        t.remove("name");
        let kind = t.remove("kind").unwrap_or_else(|| self.kind().into());
        for (key, value) in set {
            t.insert((*key).to_string(), value.pasteable());
        }
        let mut out = format!(
            "[[policies]]\nname = {}\nkind = {kind}\n",
            toml::Value::String(name.into())
        );
        for (key, value) in &t {
            out.push_str(&format!("{key} = {value}\n"));
        }
        out
    }
}

/// A policy table's name: its `name`, else its kind.
fn table_name(t: &toml::Table) -> Option<&str> {
    t.get("name").or_else(|| t.get("kind"))?.as_str()
}

/// `table` with `key` set to `value`, read as a policy: the error's
/// message if it is not one.
fn probe(table: &toml::Table, key: &str, value: toml::Value) -> Result<(), String> {
    let mut t = table.clone();
    t.insert(key.to_string(), value);
    t.try_into::<RawPolicy>()
        .map(|_| ())
        .map_err(|e| e.message().to_string())
}

/// What `key` holds in a policy of `table`'s kind; `None` if the kind has
/// no such key. Read by probing the scenario's schema: a key it does not
/// know is refused as unknown; an integer key refuses 0.5; a number key
/// takes both 1 and 0.5.
fn key_type(table: &toml::Table, key: &str) -> Option<KeyType> {
    if key == "kind" {
        return Some(KeyType::Other);
    }
    match probe(table, key, toml::Value::Integer(1)) {
        Err(m) if m.contains("unknown field") => None,
        Err(_) => Some(KeyType::Other),
        Ok(()) => Some(match probe(table, key, toml::Value::Float(0.5)) {
            Ok(()) => KeyType::Number,
            Err(_) => KeyType::Integer,
        }),
    }
}

/// The words between backticks after "expected" in a schema's error
/// message (serde's `expected one of `a`, `b``).
fn expected_words(message: &str) -> Vec<String> {
    let Some(at) = message.find("expected") else {
        return Vec::new();
    };
    message[at..]
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

/// Every policy kind the scenario accepts, as `kind = "..."` names it.
pub fn kinds() -> Vec<String> {
    let t = toml::Table::from_iter([("kind".to_string(), toml::Value::from("\u{1}"))]);
    match t.try_into::<RawPolicy>() {
        Err(e) => expected_words(e.message()),
        Ok(_) => Vec::new(),
    }
}

/// The keys of a policy of kind `kind` besides `kind` and `name`, in the
/// schema's order.
pub fn kind_keys(kind: &str) -> Vec<String> {
    let t = toml::Table::from_iter([("kind".to_string(), toml::Value::from(kind))]);
    match probe(&t, "\u{1}", toml::Value::Integer(1)) {
        Err(m) if m.contains("unknown field") => expected_words(&m)
            .into_iter()
            .filter(|k| k != "name")
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::PolicyKind;

    fn scenario_file(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("scenarios")
            .join(format!("{name}.toml"))
    }

    fn table(name: &str, policy: &str) -> PolicyTable {
        PolicyTable::load(&scenario_file(name), policy)
            .unwrap()
            .unwrap()
    }

    /// The kinds and their keys, read from the schema: every kind a
    /// `PolicyKind` names, and the keys `raw.rs` declares.
    #[test]
    fn kinds_and_keys_are_read_from_the_schema() {
        let kinds = kinds();
        for k in ["hold", "full_pivot", "staged", "threshold"] {
            assert!(kinds.iter().any(|x| x == k), "{k} in {kinds:?}");
        }
        assert_eq!(
            kind_keys("threshold"),
            ["hurdle", "window_months", "max_concurrent"]
        );
        assert_eq!(kind_keys("staged"), ["sites_per_quarter", "max_sites"]);
        assert!(kind_keys("hold").is_empty());
        let t = table("cango_2026", "threshold");
        assert_eq!(t.kind(), "threshold");
        assert_eq!(t.index(), 2);
        assert_eq!(t.key_type("hurdle"), Some(KeyType::Number));
        assert_eq!(t.key_type("window_months"), Some(KeyType::Integer));
        assert_eq!(t.key_type("name"), Some(KeyType::Other));
        assert_eq!(t.key_type("sites_per_quarter"), None);
        assert!(
            PolicyTable::load(&scenario_file("cango_2026"), "nope")
                .unwrap()
                .is_none()
        );
    }

    /// A variant is the policy with the keys set; the others keep the
    /// file's values; a value out of range gets the scenario's error,
    /// naming the policy's place in the file.
    #[test]
    fn a_variant_goes_through_the_scenarios_validation() {
        let t = table("cango_2026", "threshold");
        let d = |s: &str| ParamValue::Number(s.parse().unwrap());
        let v = t
            .variant(&[
                ("hurdle", d("1.1")),
                ("max_concurrent", ParamValue::Integer(2)),
            ])
            .unwrap();
        assert_eq!(v.name, "threshold");
        match v.kind {
            PolicyKind::Threshold {
                hurdle,
                window_months,
                max_concurrent,
            } => assert_eq!((hurdle, window_months, max_concurrent), (1.1, 3, 2)),
            k => panic!("{k:?}"),
        }
        let e = t.variant(&[("hurdle", d("-1"))]).unwrap_err().to_string();
        assert!(
            e.contains("policies[2].hurdle") && e.contains("expected"),
            "{e}"
        );
        let e = t
            .variant(&[("window_months", ParamValue::Integer(0))])
            .unwrap_err()
            .to_string();
        assert!(e.contains("policies[2].window_months"), "{e}");
    }

    /// The pasteable table reads back, through a scenario, as the variant:
    /// a float literal where one does, else the exact decimal string.
    #[test]
    fn the_pasteable_table_reads_back_as_the_variant() {
        let t = table("cango_2026", "threshold");
        let third: Decimal = Decimal::ONE / Decimal::from(3);
        for value in [
            ParamValue::Number("1.1".parse().unwrap()),
            ParamValue::Number(third),
        ] {
            let text = t.pasteable("threshold_best", &[("hurdle", value)]);
            assert!(text.starts_with("[[policies]]\nname = \"threshold_best\"\n"));
            let root: toml::Table = toml::from_str(&text).unwrap();
            let pasted = root["policies"].as_array().unwrap()[0].as_table().unwrap();
            let raw: RawPolicy = pasted.clone().try_into().unwrap();
            let spec = crate::scenario::validate::policy(Path::new("x"), 0, raw).unwrap();
            let want = t.variant(&[("hurdle", value)]).unwrap();
            assert_eq!(spec.name, "threshold_best");
            assert_eq!(format!("{:?}", spec.kind), format!("{:?}", want.kind));
        }
        assert!(
            t.pasteable(
                "b",
                &[("hurdle", ParamValue::Number("1.1".parse().unwrap()))]
            )
            .contains("hurdle = 1.1\n")
        );
    }
}
