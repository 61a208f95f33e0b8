//! The calendar: everything about month t that does not depend on the path.
//!
//! Days per month, the day-weighted block subsidy, the break-even hashprice,
//! discount factors and the 0/1 "a conversion may be requested this quarter"
//! flags are computed once per run, so the per-path loop only indexes arrays.

use chrono::{Datelike, Months, NaiveDate};

use crate::scenario::Scenario;

/// Blocks per day, always (docs/model.md section 1).
pub const BLOCKS_PER_DAY: f64 = 144.0;
/// Length of a model month in years, `dt`.
pub const DT_YEARS: f64 = 1.0 / 12.0;

/// Precomputed, path-independent quantities for each month t = 0 .. T-1.
#[derive(Debug, Clone)]
pub struct Calendar {
    /// First day of each month.
    pub dates: Vec<NaiveDate>,
    /// Days in each month (28 to 31).
    pub days: Vec<f64>,
    /// Day-weighted average block subsidy over the month, BTC.
    pub subsidy_btc: Vec<f64>,
    /// `sub_fwd[t]`: the mean of `subsidy[t .. t+M-1]` (M the machine life,
    /// months past the horizon on the same schedule), the subsidy a machine
    /// bought in month t earns on average over its life.
    pub subsidy_fwd_btc: Vec<f64>,
    /// Break-even hashprice `hp_breakeven_0 * exp(-g_eff t dt)`, USD per EH/s per day.
    pub breakeven_usd_per_eh_day: Vec<f64>,
    /// Discount factor `(1 + discount_rate)^(-t/12)` for cash flows of month t.
    pub discount: Vec<f64>,
    /// Discount factor of the terminal value, `(1 + discount_rate)^(-T/12)`.
    pub terminal_discount: f64,
}

impl Calendar {
    pub fn new(scenario: &Scenario) -> Calendar {
        let months = scenario.simulation.months;
        let start = scenario.simulation.start;
        let market = &scenario.market;
        let dr = scenario.valuation.discount_rate;
        let mut cal = Calendar {
            dates: Vec::with_capacity(months),
            days: Vec::with_capacity(months),
            subsidy_btc: Vec::with_capacity(months),
            subsidy_fwd_btc: Vec::with_capacity(months),
            breakeven_usd_per_eh_day: Vec::with_capacity(months),
            discount: Vec::with_capacity(months),
            terminal_discount: (1.0 + dr).powf(-(months as f64) / 12.0),
        };
        let life = market.hashrate.machine_life_months;
        // The horizon's subsidies, then those a machine's life reaches past it.
        let subsidies: Vec<f64> = (0..months + life - 1)
            .map(|t| month_subsidy(month_start(start, t), market.subsidy_btc, &market.halvings))
            .collect();
        for t in 0..months {
            let first = month_start(start, t);
            let next = month_start(start, t + 1);
            let days = (next - first).num_days();
            cal.dates.push(first);
            cal.days.push(days as f64);
            cal.subsidy_btc.push(subsidies[t]);
            let window = &subsidies[t..t + life];
            cal.subsidy_fwd_btc
                .push(window.iter().sum::<f64>() / life as f64);
            cal.breakeven_usd_per_eh_day.push(
                market.hashrate.breakeven_usd_per_eh_day
                    * (-market.hashrate.efficiency_gain_per_year * t as f64 * DT_YEARS).exp(),
            );
            cal.discount.push((1.0 + dr).powf(-(t as f64) / 12.0));
        }
        cal
    }

    /// Number of months T.
    pub fn months(&self) -> usize {
        self.days.len()
    }

    /// `YYYY-MM` label of month t.
    pub fn label(&self, t: usize) -> String {
        format!("{:04}-{:02}", self.dates[t].year(), self.dates[t].month())
    }
}

/// First day of month t, counting from `start` (the 1st of a month).
pub fn month_start(start: NaiveDate, t: usize) -> NaiveDate {
    start
        .checked_add_months(Months::new(t as u32))
        .expect("dates within chrono's range (validated horizon)")
}

/// Index of the month containing `date`, if it falls in `0 .. months`.
pub fn month_of(start: NaiveDate, months: usize, date: NaiveDate) -> Option<usize> {
    if date < start {
        return None;
    }
    let t = (date.year() - start.year()) * 12 + date.month() as i32 - start.month() as i32;
    (t >= 0 && (t as usize) < months).then_some(t as usize)
}

/// The block subsidy of the month whose first day is `first`, day-weighted
/// (a block mined on a halving date already gets the halved subsidy).
pub fn month_subsidy(first: NaiveDate, subsidy_btc: f64, halvings: &[NaiveDate]) -> f64 {
    let days = ((first + Months::new(1)) - first).num_days();
    let sum: f64 = first
        .iter_days()
        .take(days as usize)
        .map(|d| subsidy_on(d, subsidy_btc, halvings))
        .sum();
    sum / days as f64
}

/// Block subsidy on a given day: halved once for every halving dated on or before it.
pub fn subsidy_on(day: NaiveDate, subsidy_btc: f64, halvings: &[NaiveDate]) -> f64 {
    let halved = halvings.iter().filter(|h| **h <= day).count() as i32;
    subsidy_btc * 0.5f64.powi(halved)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn halving_month_subsidy_is_day_weighted() {
        // docs/model.md: April 2028, halving on the 15th: (14 * 3.125 + 16 * 1.5625) / 30.
        let halvings = [d("2028-04-15")];
        let first = d("2028-04-01");
        let sum: f64 = first
            .iter_days()
            .take(30)
            .map(|x| subsidy_on(x, 3.125, &halvings))
            .sum();
        let avg = sum / 30.0;
        assert!((avg - (14.0 * 3.125 + 16.0 * 1.5625) / 30.0).abs() < 1e-12);
        assert!((avg - 2.2917).abs() < 1e-4);
        assert_eq!(subsidy_on(d("2028-04-14"), 3.125, &halvings), 3.125);
        assert_eq!(subsidy_on(d("2028-04-15"), 3.125, &halvings), 1.5625);
    }

    #[test]
    fn month_index_of_dates() {
        let s = d("2026-02-01");
        assert_eq!(month_of(s, 60, d("2026-02-09")), Some(0));
        assert_eq!(month_of(s, 60, d("2026-03-01")), Some(1));
        assert_eq!(month_of(s, 60, d("2031-01-31")), Some(59));
        assert_eq!(month_of(s, 60, d("2031-02-01")), None);
        assert_eq!(month_of(s, 60, d("2026-01-31")), None);
        assert_eq!(month_start(s, 11), d("2027-01-01"));
    }
}
