//! The forecast check: a scenario's market fans (BTC price, hashrate,
//! hashprice) against the history months after its `start`, with each
//! actual month's percentile rank among the sampled paths.
//!
//! The paths are the run's own: [`MarketModel::sample`] with the scenario's
//! seed and path indices is what `pivotsim run` draws, so the fans here are
//! the run's market fans (exact order statistics of all the paths, where the
//! run's summary reads them from histograms). History's values are month
//! means (`btc_price_usd_mean`, `hashrate_ehs_mean`, the hashprice of the
//! month's observed subsidy, fees, mean price and mean hashrate); the
//! model's are values at the start of each month.

use chrono::{Months, NaiveDate};

use super::offset;
use crate::history::{History, HistoryError, month_label};
use crate::model::calendar::Calendar;
use crate::model::market::{MarketModel, MarketPath, hashprice_usd_per_eh_day};
use crate::scenario::Scenario;
use crate::stats::exact_quantiles;

/// The metrics checked, as named in `forecast_check.csv`.
pub const METRICS: [&str; 3] = ["btc_price_usd", "hashrate_ehs", "hashprice_usd_per_ph_day"];

/// Months drawn in the chart at least (the fans go on past the history).
pub const CHART_MONTHS: usize = 6;

/// The columns of `forecast_check.csv`.
pub const CSV_HEADER: [&str; 7] = [
    "month",
    "metric",
    "actual",
    "p5",
    "p50",
    "p95",
    "percentile_rank",
];

/// One month of the scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct ForecastMonth {
    pub month: NaiveDate,
    /// Per metric of [`METRICS`]: the model's 5, 25, 50, 75 and 95%.
    pub fans: [[f64; 5]; 3],
    /// Per metric: what happened (`None`: past the file or an empty cell).
    pub actual: [Option<f64>; 3],
    /// Per metric: the percentage of paths below the actual (ties count
    /// half), 0 to 100.
    pub percentile_rank: [Option<f64>; 3],
    /// Whether the history file has this month (a row of the CSV).
    pub in_history: bool,
}

/// A scenario against history.
#[derive(Debug, Clone)]
pub struct ForecastCheck {
    pub scenario: String,
    pub history_file: std::path::PathBuf,
    pub seed: u64,
    pub paths: u64,
    pub start: NaiveDate,
    /// The scenario's first months: those the history file has after its
    /// start, and at least [`CHART_MONTHS`] (within the scenario's months).
    pub months: Vec<ForecastMonth>,
}

/// The actual values of file month `i`: BTC price, hashrate, hashprice per
/// PH/s per day.
fn actuals(history: &History, i: usize) -> [Option<f64>; 3] {
    let m = &history.months[i];
    let hp = (|| {
        Some(
            hashprice_usd_per_eh_day(
                m.subsidy_btc?,
                m.fees_btc_per_block_mean?,
                m.btc_price_usd_mean?,
                m.hashrate_ehs_mean?,
            ) / 1000.0,
        )
    })();
    [m.btc_price_usd_mean, m.hashrate_ehs_mean, hp]
}

/// Percentage of `values` below `x`, ties counting half.
pub fn percentile_rank(values: &[f64], x: f64) -> f64 {
    let below = values.iter().filter(|&&v| v < x).count() as f64;
    let ties = values.iter().filter(|&&v| v == x).count() as f64;
    100.0 * (below + 0.5 * ties) / values.len() as f64
}

/// Sample the scenario's market paths and lay the history over them.
pub fn check(sc: &Scenario, history: &History) -> Result<ForecastCheck, HistoryError> {
    let start = sc.simulation.start;
    let last = history.months.last().expect("two months").month;
    if last < start {
        return Err(HistoryError {
            file: history.file.clone(),
            line: None,
            column: None,
            message: format!(
                "the file ends at {}, before the scenario {} starts ({})",
                month_label(last),
                sc.name,
                month_label(start)
            ),
        });
    }
    let in_file = offset(start, last) + 1;
    let months = in_file.max(CHART_MONTHS).min(sc.simulation.months);
    let cal = Calendar::new(sc);
    let model = MarketModel::new(&sc.market, &cal);
    let paths = sc.simulation.paths as usize;
    // values[metric][t][path]
    let mut values: Vec<Vec<Vec<f64>>> = (0..METRICS.len())
        .map(|_| (0..months).map(|_| Vec::with_capacity(paths)).collect())
        .collect();
    let mut m = MarketPath::with_months(cal.months());
    for p in 0..paths {
        model.sample(sc.simulation.seed, p as u64, &mut m);
        let series = [
            &m.btc_price_usd,
            &m.hashrate_ehs,
            &m.hashprice_usd_per_eh_day,
        ];
        let divisor = [1.0, 1.0, 1000.0];
        for (k, metric) in values.iter_mut().enumerate() {
            for (column, x) in metric.iter_mut().zip(series[k].iter()) {
                column.push(x / divisor[k]);
            }
        }
    }
    let out = (0..months)
        .map(|t| {
            let month = start + Months::new(t as u32);
            let index = history.index_of(month);
            let actual = index.map_or([None; 3], |i| actuals(history, i));
            let fans = std::array::from_fn(|k| exact_quantiles(&mut values[k][t].clone()));
            let percentile_rank =
                std::array::from_fn(|k| actual[k].map(|a| percentile_rank(&values[k][t], a)));
            ForecastMonth {
                month,
                fans,
                actual,
                percentile_rank,
                in_history: index.is_some(),
            }
        })
        .collect();
    Ok(ForecastCheck {
        scenario: sc.name.clone(),
        history_file: history.file.clone(),
        seed: sc.simulation.seed,
        paths: sc.simulation.paths,
        start,
        months: out,
    })
}

fn num(x: Option<f64>) -> String {
    match x {
        Some(x) if x.is_finite() => format!("{x}"),
        _ => String::new(),
    }
}

/// `forecast_check.csv`: one row per history month after the start and
/// metric; `actual` and `percentile_rank` blank where the file has no value.
pub fn csv(f: &ForecastCheck) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(CSV_HEADER).expect("in-memory write");
    for m in f.months.iter().filter(|m| m.in_history) {
        for (k, metric) in METRICS.iter().enumerate() {
            w.write_record([
                month_label(m.month),
                (*metric).to_owned(),
                num(m.actual[k]),
                num(Some(m.fans[k][0])),
                num(Some(m.fans[k][2])),
                num(Some(m.fans[k][4])),
                num(m.percentile_rank[k]),
            ])
            .expect("in-memory write");
        }
    }
    w.into_inner().expect("in-memory flush")
}

/// The table printed after a forecast check: the percentile ranks.
pub fn table(f: &ForecastCheck) -> String {
    let mut out = format!(
        "Forecast check of scenario `{}` ({} paths, seed {}) against {}: percentile rank of each actual month\n",
        f.scenario,
        f.paths,
        f.seed,
        f.history_file.display()
    );
    out += &format!(
        "{:<8} {:>10} {:>10} {:>10}\n",
        "month", "BTC price", "hashrate", "hashprice"
    );
    for m in f.months.iter().filter(|m| m.in_history) {
        let r = |k: usize| m.percentile_rank[k].map_or("-".to_owned(), |r| format!("{r:.1}"));
        out += &format!(
            "{:<8} {:>10} {:>10} {:>10}\n",
            month_label(m.month),
            r(0),
            r(1),
            r(2)
        );
    }
    out
}
