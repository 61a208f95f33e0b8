//! Where the sites come from: the fleet CSV named by `sites_csv`, or inline
//! `[[sites]]` tables. Both give the same raw rows; each row carries the key
//! prefix that error messages use for it, so `validate` names a bad value the
//! way the user wrote it (`sites[3].power_mw` or
//! `sites_csv (fleet.csv line 4) power_mw`).

use std::path::{Path, PathBuf};

use super::ScenarioError;
use super::raw::{RawScenario, RawSite};

/// A raw site and how to name its keys in errors.
#[derive(Debug, Clone)]
pub struct LocatedSite {
    /// Prepended to a column name to make an error key.
    pub key_prefix: String,
    pub site: RawSite,
}

/// The fleet as written, plus the CSV's bytes (hashed into the scenario's SHA-256).
#[derive(Debug)]
pub struct Fleet {
    pub sites: Vec<LocatedSite>,
    pub csv_bytes: Option<Vec<u8>>,
}

/// Read the fleet from the CSV or the inline tables; exactly one must be
/// given, with at least one site. `file` is the scenario file.
pub fn load(file: &Path, raw: &RawScenario) -> Result<Fleet, ScenarioError> {
    let invalid = |key: &str, message: String| ScenarioError::Invalid {
        file: file.to_path_buf(),
        key: key.to_owned(),
        message,
    };
    let fleet = match (&raw.sites_csv, raw.sites.is_empty()) {
        (Some(_), false) => {
            return Err(invalid(
                "sites_csv",
                "give either `sites_csv` or `[[sites]]` tables, not both".into(),
            ));
        }
        (None, true) => {
            return Err(invalid(
                "sites",
                "expected a fleet: `sites_csv = \"fleet.csv\"` or at least one `[[sites]]` table"
                    .into(),
            ));
        }
        (Some(csv_name), true) => {
            let csv_path = csv_path(file, csv_name);
            let bytes = super::read_capped(&csv_path)?;
            let sites = parse_csv(file, csv_name, &bytes)?;
            if sites.is_empty() {
                return Err(invalid(
                    "sites_csv",
                    format!("expected at least one site in {csv_name}, found only a header"),
                ));
            }
            Fleet {
                sites,
                csv_bytes: Some(bytes),
            }
        }
        (None, false) => Fleet {
            sites: raw
                .sites
                .iter()
                .enumerate()
                .map(|(index, site)| LocatedSite {
                    key_prefix: format!("sites[{index}]."),
                    site: site.clone(),
                })
                .collect(),
            csv_bytes: None,
        },
    };
    Ok(fleet)
}

/// `sites_csv` is relative to the scenario file's folder.
fn csv_path(file: &Path, csv_name: &str) -> PathBuf {
    file.parent().unwrap_or(Path::new("")).join(csv_name)
}

/// Rows of a fleet CSV (header line first, columns named like the
/// `[[sites]]` keys; an empty cell is an absent optional value).
fn parse_csv(file: &Path, csv_name: &str, bytes: &[u8]) -> Result<Vec<LocatedSite>, ScenarioError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let headers = reader
        .headers()
        .map_err(|err| csv_error(file, csv_name, 1, &[], &csv::StringRecord::new(), err))?
        .clone();
    let columns: Vec<&str> = headers.iter().collect();
    check_header(file, csv_name, &columns)?;
    let mut sites = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        let line = reader.position().line();
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(err) => return Err(csv_error(file, csv_name, line, &columns, &record, err)),
        }
        let line = record.position().map_or(line, csv::Position::line);
        let site = record
            .deserialize::<RawSite>(Some(&headers))
            .map_err(|err| csv_error(file, csv_name, line, &columns, &record, err))?;
        sites.push(LocatedSite {
            key_prefix: format!("sites_csv ({csv_name} line {line}) "),
            site,
        });
    }
    Ok(sites)
}

/// The columns a fleet CSV may have, the first five required.
const COLUMNS: [&str; 10] = [
    "site_id",
    "region",
    "power_mw",
    "j_per_th",
    "convertible",
    "power_usd_per_mwh",
    "uptime",
    "lead_months",
    "facility_capex_usd_per_mw_it",
    "take_or_pay_share",
];
const REQUIRED_COLUMNS: usize = 5;

/// The header names known columns, each once, and every required one.
///
/// An unknown column is quoted only when it looks like a column name (a
/// short ASCII identifier, such as a misspelt `powr_mw`): a file that is not
/// a fleet CSV at all (`sites_csv = "/etc/passwd"`) is named, and its
/// content is not echoed.
fn check_header(file: &Path, csv_name: &str, columns: &[&str]) -> Result<(), ScenarioError> {
    let invalid = |key: String, message: String| ScenarioError::Invalid {
        file: file.to_path_buf(),
        key,
        message,
    };
    let expected = COLUMNS.join(", ");
    let header_key = || format!("sites_csv ({csv_name} line 1)");
    for (i, column) in columns.iter().enumerate() {
        if COLUMNS.contains(column) {
            if columns[..i].contains(column) {
                return Err(invalid(
                    format!("{} {column}", header_key()),
                    "the column appears twice in the header".into(),
                ));
            }
            continue;
        }
        let looks_like_a_name = !column.is_empty()
            && column.len() <= 64
            && column
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        let message = if looks_like_a_name {
            format!("unknown column `{column}`; the columns are {expected}")
        } else {
            format!(
                "header column {} is not a column name: {csv_name} does not look like a \
                 fleet CSV (a header line naming the columns {expected}, then a site per line)",
                i + 1
            )
        };
        return Err(invalid(header_key(), message));
    }
    match COLUMNS[..REQUIRED_COLUMNS]
        .iter()
        .find(|required| !columns.contains(required))
    {
        Some(missing) => Err(invalid(
            header_key(),
            format!(
                "missing the column `{missing}`; the required columns are {}",
                COLUMNS[..REQUIRED_COLUMNS].join(", ")
            ),
        )),
        None => Ok(()),
    }
}

/// The column whose cell raised a number error that does not say its field:
/// the cell that reads as the number the message quotes (`NaN`, `inf`,
/// `1e30` beyond the decimal range), or the first empty cell of a required
/// column when the message is about an empty string.
fn column_of_number(message: &str, columns: &[&str], record: &csv::StringRecord) -> Option<usize> {
    let mut cells = columns.iter().zip(record).enumerate();
    if message.contains("floating point `") {
        let value = super::locate::quoted_number(message)?;
        return cells.find_map(|(i, (_, cell))| super::locate::is_number(cell, value).then_some(i));
    }
    if message.contains("string \"\"") {
        return cells.find_map(|(i, (column, cell))| {
            (cell.is_empty() && COLUMNS[..REQUIRED_COLUMNS].contains(column)).then_some(i)
        });
    }
    None
}

/// A CSV error as `ScenarioError::Invalid`, keyed by the CSV line and the
/// column when it can be told.
///
/// csv knows the column of its own parse errors (a bool, an integer) but not
/// of an error raised by a field's own deserializer (a bad number for `Num`);
/// that message quotes the cell, so the column is the one holding that text.
fn csv_error(
    file: &Path,
    csv_name: &str,
    line: u64,
    columns: &[&str],
    record: &csv::StringRecord,
    err: csv::Error,
) -> ScenarioError {
    let line = err.position().map_or(line, csv::Position::line);
    let (column, message) = match err.kind() {
        csv::ErrorKind::Deserialize { err, .. } => {
            let message = err.kind().to_string();
            let column = match err.field() {
                Some(field) => usize::try_from(field).ok().and_then(|i| columns.get(i)),
                None => columns
                    .iter()
                    .zip(record)
                    .find_map(|(column, cell)| {
                        (!cell.is_empty() && message.contains(&format!("{cell:?}")))
                            .then_some(column)
                    })
                    .or_else(|| {
                        column_of_number(&message, columns, record).and_then(|i| columns.get(i))
                    }),
            };
            (column.copied(), message)
        }
        csv::ErrorKind::Utf8 { err, .. } => (
            columns.get(err.field()).copied(),
            "expected text (UTF-8) in this cell".to_owned(),
        ),
        _ => (None, err.to_string()),
    };
    let key = match column {
        Some(column) => format!("sites_csv ({csv_name} line {line}) {column}"),
        None => format!("sites_csv ({csv_name} line {line})"),
    };
    ScenarioError::Invalid {
        file: file.to_path_buf(),
        key,
        message,
    }
}
