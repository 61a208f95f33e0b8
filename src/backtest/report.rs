//! A backtest as files and text: `backtest.csv` (one row per event and
//! horizon), `backtest.json` (the scores, the parameters, the random walk
//! and the rows) and the table printed on the terminal. Pure: bytes and
//! strings; no time stamps, so the same seed gives the same bytes.

use serde::Serialize;

use super::{Backtest, HORIZONS, LEAD_MONTHS, Row};
use crate::history::month_label;

/// The columns of `backtest.csv`, in order.
pub const CSV_HEADER: [&str; 11] = [
    "event",
    "horizon_months",
    "actual_hashrate_ehs",
    "hashrate_ehs_p5",
    "hashrate_ehs_p50",
    "hashrate_ehs_p95",
    "log_density_hashrate",
    "actual_hashprice_usd_per_ph_day",
    "hashprice_usd_per_ph_day_p5",
    "hashprice_usd_per_ph_day_p50",
    "hashprice_usd_per_ph_day_p95",
];

/// Shortest round-trip form; blank for a missing value.
fn num(x: Option<f64>) -> String {
    match x {
        Some(x) if x.is_finite() => format!("{x}"),
        _ => String::new(),
    }
}

fn cells(row: &Row) -> Vec<String> {
    let fan = |f: Option<[f64; 3]>, k: usize| num(f.map(|f| f[k]));
    vec![
        month_label(row.event),
        row.horizon_months.to_string(),
        num(row.actual_hashrate_ehs),
        fan(row.hashrate_ehs, 0),
        fan(row.hashrate_ehs, 1),
        fan(row.hashrate_ehs, 2),
        num(row.log_density_hashrate),
        num(row.actual_hashprice_usd_per_ph_day),
        fan(row.hashprice_usd_per_ph_day, 0),
        fan(row.hashprice_usd_per_ph_day, 1),
        fan(row.hashprice_usd_per_ph_day, 2),
    ]
}

/// `backtest.csv`.
pub fn csv(b: &Backtest) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(CSV_HEADER).expect("in-memory write");
    for row in b.events.iter().flat_map(|e| &e.rows) {
        w.write_record(cells(row)).expect("in-memory write");
    }
    w.into_inner().expect("in-memory flush")
}

#[derive(Serialize)]
struct JsonRow {
    event: String,
    horizon_months: usize,
    actual_hashrate_ehs: Option<f64>,
    hashrate_ehs_p5: Option<f64>,
    hashrate_ehs_p50: Option<f64>,
    hashrate_ehs_p95: Option<f64>,
    log_density_hashrate: Option<f64>,
    random_walk_log_density_hashrate: Option<f64>,
    scored: bool,
    actual_hashprice_usd_per_ph_day: Option<f64>,
    hashprice_usd_per_ph_day_p5: Option<f64>,
    hashprice_usd_per_ph_day_p50: Option<f64>,
    hashprice_usd_per_ph_day_p95: Option<f64>,
}

impl JsonRow {
    fn of(r: &Row) -> JsonRow {
        let finite = |x: Option<f64>| x.filter(|x| x.is_finite());
        let fan = |f: Option<[f64; 3]>, k: usize| f.map(|f| f[k]);
        JsonRow {
            event: month_label(r.event),
            horizon_months: r.horizon_months,
            actual_hashrate_ehs: r.actual_hashrate_ehs,
            hashrate_ehs_p5: fan(r.hashrate_ehs, 0),
            hashrate_ehs_p50: fan(r.hashrate_ehs, 1),
            hashrate_ehs_p95: fan(r.hashrate_ehs, 2),
            log_density_hashrate: finite(r.log_density_hashrate),
            random_walk_log_density_hashrate: finite(r.random_walk_log_density),
            scored: r.scored(),
            actual_hashprice_usd_per_ph_day: r.actual_hashprice_usd_per_ph_day,
            hashprice_usd_per_ph_day_p5: fan(r.hashprice_usd_per_ph_day, 0),
            hashprice_usd_per_ph_day_p50: fan(r.hashprice_usd_per_ph_day, 1),
            hashprice_usd_per_ph_day_p95: fan(r.hashprice_usd_per_ph_day, 2),
        }
    }
}

#[derive(Serialize)]
struct JsonParams {
    kind: &'static str,
    name: String,
    file: String,
    kappa_up_per_year: f64,
    kappa_down_per_year: f64,
    kappa_exit_per_year: f64,
    cash_cost_share: f64,
    sigma: f64,
    capitulation: bool,
    breakeven_usd_per_eh_day: f64,
    breakeven_anchor: String,
    efficiency_gain_per_year: f64,
    lag_months: usize,
    machine_life_months: usize,
}

#[derive(Serialize)]
struct JsonRandomWalk {
    from: String,
    to: String,
    drift_per_month: f64,
    vol_per_month: f64,
    steps: usize,
    density: &'static str,
}

#[derive(Serialize)]
struct JsonEvent {
    event: String,
    kind: &'static str,
    start: String,
}

#[derive(Serialize)]
struct Json {
    command: &'static str,
    pivotsim_version: &'static str,
    /// Mean `log_density_hashrate` over the scored rows.
    score: Option<f64>,
    random_walk_score: Option<f64>,
    scored_rows: usize,
    score_note: &'static str,
    history_file: String,
    history_sha256: String,
    parameters: JsonParams,
    random_walk: JsonRandomWalk,
    seed: u64,
    paths: usize,
    lead_months: usize,
    horizons_months: [usize; 5],
    events: Vec<JsonEvent>,
    rows: Vec<JsonRow>,
}

/// `backtest.json`: pretty-printed, fields in declaration order.
pub fn json(b: &Backtest) -> Vec<u8> {
    let p = &b.params;
    let d = &p.dynamics;
    let rw = &b.random_walk;
    let doc = Json {
        command: "backtest",
        pivotsim_version: env!("CARGO_PKG_VERSION"),
        score: b.score,
        random_walk_score: b.random_walk_score,
        scored_rows: b.scored_rows,
        score_note: "mean of ln(max(density, 1e-12)) of ln H at the actual value over the rows \
                     with horizon > 0 and an actual hashrate (rows past the file or with an \
                     empty cell are written with blank actuals and left out)",
        history_file: b.history_file.display().to_string(),
        history_sha256: b.history_sha256.clone(),
        parameters: JsonParams {
            kind: p.kind.name(),
            name: p.name.clone(),
            file: p.file.display().to_string(),
            kappa_up_per_year: d.kappa_up_per_year,
            kappa_down_per_year: d.kappa_down_per_year,
            kappa_exit_per_year: d.kappa_exit_per_year,
            cash_cost_share: d.cash_cost_share,
            sigma: d.sigma,
            capitulation: d.capitulation,
            breakeven_usd_per_eh_day: d.breakeven_usd_per_eh_day,
            breakeven_anchor: month_label(d.anchor),
            efficiency_gain_per_year: d.efficiency_gain_per_year,
            lag_months: p.lag_months,
            machine_life_months: p.machine_life_months,
        },
        random_walk: JsonRandomWalk {
            from: month_label(rw.from),
            to: month_label(rw.to),
            drift_per_month: rw.drift_per_month,
            vol_per_month: rw.vol_per_month,
            steps: rw.steps,
            density: "exact: Normal(ln H_start + k drift, k vol^2), k months after the start",
        },
        seed: b.seed,
        paths: b.paths,
        lead_months: LEAD_MONTHS,
        horizons_months: HORIZONS,
        events: b
            .events
            .iter()
            .map(|e| JsonEvent {
                event: month_label(e.event.month),
                kind: e.event.kind.name(),
                start: month_label(e.start),
            })
            .collect(),
        rows: b
            .events
            .iter()
            .flat_map(|e| &e.rows)
            .map(JsonRow::of)
            .collect(),
    };
    let mut bytes = serde_json::to_vec_pretty(&doc).expect("backtest serialises");
    bytes.push(b'\n');
    bytes
}

/// A number for the table: 3 significant figures or so; `-` when missing.
fn short(x: Option<f64>) -> String {
    match x {
        Some(x) if x.is_finite() => {
            let a = x.abs();
            let decimals = if a >= 100.0 {
                0
            } else if a >= 10.0 {
                1
            } else if a >= 1.0 {
                2
            } else {
                3
            };
            crate::format::thousands(x, decimals)
        }
        _ => "-".to_owned(),
    }
}

/// The table printed after a backtest: per event and horizon, the actual
/// hashrate beside the model's fan and the two log densities; then the
/// scores.
pub fn table(b: &Backtest) -> String {
    let mut out = format!(
        "Backtest of {} `{}` on {} ({} paths, seed {}): hashrate, EH/s\n",
        b.params.kind.name(),
        b.params.name,
        b.history_file.display(),
        b.paths,
        b.seed
    );
    out += &format!(
        "{:<21} {:>3} {:>9} {:>9} {:>9} {:>9} {:>8} {:>8}\n",
        "event", "h", "actual", "p5", "p50", "p95", "log dens", "rw dens"
    );
    for e in &b.events {
        for r in &e.rows {
            let fan = |k: usize| short(r.hashrate_ehs.map(|f| f[k]));
            let dens = |x: Option<f64>| x.map_or("-".to_owned(), |x| format!("{x:.2}"));
            out += &format!(
                "{:<21} {:>3} {:>9} {:>9} {:>9} {:>9} {:>8} {:>8}\n",
                format!("{} {}", month_label(e.event.month), e.event.kind.name()),
                r.horizon_months,
                short(r.actual_hashrate_ehs),
                fan(0),
                fan(1),
                fan(2),
                dens(r.log_density_hashrate),
                dens(r.random_walk_log_density),
            );
        }
    }
    let score = |x: Option<f64>| x.map_or("n/a".to_owned(), |x| format!("{x:.3}"));
    out += &format!(
        "score (mean log density of ln H, horizons 1-12, {} rows): model {}, random walk with drift {}\n",
        b.scored_rows,
        score(b.score),
        score(b.random_walk_score)
    );
    out
}
