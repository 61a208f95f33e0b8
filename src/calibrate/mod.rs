//! `calibrate`: the market parameters fitted to a monthly history file
//! (docs/model.md section 7; what is implemented, and the choices where
//! the spec is silent, are in docs/model.md, "Calibration").
//!
//! - [`merton`]: BTC volatility and jumps, Merton maximum likelihood on
//!   monthly log returns of the close, against a normal without jumps (the
//!   jump model is written only if it beats the normal by 3.9 log-likelihood
//!   units);
//! - [`fees`]: the fee level (median of the last 12 months, moving-block
//!   bootstrap SE) and dispersion;
//! - [`hashrate`]: the hashrate equation's maximum likelihood (through
//!   [`crate::history::Dynamics::mean_step`]) over the grid of lags and
//!   machine lives;
//! - [`optim`]: transformed scales, multi-start Nelder-Mead, standard errors
//!   from the finite-difference Hessian by the delta method, and the
//!   at-bound and identification flags;
//! - [`output`]: `calibration.json`, the `calibration.toml` fragment and the
//!   printed summary.
//!
//! The optimiser is the `argmin` crate's Nelder-Mead (argmin 0.11 with
//! argmin-math's `Vec<f64>` backend): a maintained, pure-Rust optimisation
//! library, and a derivative-free simplex method suits these likelihoods,
//! whose hashrate branch switches (gap up, gap down, exit) make them only
//! piecewise smooth. Each run is restarted once from its end point, and the
//! best of eight fixed starting points is kept, so results are deterministic.

use chrono::{Months, NaiveDate};
use serde::Serialize;

use crate::history::{Dynamics, History, month_label};

pub mod fees;
pub mod hashrate;
pub mod merton;
pub mod optim;
pub mod output;

/// The default bootstrap seed.
pub const DEFAULT_SEED: u64 = 42;
/// The fewest months a window may have.
pub const MIN_MONTHS: usize = 24;
/// A window starting before this month gets a warning (the ASIC
/// generations' one-off efficiency leaps).
pub const WARN_BEFORE: &str = "2018-01";

/// One estimate: its standard error (`None` at a bound or where the
/// information matrix gives none), and the flags.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Estimate {
    pub estimate: f64,
    pub se: Option<f64>,
    pub at_bound: bool,
    pub identified: bool,
}

impl Estimate {
    pub fn new(estimate: f64, se: Option<f64>) -> Estimate {
        Estimate {
            estimate,
            se,
            at_bound: false,
            identified: true,
        }
    }
}

/// A window or flag that cannot be used: names the flag (a bad argument,
/// exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{flag}: {message}")]
pub struct WindowError {
    pub flag: String,
    pub message: String,
}

fn window_error(flag: &str, message: String) -> WindowError {
    WindowError {
        flag: flag.to_owned(),
        message,
    }
}

/// What to calibrate.
#[derive(Debug, Clone)]
pub struct Options {
    /// `YYYY-MM`, default the file's first and last months.
    pub from: Option<String>,
    pub to: Option<String>,
    /// The month the fragment's scenario starts (default: after `to`).
    pub start: Option<String>,
    pub fit_breakeven: bool,
    pub seed: u64,
    /// The scenario's market parameters and its start (the break-even's
    /// anchor): the break-even when not fitted, and the fallback of a
    /// parameter that is not identified.
    pub scenario: crate::scenario::Market,
    pub scenario_start: NaiveDate,
    pub scenario_file: String,
    pub grid: hashrate::Grid,
}

/// The window, as file indices and months.
#[derive(Debug, Clone)]
pub struct Window {
    pub first: usize,
    pub len: usize,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// The month the fragment's scenario starts.
    pub start: NaiveDate,
}

/// Everything `calibrate` found.
#[derive(Debug, Clone)]
pub struct Calibration {
    pub history_file: String,
    pub history_sha256: String,
    pub window: Window,
    pub btc: merton::BtcFit,
    pub fees: fees::FeeFit,
    pub hashrate: hashrate::HashrateFit,
    /// The scenario's parameters (fallbacks) and where they come from.
    pub scenario: crate::scenario::Market,
    pub scenario_start: NaiveDate,
    pub scenario_file: String,
    pub fit_breakeven: bool,
    pub seed: u64,
    pub warnings: Vec<String>,
}

fn month_flag(flag: &str, text: &str) -> Result<NaiveDate, WindowError> {
    crate::history::parse_month(text)
        .ok_or_else(|| window_error(flag, format!("expected a month as YYYY-MM, got `{text}`")))
}

/// The window of `opts` in `history`, checked.
pub fn window(history: &History, opts: &Options) -> Result<Window, WindowError> {
    let first_month = history.months[0].month;
    let last_month = history.months.last().expect("two months").month;
    let span = format!(
        "the file runs from {} to {}",
        month_label(first_month),
        month_label(last_month)
    );
    let from = match &opts.from {
        Some(t) => month_flag("--from", t)?,
        None => first_month,
    };
    let to = match &opts.to {
        Some(t) => month_flag("--to", t)?,
        None => last_month,
    };
    for (flag, m) in [("--from", from), ("--to", to)] {
        if history.index_of(m).is_none() {
            return Err(window_error(
                flag,
                format!("{} is outside the history file: {span}", month_label(m)),
            ));
        }
    }
    if from > to {
        return Err(window_error(
            "--from",
            format!("{} is after --to {}", month_label(from), month_label(to)),
        ));
    }
    let first = history.index_of(from).expect("checked");
    let len = history.index_of(to).expect("checked") - first + 1;
    if len < MIN_MONTHS {
        return Err(window_error(
            "--from",
            format!(
                "the window {}..{} has {len} months; calibrate needs at least {MIN_MONTHS}",
                month_label(from),
                month_label(to)
            ),
        ));
    }
    let start = match &opts.start {
        Some(t) => month_flag("--start", t)?,
        None => to + Months::new(1),
    };
    Ok(Window {
        first,
        len,
        from,
        to,
        start,
    })
}

/// The monthly log returns of the close over pairs of window months.
pub fn log_returns(history: &History, w: &Window) -> Vec<f64> {
    history.months[w.first..w.first + w.len]
        .windows(2)
        .filter_map(|p| Some((p[1].btc_price_usd_close? / p[0].btc_price_usd_close?).ln()))
        .collect()
}

/// Fit everything.
pub fn calibrate(history: &History, opts: &Options) -> Result<Calibration, WindowError> {
    let w = window(history, opts)?;
    let mut warnings = Vec::new();
    if month_label(w.from).as_str() < WARN_BEFORE {
        warnings.push(format!(
            "the window starts in {}, before {WARN_BEFORE}: the years before 2018 had the ASIC \
             generations' one-off efficiency leaps",
            month_label(w.from)
        ));
    }
    let returns = log_returns(history, &w);
    if returns.len() < MIN_MONTHS / 2 {
        return Err(window_error(
            "--from",
            format!(
                "only {} monthly returns of the close in the window",
                returns.len()
            ),
        ));
    }
    let fees = fees::fit(history, w.first, w.len, opts.seed)
        .ok_or_else(|| window_error("--to", "too few months with fees in the window".to_owned()))?;
    let scenario_dynamics = Dynamics::of_scenario(&opts.scenario.hashrate, opts.scenario_start);
    let setup = hashrate::Setup {
        history,
        first: w.first,
        len: w.len,
        breakeven_at_first: scenario_dynamics.breakeven_at(w.from),
        efficiency_gain_per_year: opts.scenario.hashrate.efficiency_gain_per_year,
        fit_breakeven: opts.fit_breakeven,
    };
    let hashrate = hashrate::fit(&setup, &opts.grid);
    if hashrate.pairs < MIN_MONTHS / 2 {
        return Err(window_error(
            "--from",
            format!(
                "only {} months with hashrate pairs in the window",
                hashrate.pairs
            ),
        ));
    }
    Ok(Calibration {
        history_file: history.file.display().to_string(),
        history_sha256: history.sha256.clone(),
        window: w,
        btc: merton::fit(&returns),
        fees,
        hashrate,
        scenario: opts.scenario.clone(),
        scenario_start: opts.scenario_start,
        scenario_file: opts.scenario_file.clone(),
        fit_breakeven: opts.fit_breakeven,
        seed: opts.seed,
        warnings,
    })
}

#[cfg(test)]
mod tests;
