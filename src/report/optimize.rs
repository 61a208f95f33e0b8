//! The files and lines of `pivotsim optimize`: `optimize.csv` (a row per
//! grid point), `optimize.json` (the winner in and out of sample, the
//! grid, the limits), `best.toml` (the winner's table, to paste) and the
//! terminal summary.

use serde::Serialize;

use super::{csv_bytes, num};
use crate::engine::sweep::VariantFigures;
use crate::format::{pct, usd_m};
use crate::optimize::{Best, Optimization, Row};
use crate::scenario::variant::ParamValue;

/// The figure columns of `optimize.csv`, after the keys and `merged`.
pub const FIGURE_COLUMNS: [&str; 7] = [
    "npv_usd_mean",
    "npv_usd_se",
    "npv_vs_baseline_usd_mean",
    "npv_vs_baseline_usd_se",
    "p_margin_call",
    "p_liquidation",
    "feasible",
];

/// `optimize.csv`: one row per grid point, in grid order: each key under
/// its own name, `merged` (how many of the SPEC's points the row stands
/// for, after integer rounding), the figures and whether the point is
/// within the limits.
pub fn optimize_csv(o: &Optimization) -> Vec<u8> {
    let mut header: Vec<&str> = o.grid.axes.iter().map(|a| a.key.as_str()).collect();
    header.push("merged");
    header.extend(FIGURE_COLUMNS);
    let rows = o.rows.iter().map(|r| {
        let mut cells: Vec<String> = r.params.iter().map(|(_, v)| v.to_string()).collect();
        cells.push(r.merged.to_string());
        let f = &r.figures;
        cells.extend(
            [
                f.npv_usd.mean,
                f.npv_usd.se,
                f.npv_vs_baseline_usd.mean,
                f.npv_vs_baseline_usd.se,
                f.p_margin_call,
                f.p_liquidation,
            ]
            .map(num),
        );
        cells.push(r.feasible.to_string());
        cells
    });
    csv_bytes(&header, rows)
}

/// A policy's figures, as `optimize.json` writes them.
#[derive(Serialize)]
struct Figures {
    npv_usd_mean: f64,
    npv_usd_se: f64,
    npv_vs_baseline_usd_mean: f64,
    npv_vs_baseline_usd_se: f64,
    p_margin_call: f64,
    p_liquidation: f64,
    /// Within the limits.
    feasible: bool,
}

impl Figures {
    fn new(f: &VariantFigures, o: &Optimization) -> Figures {
        Figures {
            npv_usd_mean: f.npv_usd.mean,
            npv_usd_se: f.npv_usd.se,
            npv_vs_baseline_usd_mean: f.npv_vs_baseline_usd.mean,
            npv_vs_baseline_usd_se: f.npv_vs_baseline_usd.se,
            p_margin_call: f.p_margin_call,
            p_liquidation: f.p_liquidation,
            feasible: o.limits.admit(f),
        }
    }
}

/// Keys and values in grid order, as a JSON object.
struct Params<'a>(&'a [(String, ParamValue)]);

impl Serialize for Params<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(k, v)| (k, Value(*v))))
    }
}

/// A key's value as the policy reads it: an integer, or the number.
struct Value(ParamValue);

impl Serialize for Value {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            ParamValue::Integer(v) => s.serialize_i64(v),
            v => s.serialize_f64(v.as_f64()),
        }
    }
}

#[derive(Serialize)]
struct Json<'a> {
    scenario: &'a str,
    scenario_sha256: &'a str,
    pivotsim_version: &'static str,
    policy: &'a str,
    kind: &'a str,
    baseline: &'a str,
    seed: u64,
    validate_seed: u64,
    paths: u64,
    limits: Limits,
    grid: GridJson<'a>,
    feasible_points: usize,
    best: Option<BestJson<'a>>,
    /// Why `best` is null.
    no_best: Option<&'a str>,
    baseline_in_sample: Figures,
    baseline_out_of_sample: Option<Figures>,
    performance: Performance<'a>,
}

#[derive(Serialize)]
struct Limits {
    max_p_margin_call: Option<f64>,
    max_p_liquidation: Option<f64>,
}

#[derive(Serialize)]
struct GridJson<'a> {
    points: usize,
    axes: Vec<AxisJson<'a>>,
}

#[derive(Serialize)]
struct AxisJson<'a> {
    key: &'a str,
    integer: bool,
    low: f64,
    high: f64,
    n: u64,
    values: Vec<Value>,
    merged: &'a [u64],
}

#[derive(Serialize)]
struct BestJson<'a> {
    params: Params<'a>,
    in_sample: Figures,
    out_of_sample: Figures,
    /// In-sample mean NPV gain over the baseline minus the out-of-sample
    /// one, and its standard error.
    optimism_usd: f64,
    optimism_se_usd: f64,
}

#[derive(Serialize)]
struct Performance<'a> {
    threads: usize,
    elapsed_s: f64,
    run_started_utc: &'a str,
}

fn best_json<'a>(b: &Best, rows: &'a [Row], o: &Optimization) -> BestJson<'a> {
    let (optimism_usd, optimism_se_usd) = b.optimism_usd();
    BestJson {
        params: Params(&rows[b.row].params),
        in_sample: Figures::new(&b.in_sample, o),
        out_of_sample: Figures::new(&b.out_of_sample, o),
        optimism_usd,
        optimism_se_usd,
    }
}

/// `optimize.json`: pretty-printed, fields in declaration order.
pub fn optimize_json(o: &Optimization) -> Vec<u8> {
    let dec = |d: rust_decimal::Decimal| ParamValue::Number(d).as_f64();
    let json = Json {
        scenario: &o.scenario,
        scenario_sha256: &o.scenario_sha256,
        pivotsim_version: env!("CARGO_PKG_VERSION"),
        policy: &o.policy,
        kind: &o.kind,
        baseline: &o.baseline,
        seed: o.seed,
        validate_seed: o.validate_seed,
        paths: o.paths,
        limits: Limits {
            max_p_margin_call: o.limits.max_p_margin_call,
            max_p_liquidation: o.limits.max_p_liquidation,
        },
        grid: GridJson {
            points: o.rows.len(),
            axes: o
                .grid
                .axes
                .iter()
                .map(|a| AxisJson {
                    key: &a.key,
                    integer: a.integer,
                    low: dec(a.low),
                    high: dec(a.high),
                    n: a.n,
                    values: a.values.iter().map(|v| Value(*v)).collect(),
                    merged: &a.merged,
                })
                .collect(),
        },
        feasible_points: o.rows.iter().filter(|r| r.feasible).count(),
        best: o.best.as_ref().map(|b| best_json(b, &o.rows, o)),
        no_best: o.no_best.as_deref(),
        baseline_in_sample: Figures::new(&o.baseline_in_sample, o),
        baseline_out_of_sample: o.baseline_out_of_sample.map(|f| Figures::new(&f, o)),
        performance: Performance {
            threads: o.threads,
            elapsed_s: o.elapsed_s,
            run_started_utc: &o.run_started_utc,
        },
    };
    let mut bytes = serde_json::to_vec_pretty(&json).expect("optimize.json serialises");
    bytes.push(b'\n');
    bytes
}

/// `best.toml`: the winner's `[[policies]]` table with a comment saying
/// where it comes from; `None` without a winner.
pub fn best_toml(o: &Optimization) -> Option<Vec<u8>> {
    let b = o.best.as_ref()?;
    let (gain, se) = (
        b.out_of_sample.npv_vs_baseline_usd.mean,
        b.out_of_sample.npv_vs_baseline_usd.se,
    );
    let text = format!(
        "# The best `{}` of `pivotsim optimize` on {} ({} paths, seed {}; {}),\n\
         # NPV vs `{}` out of sample (seed {}): {} ± {} (SE). Paste into a scenario.\n{}",
        o.policy,
        o.scenario,
        o.paths,
        o.seed,
        o.limits.text(),
        o.baseline,
        o.validate_seed,
        usd_m(gain),
        usd_m(se),
        b.table
    );
    Some(text.into_bytes())
}

/// `NPV $1,234.5M ± 3.2M, P(margin call) 7.1%, P(liquidation) 0.3%`.
fn figures_line(f: &VariantFigures) -> String {
    format!(
        "NPV {} ± {}, P(margin call) {}, P(liquidation) {}",
        usd_m(f.npv_usd.mean),
        usd_m(f.npv_usd.se),
        pct(f.p_margin_call),
        pct(f.p_liquidation)
    )
}

/// The lines printed on the terminal.
pub fn summary_text(o: &Optimization) -> String {
    let feasible = o.rows.iter().filter(|r| r.feasible).count();
    let mut out = format!(
        "optimize `{}` on {}: {} grid points x {} paths (seed {}) in {:.1} s\n\
         baseline `{}`: {}\n\
         limits {}: {feasible} of {} points feasible\n",
        o.policy,
        o.scenario,
        o.rows.len(),
        o.paths,
        o.seed,
        o.elapsed_s,
        o.baseline,
        figures_line(&o.baseline_in_sample),
        o.limits.text(),
        o.rows.len(),
    );
    match (&o.best, &o.no_best) {
        (Some(b), _) => {
            let params: Vec<String> = o.rows[b.row]
                .params
                .iter()
                .map(|(k, v)| format!("{k} = {v}"))
                .collect();
            let vs = |f: &VariantFigures| {
                let d = f.npv_vs_baseline_usd;
                format!("{} ± {}", usd_m(d.mean), usd_m(d.se))
            };
            let (opt, opt_se) = b.optimism_usd();
            out.push_str(&format!(
                "best: {}\n  in sample:     {}; vs baseline {}\n  \
                 out of sample: {}; vs baseline {} (seed {})\n  \
                 optimism (in-sample gain minus out-of-sample): {} ± {}\n",
                params.join(", "),
                figures_line(&b.in_sample),
                vs(&b.in_sample),
                figures_line(&b.out_of_sample),
                vs(&b.out_of_sample),
                o.validate_seed,
                usd_m(opt),
                usd_m(opt_se),
            ));
        }
        (None, Some(why)) => out.push_str(&format!("no best: {why}\n")),
        (None, None) => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optimize::Limits;
    use crate::optimize::tests::example;
    use crate::report::csv_check::{Cell, cell, check_columns};

    /// Every column of `optimize.csv` holds its field, by name, row by
    /// row; `best.toml` exists exactly when there is a winner, and
    /// `optimize.json` says why there is none.
    #[test]
    fn the_files_hold_the_rows_and_the_winner() {
        let limits = Limits {
            max_p_margin_call: Some(1.0),
            max_p_liquidation: Some(0.0),
        };
        let o = example("hurdle=0:1.5:3,window_months=2:3:3", limits);
        assert_eq!(o.rows.len(), 6);
        let expected: Vec<Vec<Cell>> = o
            .rows
            .iter()
            .map(|r| {
                let f = &r.figures;
                vec![
                    cell("hurdle", r.params[0].1),
                    cell("window_months", r.params[1].1),
                    cell("merged", r.merged),
                    cell("npv_usd_mean", f.npv_usd.mean),
                    cell("npv_usd_se", f.npv_usd.se),
                    cell("npv_vs_baseline_usd_mean", f.npv_vs_baseline_usd.mean),
                    cell("npv_vs_baseline_usd_se", f.npv_vs_baseline_usd.se),
                    cell("p_margin_call", f.p_margin_call),
                    cell("p_liquidation", f.p_liquidation),
                    cell("feasible", r.feasible),
                ]
            })
            .collect();
        check_columns(&optimize_csv(&o), &expected);
        assert_eq!(o.rows.iter().map(|r| r.merged).sum::<u64>(), 9);
        // smoke liquidates on some path under every setting: no winner.
        assert!(o.best.is_none() && best_toml(&o).is_none());
        let j: serde_json::Value = serde_json::from_slice(&optimize_json(&o)).unwrap();
        assert!(j["best"].is_null());
        assert!(
            j["no_best"]
                .as_str()
                .unwrap()
                .contains("P(liquidation) <= 0")
        );
        assert!(summary_text(&o).contains("no best:"));
        let o = example("hurdle=0:1.5:3", Limits::default());
        let best = o.best.as_ref().expect("no limits: a winner");
        let toml = String::from_utf8(best_toml(&o).unwrap()).unwrap();
        assert!(toml.contains(&best.table) && toml.contains("threshold_best"));
        let j: serde_json::Value = serde_json::from_slice(&optimize_json(&o)).unwrap();
        let want = o.rows[best.row].params[0].1.as_f64();
        assert_eq!(
            j["best"]["params"]["hurdle"]
                .to_string()
                .parse::<f64>()
                .unwrap(),
            want
        );
        assert_eq!(j["grid"]["axes"][0]["values"].as_array().unwrap().len(), 3);
    }
}
