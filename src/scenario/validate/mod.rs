//! Raw file values to a validated [`Scenario`]: the one validation path.
//!
//! Each section has a small function that reads its raw values through the
//! checks of [`Check`] (range, integer, date). A `Check` is scoped to a key
//! prefix (`loan.`, `sites[3].`, `sites_csv (fleet.csv line 4) `), so a
//! section names its keys by field and every error names the full key the
//! same way, with what was expected. Overrides from the command line were
//! applied to the raw values before this runs.
//!
//! This file holds the checks, the simulation and the scenario's name; the
//! sections have a file each: [`market`], [`sites`] (mining, AI, regions,
//! sites), [`treasury`] (treasury, loan, financing, valuation, events) and
//! [`policies`].

mod bounds;
mod market;

pub use market::cholesky;
mod policies;
mod sites;
mod treasury;

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::path::Path;

/// Most paths a run may have: the percentile histograms count in `u32`.
pub const MAX_PATHS: u64 = u32::MAX as u64;

use chrono::{Datelike, NaiveDate};
use rust_decimal::prelude::ToPrimitive;

use super::ScenarioError;
use super::edit::NumericKey;
use super::fleet::LocatedSite;
use super::raw::*;
use super::types::*;

/// Turn the raw file into a scenario. `file` is the scenario file (for
/// errors and the default name), `sha256` its hash computed by the caller.
/// `record`, if given, notes every number read (`Check::num`,
/// `Check::int`): its key, value and allowed range as checked, in order.
pub fn validate(
    file: &Path,
    raw: RawScenario,
    fleet: &[LocatedSite],
    sha256: String,
    record: Option<&RefCell<Vec<NumericKey>>>,
) -> Result<Scenario> {
    let root = Check {
        file,
        prefix: String::new(),
        record,
    };
    let simulation = root.at("simulation.").simulation(&raw.simulation)?;
    let ai = root.at("ai.").ai(&raw.ai)?;
    let market = root.at("market.").market(&raw.market, raw.ai.mode)?;
    let regions = root.regions(&raw.regions.unwrap_or_else(RawRegion::reference))?;
    let sites = root.sites(fleet, &regions, ai.facility_capex_usd_per_mw_it)?;
    root.network_holds_the_fleet(market.hashrate.h0_ehs, &sites)?;
    let (policies, baseline) = root.policies(raw.policies.unwrap_or_default())?;
    let loan = root.at("loan.").loan(&raw.loan, &simulation)?;
    let treasury = root.at("treasury.").treasury(&raw.treasury, &loan)?;
    let events = root.events(&raw.events, &simulation, &loan)?;
    Ok(Scenario {
        name: root.name(raw.name)?,
        description: raw.description.unwrap_or_default(),
        sha256,
        market,
        mining: root.at("mining.").mining(&raw.mining)?,
        ai,
        sites,
        regions,
        treasury,
        loan,
        financing: root.at("financing.").financing(&raw.financing)?,
        valuation: root.at("valuation.").valuation(&raw.valuation)?,
        events,
        policies,
        baseline,
        simulation,
    })
}

/// One `[[policies]]` table, the `index`-th of `file`, validated as the
/// scenario's own tables are (its errors name `policies[index].<key>`): a
/// variant of a scenario's policy (`super::variant`).
pub(crate) fn policy(file: &Path, index: usize, raw: RawPolicy) -> Result<PolicySpec> {
    let root = Check {
        file,
        prefix: String::new(),
        record: None,
    };
    let (mut policies, _) = root.policies(vec![raw]).map_err(|e| match e {
        ScenarioError::Invalid { file, key, message } => ScenarioError::Invalid {
            file,
            key: key.replacen("policies[0].", &format!("policies[{index}]."), 1),
            message,
        },
        e => e,
    })?;
    Ok(policies.remove(0))
}

/// Lower bound of an allowed range.
#[derive(Debug, Clone, Copy)]
enum Lo {
    Above(f64),
    AtLeast(f64),
}

/// An allowed range of a number: every key has one, bounded on both sides
/// (the constants of [`bounds`]); the upper bound is inclusive.
#[derive(Debug, Clone, Copy)]
struct Range {
    lo: Lo,
    hi: f64,
}

impl Range {
    fn contains(self, v: f64) -> bool {
        let lo_ok = match self.lo {
            Lo::Above(lo) => v > lo,
            Lo::AtLeast(lo) => v >= lo,
        };
        lo_ok && v <= self.hi
    }
}

/// A bound as the docs write it: `1e9`, `2.1e7` and `1e-8` rather than a
/// row of zeros.
fn bound(v: f64) -> String {
    if v != 0.0 && !(1e-3..1e5).contains(&v.abs()) {
        format!("{v:e}")
    } else {
        format!("{v}")
    }
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (open, lo) = match self.lo {
            Lo::Above(lo) => ('(', lo),
            Lo::AtLeast(lo) => ('[', lo),
        };
        write!(f, "a number in {open}{}, {}]", bound(lo), bound(self.hi))
    }
}

/// The checks every key goes through, scoped to a key prefix: `field`
/// arguments are relative to it.
struct Check<'a> {
    file: &'a Path,
    /// Prepended to every field name to make the key in errors.
    prefix: String,
    /// Where the numbers read are noted, if anywhere.
    record: Option<&'a RefCell<Vec<NumericKey>>>,
}

type Result<T> = std::result::Result<T, ScenarioError>;

impl<'a> Check<'a> {
    /// The same checks one level down (`sub` ends with `.` for a table).
    fn at(&self, sub: &str) -> Check<'a> {
        Check {
            file: self.file,
            prefix: format!("{}{sub}", self.prefix),
            record: self.record,
        }
    }

    fn key(&self, field: &str) -> String {
        format!("{}{field}", self.prefix)
    }

    fn invalid(&self, field: &str, message: impl Into<String>) -> ScenarioError {
        ScenarioError::Invalid {
            file: self.file.to_path_buf(),
            key: self.key(field),
            message: message.into(),
        }
    }

    /// Note a number read, with the range it was checked against.
    fn note(&self, field: &str, value: f64, (lo, lo_open, hi): (f64, bool, f64), integer: bool) {
        if let Some(record) = self.record {
            record.borrow_mut().push(NumericKey {
                key: self.key(field),
                value,
                lo,
                lo_open,
                hi,
                integer,
            });
        }
    }

    /// A number in `range`, as f64.
    fn num(&self, field: &str, value: Num, range: Range) -> Result<f64> {
        match value.0.to_f64().filter(|v| v.is_finite()) {
            Some(v) if range.contains(v) => {
                let (lo, lo_open) = match range.lo {
                    Lo::Above(lo) => (lo, true),
                    Lo::AtLeast(lo) => (lo, false),
                };
                self.note(field, v, (lo, lo_open, range.hi), false);
                Ok(v)
            }
            _ => Err(self.invalid(field, format!("expected {range}, got {value}"))),
        }
    }

    fn opt_num(&self, field: &str, value: Option<Num>, range: Range) -> Result<Option<f64>> {
        value.map(|v| self.num(field, v, range)).transpose()
    }

    /// A number above the value of another field of the same table
    /// (`strict`), or at least equal to it, and at most `hi`.
    fn above(
        &self,
        field: &str,
        value: Num,
        (other, lo): (&str, f64),
        strict: bool,
        hi: f64,
    ) -> Result<f64> {
        let (lo, relation) = if strict {
            (Lo::Above(lo), ">")
        } else {
            (Lo::AtLeast(lo), ">=")
        };
        let bound_lo = match lo {
            Lo::Above(v) | Lo::AtLeast(v) => v,
        };
        self.num(field, value, Range { lo, hi }).map_err(|_| {
            let other = self.key(other);
            self.invalid(
                field,
                format!(
                    "expected a number {relation} {other} ({bound_lo}) and <= {}, got {value}",
                    bound(hi)
                ),
            )
        })
    }

    /// An integer in `[min, max]`.
    fn int(&self, field: &str, value: i64, (min, max): (i64, i64)) -> Result<usize> {
        if (min..=max).contains(&value) {
            self.note(field, value as f64, (min as f64, false, max as f64), true);
        }
        usize::try_from(value)
            .ok()
            .filter(|_| (min..=max).contains(&value))
            .ok_or_else(|| {
                self.invalid(
                    field,
                    format!("expected an integer in [{min}, {max}], got {value}"),
                )
            })
    }

    fn opt_int(&self, field: &str, value: Option<i64>, range: (i64, i64)) -> Result<Option<usize>> {
        value.map(|v| self.int(field, v, range)).transpose()
    }

    /// An integer >= `min`, whose upper bound the caller checks with its
    /// own words (paths, months).
    fn int_at_least(&self, field: &str, value: i64, min: i64) -> Result<usize> {
        usize::try_from(value)
            .ok()
            .filter(|_| value >= min)
            .ok_or_else(|| {
                self.invalid(field, format!("expected an integer >= {min}, got {value}"))
            })
    }

    fn date(&self, field: &str, text: &str) -> Result<NaiveDate> {
        NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| {
            self.invalid(
                field,
                format!("expected a date \"YYYY-MM-DD\", got {text:?}"),
            )
        })
    }

    /// The month index of `date` (the calendar month containing it), `None`
    /// after the horizon; a date before the start is an error.
    fn month_of(
        &self,
        field: &str,
        date: NaiveDate,
        simulation: &Simulation,
    ) -> Result<Option<usize>> {
        let start = simulation.start;
        if date < start {
            return Err(self.invalid(
                field,
                format!("expected a date on or after simulation.start ({start}), got {date}"),
            ));
        }
        let months = (date.year() - start.year()) * 12 + date.month() as i32 - start.month() as i32;
        let month = months as usize;
        Ok((month < simulation.months).then_some(month))
    }

    /// A non-empty name, unique among `seen` (which it joins).
    fn unique_name<'n>(
        &self,
        field: &str,
        name: &'n str,
        what: &str,
        seen: &mut HashMap<&'n str, String>,
    ) -> Result<()> {
        if name.trim().is_empty() {
            return Err(self.invalid(field, format!("expected a non-empty {what}")));
        }
        if let Some(first) = seen.insert(name, self.key(field)) {
            return Err(self.invalid(
                field,
                format!("duplicate {what} `{name}` (also at `{first}`)"),
            ));
        }
        Ok(())
    }

    /// A name that becomes part of a file or folder name (the scenario's,
    /// a policy's, a site's): a plain file name that cannot leave its
    /// folder, see [`file_name_problem`].
    pub(super) fn file_name(&self, field: &str, name: &str, what: &str) -> Result<()> {
        match file_name_problem(name) {
            None => Ok(()),
            Some(problem) => Err(self.invalid(
                field,
                format!(
                    "expected a {what} usable as a file name ({MAX_NAME_BYTES} bytes at most, \
                     no `/`, `\\`, control character, `.` or `..`); got {name:?}, {problem}"
                ),
            )),
        }
    }

    /// The name names the output folder: it must be a plain file name.
    fn name(&self, name: Option<String>) -> Result<String> {
        let name = match name {
            Some(name) => name,
            None => self
                .file
                .file_stem()
                .map(|stem| stem.to_string_lossy().into_owned())
                .unwrap_or_default(),
        };
        self.file_name("name", &name, "scenario name")?;
        Ok(name)
    }

    /// The network's hashrate at month 0 includes the fleet's own: a
    /// smaller one would have the fleet mine more than every block.
    fn network_holds_the_fleet(&self, h0_ehs: f64, sites: &[Site]) -> Result<()> {
        let fleet: f64 = sites.iter().map(Site::hashrate_ehs).sum();
        if h0_ehs < fleet {
            return Err(self.invalid(
                "market.hashrate.h0_ehs",
                format!(
                    "expected at least the fleet's own hashrate, {fleet} EH/s (power_mw / \
                     j_per_th summed over the sites), got {h0_ehs}"
                ),
            ));
        }
        Ok(())
    }

    fn simulation(&self, raw: &RawSimulation) -> Result<Simulation> {
        let start = self.date("start", &raw.start)?;
        if start.day() != 1 {
            return Err(self.invalid("start", format!("expected the 1st of a month, got {start}")));
        }
        let (first, last) = (
            NaiveDate::from_ymd_opt(2009, 1, 1).expect("a date"),
            NaiveDate::from_ymd_opt(2100, 12, 1).expect("a date"),
        );
        if start < first || start > last {
            return Err(self.invalid(
                "start",
                format!("expected a month from {first} (Bitcoin's first) to {last}, got {start}"),
            ));
        }
        let months = self.int_at_least("months", raw.months, 1)?;
        if months > MAX_MONTHS {
            return Err(self.invalid(
                "months",
                format!("expected at most {MAX_MONTHS} (50 years), got {months}"),
            ));
        }
        let paths = self.int_at_least("paths", raw.paths, 1)? as u64;
        if paths > MAX_PATHS {
            return Err(self.invalid(
                "paths",
                format!("expected at most {MAX_PATHS} (the percentile histograms count in 32 bits), got {paths}"),
            ));
        }
        Ok(Simulation {
            paths,
            seed: raw.seed,
            months,
            start,
        })
    }
}

/// A key whose default depends on the AI mode.
fn by_mode(value: Option<Num>, mode: RawAiMode, gpu_cloud: &str, colocation: &str) -> Num {
    value.unwrap_or_else(|| {
        Num::lit(match mode {
            RawAiMode::GpuCloud => gpu_cloud,
            RawAiMode::Colocation => colocation,
        })
    })
}

/// The most months a scenario may simulate (50 years): every figure stays
/// finite and a run's memory bounded.
pub(crate) const MAX_MONTHS: usize = 600;

/// The longest name that becomes part of a file name, in bytes.
pub(crate) const MAX_NAME_BYTES: usize = 100;

/// Why `name` cannot be used as (part of) a file name in an output folder,
/// or `None` if it can: not empty or blank, at most [`MAX_NAME_BYTES`]
/// bytes, no path separator, no control character (NUL, newline, ...),
/// and not `.` or `..`.
pub(crate) fn file_name_problem(name: &str) -> Option<&'static str> {
    if name.trim().is_empty() {
        Some("which is empty")
    } else if name.len() > MAX_NAME_BYTES {
        Some("which is too long")
    } else if name.contains(['/', '\\']) {
        Some("which has a path separator")
    } else if name.chars().any(char::is_control) {
        Some("which has a control character")
    } else if name == "." || name == ".." {
        Some("which names a folder")
    } else {
        None
    }
}
