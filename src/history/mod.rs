//! The monthly BTC history file (docs/model.md section 7) and the drivers of
//! the hashrate equation computed on it, for `calibrate` and `backtest`.
//!
//! A history file is a CSV with one row per calendar month, oldest first, no
//! gaps: `month` (`YYYY-MM`), `btc_price_usd_close`, `btc_price_usd_mean`,
//! `hashrate_ehs_mean`, `fees_btc_per_block_mean`, `subsidy_btc`. Other
//! columns are allowed and ignored; an empty cell is a missing value. Every
//! error names the file, the line and the column, and is a bad input (exit
//! code 2).
//!
//! In history, month i's `S` is `btc_price_usd_mean` and `H` is
//! `hashrate_ehs_mean`; the fee term of `H_eq` and `H_cash` is the mean of
//! the fees of months i-12 .. i-1 present in the file (at the first month,
//! its own value); the forward subsidy continues past the file's last month
//! on the Bitcoin schedule (halvings on 2028-04-15 and 2032-04-15,
//! day-weighted).

use std::path::{Path, PathBuf};

use chrono::{Datelike, Months, NaiveDate};

use crate::model::calendar::month_subsidy;

pub mod dynamics;
pub use dynamics::{Drivers, Dynamics};

/// The columns the estimators read, in the order the errors list them.
pub const COLUMNS: [&str; 6] = [
    "month",
    "btc_price_usd_close",
    "btc_price_usd_mean",
    "hashrate_ehs_mean",
    "fees_btc_per_block_mean",
    "subsidy_btc",
];

/// The halvings after the shipped file's last month, on the Bitcoin schedule
/// (block 1,050,000 expected in April 2028, then every four years).
pub const FUTURE_HALVINGS: [(i32, u32, u32); 2] = [(2028, 4, 15), (2032, 4, 15)];

/// A history file that cannot be used: the file, the line (1 = header) and
/// the column, when there is one.
#[derive(Debug, thiserror::Error)]
#[error("{file}{}: {message}", location(*.line, .column.as_deref()))]
pub struct HistoryError {
    pub file: PathBuf,
    pub line: Option<u64>,
    pub column: Option<String>,
    pub message: String,
}

fn location(line: Option<u64>, column: Option<&str>) -> String {
    match (line, column) {
        (Some(line), Some(column)) => format!(" line {line}, column `{column}`"),
        (Some(line), None) => format!(" line {line}"),
        (None, Some(column)) => format!(" column `{column}`"),
        (None, None) => String::new(),
    }
}

/// One month of history; `None` where the cell is empty.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryMonth {
    /// First day of the month.
    pub month: NaiveDate,
    pub btc_price_usd_close: Option<f64>,
    pub btc_price_usd_mean: Option<f64>,
    pub hashrate_ehs_mean: Option<f64>,
    pub fees_btc_per_block_mean: Option<f64>,
    pub subsidy_btc: Option<f64>,
    /// Line in the file (for messages).
    pub line: u64,
}

/// A validated history file.
#[derive(Debug, Clone)]
pub struct History {
    pub file: PathBuf,
    /// SHA-256 of the file's bytes.
    pub sha256: String,
    pub months: Vec<HistoryMonth>,
}

/// Parse `YYYY-MM` into the first day of that month.
pub fn parse_month(text: &str) -> Option<NaiveDate> {
    let (year, month) = text.trim().split_once('-')?;
    if year.len() != 4 || month.len() != 2 {
        return None;
    }
    NaiveDate::from_ymd_opt(year.parse().ok()?, month.parse().ok()?, 1)
}

/// `YYYY-MM` of a month's first day.
pub fn month_label(month: NaiveDate) -> String {
    format!("{:04}-{:02}", month.year(), month.month())
}

impl History {
    /// Read and check a history file.
    pub fn load(file: &Path) -> Result<History, HistoryError> {
        let error = |line: Option<u64>, column: Option<&str>, message: String| HistoryError {
            file: file.to_path_buf(),
            line,
            column: column.map(str::to_owned),
            message,
        };
        let bytes = crate::scenario::read_capped(file).map_err(|e| {
            let message = match e {
                crate::scenario::ScenarioError::Io { source, .. } => {
                    format!("cannot read: {source}")
                }
                crate::scenario::ScenarioError::Parse { message, .. }
                | crate::scenario::ScenarioError::Invalid { message, .. } => message,
            };
            error(None, None, message)
        })?;
        use sha2::{Digest, Sha256};
        let sha256 = format!("{:x}", Sha256::digest(&bytes));
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(error(
                None,
                None,
                format!(
                    "the file is empty; expected a header ({}) and at least two months",
                    COLUMNS.join(", ")
                ),
            ));
        }
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_reader(bytes.as_slice());
        let headers = reader
            .headers()
            .map_err(|e| error(Some(1), None, format!("cannot read the header: {e}")))?
            .clone();
        let index: Vec<usize> = COLUMNS
            .iter()
            .map(|&name| {
                headers.iter().position(|h| h == name).ok_or_else(|| {
                    error(
                        Some(1),
                        Some(name),
                        format!(
                            "missing column; a history file has the columns {}",
                            COLUMNS.join(", ")
                        ),
                    )
                })
            })
            .collect::<Result<_, _>>()?;
        let mut months: Vec<HistoryMonth> = Vec::new();
        for record in reader.records() {
            let record = record.map_err(|e| {
                let line = e.position().map(csv::Position::line);
                error(line, None, format!("not a CSV row: {e}"))
            })?;
            let line = record.position().map_or(0, csv::Position::line);
            let cell = |k: usize| record.get(index[k]).unwrap_or("");
            let month = parse_month(cell(0)).ok_or_else(|| {
                error(
                    Some(line),
                    Some("month"),
                    "expected a month as YYYY-MM".to_owned(),
                )
            })?;
            let number = |k: usize, positive: bool| -> Result<Option<f64>, HistoryError> {
                let text = cell(k);
                if text.is_empty() {
                    return Ok(None);
                }
                let value: f64 = text.parse().map_err(|_| {
                    error(Some(line), Some(COLUMNS[k]), "expected a number".to_owned())
                })?;
                let ok = value.is_finite() && if positive { value > 0.0 } else { value >= 0.0 };
                if !ok {
                    let expected = if positive { "> 0" } else { ">= 0" };
                    return Err(error(
                        Some(line),
                        Some(COLUMNS[k]),
                        format!("expected a finite number {expected}, got {value}"),
                    ));
                }
                Ok(Some(value))
            };
            let row = HistoryMonth {
                month,
                btc_price_usd_close: number(1, true)?,
                btc_price_usd_mean: number(2, true)?,
                hashrate_ehs_mean: number(3, true)?,
                fees_btc_per_block_mean: number(4, false)?,
                subsidy_btc: number(5, true)?,
                line,
            };
            if let Some(previous) = months.last() {
                let expected = previous.month + Months::new(1);
                if month != expected {
                    let message = if month == previous.month {
                        format!("month {} appears twice", month_label(month))
                    } else if month < previous.month {
                        format!(
                            "months must be oldest first: {} comes after {}",
                            month_label(month),
                            month_label(previous.month)
                        )
                    } else {
                        format!(
                            "a gap: {} follows {} (expected {})",
                            month_label(month),
                            month_label(previous.month),
                            month_label(expected)
                        )
                    };
                    return Err(error(Some(line), Some("month"), message));
                }
            }
            months.push(row);
        }
        if months.len() < 2 {
            return Err(error(
                None,
                None,
                format!(
                    "expected at least two months of history, found {}",
                    months.len()
                ),
            ));
        }
        Ok(History {
            file: file.to_path_buf(),
            sha256,
            months,
        })
    }

    /// Index of `month` in the file.
    pub fn index_of(&self, month: NaiveDate) -> Option<usize> {
        let first = self.months[0].month;
        let i = (month.year() - first.year()) * 12 + month.month() as i32 - first.month() as i32;
        usize::try_from(i).ok().filter(|&i| i < self.months.len())
    }

    /// The fee term of month i: the mean of the fees of months i-12 .. i-1
    /// present in the file (at the first month, or with none present, that
    /// month's own value; `None` if that too is missing).
    pub fn fee_term(&self, i: usize) -> Option<f64> {
        let previous: Vec<f64> = self.months[i.saturating_sub(12)..i]
            .iter()
            .filter_map(|m| m.fees_btc_per_block_mean)
            .collect();
        if previous.is_empty() {
            self.months[i].fees_btc_per_block_mean
        } else {
            Some(previous.iter().sum::<f64>() / previous.len() as f64)
        }
    }

    /// The subsidy of month `i`, which may lie past the file's last month:
    /// then it continues from the last month's `subsidy_btc` on the Bitcoin
    /// schedule ([`FUTURE_HALVINGS`]), day-weighted.
    pub fn subsidy(&self, i: usize) -> Option<f64> {
        if let Some(m) = self.months.get(i) {
            return m.subsidy_btc;
        }
        let last = self.months.last().expect("at least two months");
        let base = last.subsidy_btc?;
        // Halvings after the file's last month: its own subsidy already
        // counts those before.
        let after_last = last.month + Months::new(1);
        let halvings: Vec<NaiveDate> = FUTURE_HALVINGS
            .iter()
            .map(|&(y, m, d)| NaiveDate::from_ymd_opt(y, m, d).expect("a valid date"))
            .filter(|&d| d > after_last)
            .collect();
        let first = self.months[0].month + Months::new(i as u32);
        Some(month_subsidy(first, base, &halvings))
    }

    /// `sub_fwd` of month i: the mean subsidy of months i .. i+M-1.
    pub fn subsidy_fwd(&self, i: usize, machine_life_months: usize) -> Option<f64> {
        let mut sum = 0.0;
        for k in 0..machine_life_months {
            sum += self.subsidy(i + k)?;
        }
        Some(sum / machine_life_months as f64)
    }
}

#[cfg(test)]
mod tests;
