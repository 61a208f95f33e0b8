//! One event's paths: the hashrate equation stepped from the observed
//! hashrate [`LEAD_MONTHS`] before the event, on the observed drivers, with
//! only the hashrate noise drawn.

use chrono::{Datelike, Months, NaiveDate};
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;
use rand_distr::{Distribution, StandardNormal};

use super::{Event, offset};
use super::{EventResult, FanMonth, HORIZONS, LEAD_MONTHS, Params, RandomWalk, Row, kde};
use crate::history::{Drivers, History};
use crate::model::calendar::DT_YEARS;
use crate::model::market::hashprice_usd_per_eh_day;
use crate::stats::exact_quantiles;

/// Months simulated after the start: to the last horizon after the event.
pub const SPAN: usize = LEAD_MONTHS + HORIZONS[HORIZONS.len() - 1];

/// SplitMix64 finaliser.
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The generator of path `path` of the event in `month`: keyed by the seed,
/// the event's calendar month and the path, so a path's draws depend on
/// nothing else (not the threads, not the other events).
pub fn event_rng(seed: u64, month: NaiveDate, path: u64) -> Xoshiro256PlusPlus {
    let event = (month.year() as i64 * 12 + month.month0() as i64) as u64;
    let key = mix64(
        mix64(mix64(seed) ^ event.wrapping_mul(0x9e37_79b9_7f4a_7c15))
            ^ path.wrapping_mul(0xd6e8_feb8_6659_fd93),
    );
    Xoshiro256PlusPlus::seed_from_u64(key)
}

/// Simulated `ln H` of months `start + 0 ..= start + SPAN`, `ln_h[t][path]`;
/// a month is empty where the observed drivers of a month before it are
/// missing or past the file (H of the month after the file's last is still
/// simulated: it needs the drivers of the months before only).
pub fn simulate_ln_h(
    history: &History,
    params: &Params,
    start_index: usize,
    ln_h0: f64,
    seed: u64,
    event_month: NaiveDate,
    paths: usize,
) -> Vec<Vec<f64>> {
    let len = SPAN.min(history.months.len() - start_index);
    let drivers = Drivers::new(
        history,
        start_index,
        len,
        params.lag_months,
        params.machine_life_months,
        params.dynamics.anchor,
    );
    let vol = params.dynamics.sigma * DT_YEARS.sqrt();
    let mut ln_h: Vec<Vec<f64>> = (0..=SPAN).map(|_| Vec::with_capacity(paths)).collect();
    for path in 0..paths {
        let mut rng = event_rng(seed, event_month, path as u64);
        let mut x = ln_h0;
        ln_h[0].push(x);
        for t in 0..len {
            let Some(step) = params.dynamics.mean_step(&drivers, t, x) else {
                break;
            };
            let z: f64 = StandardNormal.sample(&mut rng);
            x += step + vol * z;
            ln_h[t + 1].push(x);
        }
    }
    ln_h
}

/// 5, 25, 50, 75, 95% of `values` (exact, type 7).
fn quantiles(mut values: Vec<f64>) -> [f64; 5] {
    exact_quantiles(&mut values)
}

/// Hashprice per PH/s per day at file month `i` for hashrate `h`, with the
/// month's observed price, subsidy and fees (`None` if one is missing or the
/// month is past the file).
fn hashprice(history: &History, i: usize, h: f64) -> Option<f64> {
    let m = history.months.get(i)?;
    let hp = hashprice_usd_per_eh_day(
        m.subsidy_btc?,
        m.fees_btc_per_block_mean?,
        m.btc_price_usd_mean?,
        h,
    );
    Some(hp / 1000.0)
}

/// The backtest of one event.
pub fn event(
    history: &History,
    params: &Params,
    random_walk: &RandomWalk,
    event: &Event,
    seed: u64,
    paths: usize,
) -> EventResult {
    let start = event.month - Months::new(LEAD_MONTHS as u32);
    let s = offset(history.months[0].month, start);
    let h0 = history.months[s]
        .hashrate_ehs_mean
        .expect("events are checked to start at an observed hashrate");
    let ln_h = simulate_ln_h(history, params, s, h0.ln(), seed, event.month, paths);
    let actual = |t: usize| history.months.get(s + t).and_then(|m| m.hashrate_ehs_mean);
    let filled = |t: usize| ln_h[t].len() == paths && paths > 0;
    let months: Vec<FanMonth> = (0..=SPAN)
        .map(|t| FanMonth {
            month: start + Months::new(t as u32),
            actual_hashrate_ehs: actual(t),
            hashrate_ehs: filled(t).then(|| quantiles(ln_h[t].iter().map(|x| x.exp()).collect())),
        })
        .collect();
    let rows = HORIZONS
        .iter()
        .map(|&h| {
            let t = LEAD_MONTHS + h;
            let actual_h = actual(t);
            let fan = months[t].hashrate_ehs;
            let hp_fan = filled(t)
                .then(|| {
                    let hp: Option<Vec<f64>> = ln_h[t]
                        .iter()
                        .map(|x| hashprice(history, s + t, x.exp()))
                        .collect();
                    hp.map(quantiles)
                })
                .flatten();
            let three = |q: [f64; 5]| [q[0], q[2], q[4]];
            Row {
                event: event.month,
                horizon_months: h,
                actual_hashrate_ehs: actual_h,
                hashrate_ehs: fan.map(three),
                log_density_hashrate: actual_h
                    .filter(|_| filled(t))
                    .map(|a| kde::kde_log_density(&ln_h[t], a.ln())),
                random_walk_log_density: actual_h
                    .map(|a| random_walk.log_density(h0.ln(), t, a.ln())),
                actual_hashprice_usd_per_ph_day: actual_h
                    .and_then(|a| hashprice(history, s + t, a)),
                hashprice_usd_per_ph_day: hp_fan.map(three),
            }
        })
        .collect();
    EventResult {
        event: *event,
        start,
        months,
        rows,
    }
}
