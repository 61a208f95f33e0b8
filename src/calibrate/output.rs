//! What `calibrate` writes: `calibration.json` (every estimate with its SE
//! and flags), `calibration.toml` (a fragment ready to paste into a
//! scenario starting at `--start`) and the summary printed to stdout.

use std::fmt::Write as _;

use chrono::NaiveDate;
use serde_json::{Value, json};

use super::{Calibration, Estimate, fees, merton};
use crate::history::{Dynamics, month_label};

/// `x` with three significant figures, for comments and the table.
pub fn sig3(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let digits = 2 - x.abs().log10().floor() as i32;
    if digits > 0 {
        format!("{:.*}", digits as usize, x)
    } else {
        format!("{x:.0}")
    }
}

/// "estimate ± SE", or why there is no SE.
fn describe(e: &Estimate) -> String {
    match (e.se, e.at_bound, e.identified) {
        (_, true, _) => format!("{} (at its bound: no SE)", sig3(e.estimate)),
        (_, _, false) => format!("{} (not identified)", sig3(e.estimate)),
        (Some(se), _, _) => format!("{} ± {}", sig3(e.estimate), sig3(se)),
        (None, _, _) => format!("{} (no SE)", sig3(e.estimate)),
    }
}

/// The value the fragment writes and its comment: the estimate, or the
/// scenario's value where the estimate is not identified.
fn pick(e: &Estimate, fallback: f64) -> (f64, String) {
    if e.identified {
        (e.estimate, format!("estimate {}", describe(e)))
    } else {
        (
            fallback,
            format!(
                "the scenario's value: not identified (the likelihood is flat along it; \
                 the fit gave {})",
                sig3(e.estimate)
            ),
        )
    }
}

/// The break-even and efficiency gain carried to each month: the fitted
/// ones when fitted and both identified, else the scenario's.
pub struct Breakeven {
    pub dynamics: Dynamics,
    pub fitted: bool,
}

impl Calibration {
    pub fn breakeven(&self) -> Breakeven {
        let est = &self.hashrate.estimates;
        let fitted = self.fit_breakeven && est[5].identified && est[6].identified;
        let dynamics = if fitted {
            self.hashrate.dynamics.clone()
        } else {
            Dynamics::of_scenario(&self.scenario.hashrate, self.scenario_start)
        };
        Breakeven { dynamics, fitted }
    }

    fn breakeven_at(&self, month: NaiveDate) -> f64 {
        self.breakeven().dynamics.breakeven_at(month)
    }
}

const HASHRATE_KEYS: [&str; 7] = [
    "kappa_up_per_year",
    "kappa_down_per_year",
    "kappa_exit_per_year",
    "cash_cost_share",
    "sigma",
    "breakeven_usd_per_eh_day",
    "efficiency_gain_per_year",
];
const JUMP_KEYS: [&str; 5] = [
    "mu",
    "sigma",
    "jump_lambda_per_year",
    "jump_mean",
    "jump_sd",
];

fn btc_json(c: &Calibration) -> Value {
    let b = &c.btc;
    let mut fit_jumps = serde_json::Map::new();
    for (k, e) in JUMP_KEYS.iter().zip(&b.jumps) {
        fit_jumps.insert((*k).to_owned(), json!(e));
    }
    let (selected, sigma, lambda, mj, sj, mu) = if b.jumps_selected {
        let j = &b.jumps;
        (
            "jumps",
            &j[1],
            j[2].clone(),
            j[3].clone(),
            j[4].clone(),
            &j[0],
        )
    } else {
        let none = |v: f64| Estimate::new(v, None);
        let s = &c.scenario.btc;
        (
            "normal",
            &b.normal[1],
            none(0.0),
            none(s.jump_mean),
            none(s.jump_sd),
            &b.normal[0],
        )
    };
    json!({
        "model": selected,
        "sigma": sigma,
        "jump_lambda_per_year": lambda,
        "jump_mean": mj,
        "jump_sd": sj,
        "mu_historical": mu,
        "months": b.months,
        "log_likelihood": {
            "jumps": b.ll_jumps,
            "normal": b.ll_normal,
            "difference": b.ll_jumps - b.ll_normal,
            "threshold": merton::LR_THRESHOLD,
        },
        "fits": {
            "jumps": Value::Object(fit_jumps),
            "normal": {"mu": b.normal[0], "sigma": b.normal[1]},
        },
    })
}

fn hashrate_json(c: &Calibration) -> Value {
    let h = &c.hashrate;
    let mut map = serde_json::Map::new();
    for (k, e) in HASHRATE_KEYS.iter().zip(&h.estimates) {
        map.insert((*k).to_owned(), json!(e));
    }
    if !c.fit_breakeven {
        let d = Dynamics::of_scenario(&c.scenario.hashrate, c.scenario_start);
        map.insert(
            "breakeven_usd_per_eh_day".into(),
            json!(Estimate::new(d.breakeven_at(c.window.from), None)),
        );
        map.insert(
            "efficiency_gain_per_year".into(),
            json!(Estimate::new(d.efficiency_gain_per_year, None)),
        );
    }
    let grid: Vec<Value> = h
        .grid
        .iter()
        .map(|cell| {
            json!({
                "lag_months": cell.lag_months,
                "machine_life_months": cell.machine_life_months,
                "log_likelihood": cell.log_likelihood,
            })
        })
        .collect();
    map.extend([
        ("breakeven_fitted".into(), json!(c.fit_breakeven)),
        (
            "breakeven_source".into(),
            json!(if c.breakeven().fitted {
                "fit"
            } else {
                "scenario"
            }),
        ),
        (
            "breakeven_usd_per_eh_day_at_window_end".into(),
            json!(c.breakeven_at(c.window.to)),
        ),
        (
            "breakeven_usd_per_eh_day_at_start".into(),
            json!(c.breakeven_at(c.window.start)),
        ),
        ("lag_months".into(), json!({"estimate": h.lag_months})),
        (
            "machine_life_months".into(),
            json!({"estimate": h.machine_life_months}),
        ),
        ("capitulation".into(), json!(true)),
        ("log_likelihood".into(), json!(h.log_likelihood)),
        ("pairs".into(), json!(h.pairs)),
        ("grid".into(), Value::Array(grid)),
        ("grid_margin".into(), json!(super::hashrate::GRID_MARGIN)),
    ]);
    Value::Object(map)
}

/// `calibration.json`.
pub fn json(c: &Calibration) -> Vec<u8> {
    let w = &c.window;
    let value = json!({
        "history": {"file": c.history_file, "sha256": c.history_sha256},
        "window": {"from": month_label(w.from), "to": month_label(w.to), "months": w.len},
        "start": month_label(w.start),
        "scenario": {"file": c.scenario_file, "start": month_label(c.scenario_start)},
        "months_used": {
            "btc_returns": c.btc.months,
            "fees_mean_btc": c.fees.months_mean,
            "fees_sigma": c.fees.months_sigma,
            "hashrate_pairs": c.hashrate.pairs,
        },
        "btc": btc_json(c),
        "fees": {
            "mean_btc": c.fees.mean_btc,
            "sigma": c.fees.sigma,
            "bootstrap": {"draws": fees::DRAWS, "block_months": fees::BLOCK_MONTHS, "seed": c.seed},
        },
        "hashrate": hashrate_json(c),
        "warnings": c.warnings,
    });
    let mut bytes = serde_json::to_vec_pretty(&value).expect("JSON of plain values");
    bytes.push(b'\n');
    bytes
}

fn line(out: &mut String, key: &str, value: impl std::fmt::Display, comment: &str) {
    let _ = writeln!(out, "{key} = {value}  # {comment}");
}

fn btc_fragment(c: &Calibration, out: &mut String) {
    let b = &c.btc;
    let s = &c.scenario.btc;
    let diff = b.ll_jumps - b.ll_normal;
    out.push_str("[market.btc]\n");
    let mu = if b.jumps_selected {
        &b.jumps[0]
    } else {
        &b.normal[0]
    };
    let _ = writeln!(
        out,
        "# mu is a view, not an estimate: not written (historical drift {})",
        describe(mu)
    );
    if b.jumps_selected {
        let _ = writeln!(
            out,
            "# the jump model beats a normal by {} log-likelihood units (>= {})",
            sig3(diff),
            merton::LR_THRESHOLD
        );
        let fallback = [
            s.mu,
            s.sigma,
            s.jump_lambda_per_year,
            s.jump_mean,
            s.jump_sd,
        ];
        for i in 1..5 {
            let (v, comment) = pick(&b.jumps[i], fallback[i]);
            line(out, JUMP_KEYS[i], v, &comment);
        }
    } else {
        let (v, comment) = pick(&b.normal[1], s.sigma);
        line(out, "sigma", v, &format!("{comment} (the normal fit)"));
        line(
            out,
            "jump_lambda_per_year",
            0,
            &format!(
                "no jumps: the jump model beats a normal by only {} log-likelihood units (< {})",
                sig3(diff),
                merton::LR_THRESHOLD
            ),
        );
        for (key, v) in [("jump_mean", s.jump_mean), ("jump_sd", s.jump_sd)] {
            line(out, key, v, "unused without jumps: the scenario's value");
        }
    }
}

fn hashrate_fragment(c: &Calibration, out: &mut String) {
    let h = &c.hashrate;
    let s = &c.scenario.hashrate;
    let start = c.window.start;
    out.push_str("\n[market.hashrate]\n");
    let be = c.breakeven();
    let why = if be.fitted {
        format!(
            "fitted ({} at {}), carried to {}",
            describe(&h.estimates[5]),
            month_label(c.window.from),
            month_label(start)
        )
    } else if c.fit_breakeven {
        format!(
            "the scenario's value carried to {}: the fitted break-even or gain is not identified",
            month_label(start)
        )
    } else {
        format!(
            "the scenario's ({} at {}), carried to {}",
            s.breakeven_usd_per_eh_day,
            month_label(c.scenario_start),
            month_label(start)
        )
    };
    line(out, HASHRATE_KEYS[5], be.dynamics.breakeven_at(start), &why);
    let gain_why = if be.fitted {
        format!("estimate {}", describe(&h.estimates[6]))
    } else {
        "the scenario's value".to_owned()
    };
    line(
        out,
        HASHRATE_KEYS[6],
        be.dynamics.efficiency_gain_per_year,
        &gain_why,
    );
    let fallback = [
        s.kappa_up_per_year,
        s.kappa_down_per_year,
        s.kappa_exit_per_year,
        s.cash_cost_share,
        s.sigma,
    ];
    for i in 0..5 {
        let (v, comment) = pick(&h.estimates[i], fallback[i]);
        line(out, HASHRATE_KEYS[i], v, &comment);
    }
    let grid_note = if (h.lag_months, h.machine_life_months) == (3, 36) {
        "the default cell (3, 36): no cell beats it by 2 log-likelihood units"
    } else {
        "the grid's best cell: it beats (3, 36) by at least 2 log-likelihood units"
    };
    line(out, "lag_months", h.lag_months, grid_note);
    line(out, "machine_life_months", h.machine_life_months, grid_note);
    line(out, "capitulation", true, "the exit branch, as fitted");
}

/// `calibration.toml`: the fragment.
pub fn fragment(c: &Calibration) -> String {
    let w = &c.window;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# pivotsim calibrate (pivotsim {}): [market.btc], [market.fees] and [market.hashrate]",
        env!("CARGO_PKG_VERSION")
    );
    let _ = writeln!(
        out,
        "# keys for a scenario starting {} (simulation.start = \"{}\").",
        month_label(w.start),
        w.start.format("%Y-%m-%d")
    );
    let _ = writeln!(
        out,
        "# Window {}..{} ({} months) of {}",
        month_label(w.from),
        month_label(w.to),
        w.len,
        c.history_file
    );
    let _ = writeln!(out, "# history SHA-256 {}", c.history_sha256);
    out.push_str(
        "# Each value: the estimate ± its standard error. Paste over the same keys of a\n\
         # scenario (s0_usd, mu and h0_ehs stay the scenario's). Full precision; results\n\
         # are conditional on these point estimates.\n\n",
    );
    btc_fragment(c, &mut out);
    out.push_str("\n[market.fees]\n");
    let f = &c.fees;
    line(
        &mut out,
        "mean_btc",
        f.mean_btc.estimate,
        &format!(
            "median of the window's last 12 months, {} (block bootstrap SE)",
            describe(&f.mean_btc)
        ),
    );
    line(
        &mut out,
        "sigma",
        f.sigma.estimate,
        &format!(
            "sd of ln F - ln(trailing 12-month mean) over {} months, {}",
            f.months_sigma,
            describe(&f.sigma)
        ),
    );
    hashrate_fragment(c, &mut out);
    out
}

/// The printed summary.
pub fn summary(c: &Calibration) -> String {
    let w = &c.window;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "calibrate {}..{} ({} months) of {}",
        month_label(w.from),
        month_label(w.to),
        w.len,
        c.history_file
    );
    let _ = writeln!(
        out,
        "{:<34} {:>12} {:>10}  note",
        "parameter", "estimate", "SE"
    );
    let row = |out: &mut String, name: &str, e: &Estimate, note: &str| {
        let se = e.se.map_or("-".to_owned(), sig3);
        let mut notes = Vec::new();
        if e.at_bound {
            notes.push("at bound");
        }
        if !e.identified {
            notes.push("not identified");
        }
        if !note.is_empty() {
            notes.push(note);
        }
        let _ = writeln!(
            out,
            "{name:<34} {:>12} {se:>10}  {}",
            sig3(e.estimate),
            notes.join("; ")
        );
    };
    let b = &c.btc;
    let model = if b.jumps_selected { "jumps" } else { "normal" };
    let _ = writeln!(
        out,
        "btc: {} returns; log-lik jumps {:.2}, normal {:.2} (difference {:.2}, rule {}): {model}",
        b.months,
        b.ll_jumps,
        b.ll_normal,
        b.ll_jumps - b.ll_normal,
        merton::LR_THRESHOLD
    );
    for (i, key) in JUMP_KEYS.iter().enumerate() {
        row(&mut out, &format!("btc.{key} (jumps)"), &b.jumps[i], "");
    }
    row(
        &mut out,
        "btc.mu (normal)",
        &b.normal[0],
        "historical; not written",
    );
    row(&mut out, "btc.sigma (normal)", &b.normal[1], "");
    row(
        &mut out,
        "fees.mean_btc",
        &c.fees.mean_btc,
        &format!("{} months", c.fees.months_mean),
    );
    row(
        &mut out,
        "fees.sigma",
        &c.fees.sigma,
        &format!("{} months", c.fees.months_sigma),
    );
    let h = &c.hashrate;
    for (key, e) in HASHRATE_KEYS.iter().zip(&h.estimates) {
        row(&mut out, &format!("hashrate.{key}"), e, "");
    }
    let _ = writeln!(
        out,
        "hashrate: {} pairs, log-lik {:.2}; lag_months {}, machine_life_months {}; break-even {} \
         USD/EH/day at {}, {} at {} ({})",
        h.pairs,
        h.log_likelihood,
        h.lag_months,
        h.machine_life_months,
        sig3(c.breakeven_at(w.from)),
        month_label(w.from),
        sig3(c.breakeven_at(w.start)),
        month_label(w.start),
        if c.breakeven().fitted {
            "fitted"
        } else {
            "scenario"
        }
    );
    out.push_str(
        "grid of max log-likelihoods (rows lag_months, columns machine_life_months; * kept):\n",
    );
    let mut lives: Vec<usize> = h.grid.iter().map(|g| g.machine_life_months).collect();
    lives.dedup();
    lives.sort_unstable();
    lives.dedup();
    let _ = write!(out, "{:>4}", "L\\M");
    for m in &lives {
        let _ = write!(out, " {m:>10}");
    }
    out.push('\n');
    let mut lags: Vec<usize> = h.grid.iter().map(|g| g.lag_months).collect();
    lags.dedup();
    for l in lags {
        let _ = write!(out, "{l:>4}");
        for m in &lives {
            match h
                .grid
                .iter()
                .find(|g| g.lag_months == l && g.machine_life_months == *m)
            {
                Some(g) => {
                    let mark = if (l, *m) == (h.lag_months, h.machine_life_months) {
                        "*"
                    } else {
                        " "
                    };
                    let _ = write!(out, " {:>9.2}{mark}", g.log_likelihood);
                }
                None => {
                    let _ = write!(out, " {:>10}", "-");
                }
            }
        }
        out.push('\n');
    }
    out
}
