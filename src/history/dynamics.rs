//! The hashrate equation of docs/model.md section 1, driven by history: the
//! one-month step of `ln H` given the observed BTC price, subsidy and fees.
//! `calibrate` maximises its likelihood; `backtest` simulates it forward.
//!
//! [`Drivers`] holds what does not depend on the fitted parameters (per
//! month: the observed `ln H`, and `ln(144 (subsidy + fee) S)` for `H_cash`
//! and, lagged by L months, `ln(144 (sub_fwd + fee) S)` for `H_eq`), so that
//! a likelihood evaluation is a pass of a few adds per month. The break-even
//! `hp_be` is `breakeven_usd_per_eh_day` at an anchor month, carried
//! backward or forward with `efficiency_gain_per_year`.

use chrono::{Datelike, NaiveDate};

use super::History;
use crate::model::calendar::{BLOCKS_PER_DAY, DT_YEARS};
use crate::scenario::Hashrate;

/// The parameters of the hashrate equation.
#[derive(Debug, Clone, PartialEq)]
pub struct Dynamics {
    pub kappa_up_per_year: f64,
    pub kappa_down_per_year: f64,
    pub kappa_exit_per_year: f64,
    pub cash_cost_share: f64,
    pub sigma: f64,
    pub capitulation: bool,
    /// `hp_be` at `anchor`, USD per EH/s per day.
    pub breakeven_usd_per_eh_day: f64,
    pub efficiency_gain_per_year: f64,
    /// The month whose break-even is `breakeven_usd_per_eh_day` (first day).
    pub anchor: NaiveDate,
}

/// Months from `from` to `to` (negative when `to` is earlier).
pub fn months_between(from: NaiveDate, to: NaiveDate) -> i64 {
    i64::from(to.year() - from.year()) * 12 + i64::from(to.month()) - i64::from(from.month())
}

impl Dynamics {
    /// A scenario's hashrate parameters; its break-even applies at `start`.
    pub fn of_scenario(hr: &Hashrate, start: NaiveDate) -> Dynamics {
        Dynamics {
            kappa_up_per_year: hr.kappa_up_per_year,
            kappa_down_per_year: hr.kappa_down_per_year,
            kappa_exit_per_year: hr.kappa_exit_per_year,
            cash_cost_share: hr.cash_cost_share,
            sigma: hr.sigma,
            capitulation: hr.capitulation,
            breakeven_usd_per_eh_day: hr.breakeven_usd_per_eh_day,
            efficiency_gain_per_year: hr.efficiency_gain_per_year,
            anchor: start,
        }
    }

    /// `ln hp_be` of the month `months_from_anchor` months after the anchor.
    pub fn ln_breakeven(&self, months_from_anchor: f64) -> f64 {
        self.breakeven_usd_per_eh_day.ln()
            - self.efficiency_gain_per_year * months_from_anchor * DT_YEARS
    }

    /// `hp_be` at `month`.
    pub fn breakeven_at(&self, month: NaiveDate) -> f64 {
        self.ln_breakeven(months_between(self.anchor, month) as f64)
            .exp()
    }

    /// The mean of `ln H[t+1] - ln H[t]` given `ln H[t] = ln_h` (the drift
    /// of the branch that applies, times dt, minus sigma^2/2 dt), or `None`
    /// where a driver of month t is missing.
    pub fn mean_step(&self, d: &Drivers, t: usize, ln_h: f64) -> Option<f64> {
        let exit = if self.capitulation {
            let ln_h_cash =
                d.ln_value_cash[t]? - self.cash_cost_share.ln() - self.ln_breakeven(d.offset(t));
            (ln_h > ln_h_cash).then_some(ln_h_cash)
        } else {
            None
        };
        let drift_dt = match exit {
            Some(ln_h_cash) => self.kappa_exit_per_year * DT_YEARS * (ln_h_cash - ln_h),
            None => {
                // Month t - L, or the file's first month before the file.
                let file_start = d.offset(0) - d.first_index as f64;
                let lagged = (d.offset(t) - d.lag_months as f64).max(file_start);
                let ln_h_eq = d.ln_value_eq_lagged[t]? - self.ln_breakeven(lagged);
                let gap = ln_h_eq - ln_h;
                let kappa = if gap > 0.0 {
                    self.kappa_up_per_year
                } else {
                    self.kappa_down_per_year
                };
                kappa * DT_YEARS * gap
            }
        };
        Some(drift_dt - 0.5 * self.sigma * self.sigma * DT_YEARS)
    }
}

/// The parameter-free inputs of the equation over a window of the history,
/// for one lag L and machine life M. Index t is the window's month t.
#[derive(Debug, Clone)]
pub struct Drivers {
    pub lag_months: usize,
    pub machine_life_months: usize,
    /// The window's first month, as an index in the file.
    pub first_index: usize,
    /// Months from the dynamics' anchor to the window's first month.
    pub anchor_offset: i64,
    /// Observed `ln H[t]` (`None` where the file has no hashrate).
    pub ln_h: Vec<Option<f64>>,
    /// `ln(144 (subsidy[t] + fee[t]) S[t])`.
    pub ln_value_cash: Vec<Option<f64>>,
    /// `ln(144 (sub_fwd[s] + fee[s]) S[s])` at `s = t - L` (a month before
    /// the file takes the file's first month's values).
    pub ln_value_eq_lagged: Vec<Option<f64>>,
}

impl Drivers {
    /// The drivers of file months `first .. first + len` (the window), with
    /// the break-even anchored at `anchor`.
    pub fn new(
        history: &History,
        first: usize,
        len: usize,
        lag_months: usize,
        machine_life_months: usize,
        anchor: NaiveDate,
    ) -> Drivers {
        let value = |i: usize, subsidy: Option<f64>| -> Option<f64> {
            let m = &history.months[i];
            let fee = history.fee_term(i)?;
            Some((BLOCKS_PER_DAY * (subsidy? + fee) * m.btc_price_usd_mean?).ln())
        };
        let window = first..first + len;
        Drivers {
            lag_months,
            machine_life_months,
            first_index: first,
            anchor_offset: months_between(anchor, history.months[first].month),
            ln_h: window
                .clone()
                .map(|i| history.months[i].hashrate_ehs_mean.map(f64::ln))
                .collect(),
            ln_value_cash: window
                .clone()
                .map(|i| value(i, history.subsidy(i)))
                .collect(),
            ln_value_eq_lagged: window
                .map(|i| {
                    let s = i.saturating_sub(lag_months);
                    value(s, history.subsidy_fwd(s, machine_life_months))
                })
                .collect(),
        }
    }

    /// Months from the anchor to the window's month t.
    pub fn offset(&self, t: usize) -> f64 {
        (self.anchor_offset + t as i64) as f64
    }

    /// Months in the window.
    pub fn len(&self) -> usize {
        self.ln_h.len()
    }

    /// Whether the window is empty.
    pub fn is_empty(&self) -> bool {
        self.ln_h.is_empty()
    }
}
