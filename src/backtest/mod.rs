//! `backtest`: the hashrate equation of a scenario (or of a calibration) run
//! through history around the events that matter, and the forecast check of
//! a scenario against the months after its start (docs/model.md section 7).
//!
//! For each event (by default every halving in the history file and the
//! capitulations of 2018-11 and 2022-06) the model starts [`LEAD_MONTHS`]
//! before the event at the observed hashrate and steps the equation with
//! the observed BTC price, subsidy and fees ([`crate::history::Dynamics`] on
//! [`crate::history::Drivers`]), drawing only the hashrate noise: [`PATHS`]
//! paths, each seeded by (seed, event, path), so the numbers depend on
//! neither the threads nor the other events. It reports the 5/50/95% fans of
//! hashrate and hashprice at the event and [`HORIZONS`] months after it,
//! beside what happened, and scores the model by the log of its predictive
//! density of `ln H` at the actual value ([`kde`]), against a random walk
//! with drift fitted on the same window.
//!
//! Owns the numbers only: [`report`] turns them into `backtest.csv`,
//! `backtest.json` and the table; the charts layer draws them (`charts/backtest.rs`); the
//! CLI writes the files.

use std::path::{Path, PathBuf};

use chrono::{Months, NaiveDate};

use crate::history::dynamics::months_between;
use crate::history::{Dynamics, History, HistoryError, month_label, parse_month};
use crate::scenario::Scenario;

pub mod calibration;
pub mod forecast;
pub mod kde;
pub mod report;
mod simulate;

/// Months between the model's start and the event.
pub const LEAD_MONTHS: usize = 3;
/// Months after the event at which the model is scored (0: the event's month,
/// reported but not scored).
pub const HORIZONS: [usize; 5] = [0, 1, 3, 6, 12];
/// Simulated paths per event.
pub const PATHS: usize = 2000;
/// The capitulations among the default events.
pub const CAPITULATIONS: [&str; 2] = ["2018-11", "2022-06"];
/// Seed when neither `--seed` nor a scenario gives one.
pub const DEFAULT_SEED: u64 = 42;

/// Where the parameters come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    Scenario,
    Calibration,
}

impl SourceKind {
    pub fn name(self) -> &'static str {
        match self {
            SourceKind::Scenario => "scenario",
            SourceKind::Calibration => "calibration",
        }
    }
}

/// The hashrate equation's parameters, and where they come from.
#[derive(Debug, Clone)]
pub struct Params {
    pub kind: SourceKind,
    /// The scenario's name, or the calibration's folder name: names the
    /// default output folder.
    pub name: String,
    pub file: PathBuf,
    pub dynamics: Dynamics,
    pub lag_months: usize,
    pub machine_life_months: usize,
    /// The window the random walk is fitted on (a calibration's); `None`:
    /// the whole history file.
    pub window: Option<(NaiveDate, NaiveDate)>,
    /// The seed when `--seed` is not given (a scenario's own).
    pub seed: u64,
}

impl Params {
    /// A scenario's hashrate parameters, its break-even at its `start`.
    pub fn of_scenario(sc: &Scenario, file: &Path) -> Params {
        let hr = &sc.market.hashrate;
        Params {
            kind: SourceKind::Scenario,
            name: sc.name.clone(),
            file: file.to_path_buf(),
            dynamics: Dynamics::of_scenario(hr, sc.simulation.start),
            lag_months: hr.lag_months,
            machine_life_months: hr.machine_life_months,
            window: None,
            seed: sc.simulation.seed,
        }
    }
}

/// What an event is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Halving,
    Capitulation,
    /// A month given with `--events` that is neither.
    Other,
}

impl EventKind {
    pub fn name(self) -> &'static str {
        match self {
            EventKind::Halving => "halving",
            EventKind::Capitulation => "capitulation",
            EventKind::Other => "event",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    /// First day of the event's month.
    pub month: NaiveDate,
    pub kind: EventKind,
}

/// The halvings in the file: the months whose `subsidy_btc` is below the
/// previous month's, where the previous month's is not itself below its
/// predecessor's (a halving after the 1st spreads the drop over two months
/// of day-weighted subsidy; the event is the first).
pub fn halvings(history: &History) -> Vec<NaiveDate> {
    let s: Vec<Option<f64>> = history.months.iter().map(|m| m.subsidy_btc).collect();
    let drop = |i: usize| i >= 1 && matches!((s[i - 1], s[i]), (Some(a), Some(b)) if b < a);
    (1..s.len())
        .filter(|&i| drop(i) && !drop(i - 1))
        .map(|i| history.months[i].month)
        .collect()
}

fn kind_of(history: &History, month: NaiveDate) -> EventKind {
    if halvings(history).contains(&month) {
        EventKind::Halving
    } else if CAPITULATIONS.iter().any(|c| parse_month(c) == Some(month)) {
        EventKind::Capitulation
    } else {
        EventKind::Other
    }
}

/// Why the model cannot start [`LEAD_MONTHS`] before `month`, if it cannot.
fn unusable(history: &History, month: NaiveDate) -> Option<String> {
    let label = month_label(month);
    let first = month_label(history.months[0].month);
    let last = month_label(history.months.last().expect("two months").month);
    let Some(i) = history.index_of(month) else {
        return Some(format!(
            "event {label} is not in the file, which covers {first} to {last}"
        ));
    };
    let start = month - Months::new(LEAD_MONTHS as u32);
    if i < LEAD_MONTHS {
        return Some(format!(
            "event {label}: the model starts {LEAD_MONTHS} months before the event, at {}, \
             before the file's first month {first}",
            month_label(start)
        ));
    }
    if history.months[i - LEAD_MONTHS].hashrate_ehs_mean.is_none() {
        return Some(format!(
            "event {label}: the model starts at the observed hashrate of {}, which is missing",
            month_label(start)
        ));
    }
    None
}

/// The default events: every halving in the file and the capitulations of
/// [`CAPITULATIONS`], oldest first, those the model can start before (three
/// months of file before them, the hashrate of the start month present).
pub fn default_events(history: &History) -> Vec<Event> {
    let mut months = halvings(history);
    months.extend(CAPITULATIONS.iter().filter_map(|c| parse_month(c)));
    months.sort();
    months.dedup();
    months
        .into_iter()
        .filter(|&m| unusable(history, m).is_none())
        .map(|month| Event {
            month,
            kind: kind_of(history, month),
        })
        .collect()
}

/// The events given with `--events`, in the order given (duplicates once);
/// one the model cannot start before is a bad input naming the file.
pub fn events_of(history: &History, months: &[NaiveDate]) -> Result<Vec<Event>, HistoryError> {
    let mut events: Vec<Event> = Vec::new();
    for &month in months {
        if let Some(message) = unusable(history, month) {
            return Err(HistoryError {
                file: history.file.clone(),
                line: None,
                column: None,
                message,
            });
        }
        if events.iter().all(|e| e.month != month) {
            events.push(Event {
                month,
                kind: kind_of(history, month),
            });
        }
    }
    Ok(events)
}

/// One month of an event's fan, for the chart.
#[derive(Debug, Clone, PartialEq)]
pub struct FanMonth {
    pub month: NaiveDate,
    pub actual_hashrate_ehs: Option<f64>,
    /// The model's hashrate percentiles (5, 25, 50, 75, 95), EH/s; `None`
    /// where the observed drivers ran out.
    pub hashrate_ehs: Option<[f64; 5]>,
}

/// One row of `backtest.csv`. `None` is a blank cell.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub event: NaiveDate,
    pub horizon_months: usize,
    pub actual_hashrate_ehs: Option<f64>,
    /// 5, 50, 95% of the model's hashrate, EH/s.
    pub hashrate_ehs: Option<[f64; 3]>,
    pub log_density_hashrate: Option<f64>,
    /// The random walk's log density at the same actual value.
    pub random_walk_log_density: Option<f64>,
    pub actual_hashprice_usd_per_ph_day: Option<f64>,
    /// 5, 50, 95% of the model's hashprice, USD per PH/s per day.
    pub hashprice_usd_per_ph_day: Option<[f64; 3]>,
}

impl Row {
    /// Whether the row counts in the score: after the event, with an actual
    /// and a model density.
    pub fn scored(&self) -> bool {
        self.horizon_months > 0
            && self.log_density_hashrate.is_some()
            && self.random_walk_log_density.is_some()
    }
}

/// One event's backtest.
#[derive(Debug, Clone)]
pub struct EventResult {
    pub event: Event,
    /// The model's first month ([`LEAD_MONTHS`] before the event).
    pub start: NaiveDate,
    /// The fan from `start` to 12 months after the event.
    pub months: Vec<FanMonth>,
    /// One per horizon of [`HORIZONS`].
    pub rows: Vec<Row>,
}

/// A random walk with drift on `ln H`, fitted on one-month changes.
#[derive(Debug, Clone, PartialEq)]
pub struct RandomWalk {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Mean one-month change of `ln H`.
    pub drift_per_month: f64,
    /// Sample standard deviation of the one-month changes.
    pub vol_per_month: f64,
    /// One-month changes used (both months in the window and present).
    pub steps: usize,
}

impl RandomWalk {
    /// Fit on the months `from ..= to` of the file.
    pub fn fit(history: &History, from: NaiveDate, to: NaiveDate) -> Result<RandomWalk, String> {
        let (Some(a), Some(b)) = (history.index_of(from), history.index_of(to)) else {
            return Err(format!(
                "the window {} to {} is not inside the file",
                month_label(from),
                month_label(to)
            ));
        };
        let ln_h = |i: usize| history.months[i].hashrate_ehs_mean.map(f64::ln);
        let d: Vec<f64> = (a..b)
            .filter_map(|i| Some(ln_h(i + 1)? - ln_h(i)?))
            .collect();
        if d.len() < 2 {
            return Err(format!(
                "the random walk needs at least two one-month hashrate changes in {} to {}",
                month_label(from),
                month_label(to)
            ));
        }
        let n = d.len() as f64;
        let mean = d.iter().sum::<f64>() / n;
        let var = d.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0);
        Ok(RandomWalk {
            from,
            to,
            drift_per_month: mean,
            vol_per_month: var.sqrt(),
            steps: d.len(),
        })
    }

    /// `ln` of its predictive density of `ln H` `k` months after a start at
    /// `ln_h0`: Normal(ln_h0 + k drift, k vol^2), exactly (floored).
    pub fn log_density(&self, ln_h0: f64, k: usize, ln_h: f64) -> f64 {
        let k = k as f64;
        kde::normal_log_density(
            ln_h,
            ln_h0 + k * self.drift_per_month,
            k.sqrt() * self.vol_per_month,
        )
    }
}

/// A whole backtest.
#[derive(Debug, Clone)]
pub struct Backtest {
    pub params: Params,
    pub history_file: PathBuf,
    pub history_sha256: String,
    pub seed: u64,
    pub paths: usize,
    pub events: Vec<EventResult>,
    pub random_walk: RandomWalk,
    /// Mean log density of the scored rows (`None`: no row scored).
    pub score: Option<f64>,
    pub random_walk_score: Option<f64>,
    pub scored_rows: usize,
}

/// Run the backtest of `params` on `events`.
pub fn run(
    history: &History,
    params: &Params,
    events: &[Event],
    seed: u64,
    paths: usize,
) -> Result<Backtest, HistoryError> {
    let file_error = |message: String| HistoryError {
        file: history.file.clone(),
        line: None,
        column: None,
        message,
    };
    let (from, to) = params.window.unwrap_or((
        history.months[0].month,
        history.months.last().expect("two months").month,
    ));
    let random_walk = RandomWalk::fit(history, from, to).map_err(file_error)?;
    let results: Vec<EventResult> = events
        .iter()
        .map(|e| simulate::event(history, params, &random_walk, e, seed, paths))
        .collect();
    let scored: Vec<&Row> = results
        .iter()
        .flat_map(|r| &r.rows)
        .filter(|r| r.scored())
        .collect();
    let mean = |get: fn(&Row) -> Option<f64>| {
        (!scored.is_empty())
            .then(|| scored.iter().filter_map(|r| get(r)).sum::<f64>() / scored.len() as f64)
    };
    Ok(Backtest {
        params: params.clone(),
        history_file: history.file.clone(),
        history_sha256: history.sha256.clone(),
        seed,
        paths,
        score: mean(|r| r.log_density_hashrate),
        random_walk_score: mean(|r| r.random_walk_log_density),
        scored_rows: scored.len(),
        events: results,
        random_walk,
    })
}

/// Months from `a` to `b`, as an index offset (`b` not before `a`).
fn offset(a: NaiveDate, b: NaiveDate) -> usize {
    usize::try_from(months_between(a, b)).unwrap_or(0)
}

#[cfg(test)]
mod tests;
