//! Exporters: the summary as JSON, CSV and a terminal table.
//!
//! Each exporter is a pure function from a [`Summary`] to bytes or text; the
//! [`crate::output`] writer owns the disk.

pub mod compare;
pub mod drivers;
pub mod optimize;
pub mod sensitivity;

use crate::engine::metrics::{Figure, MARKET_SERIES, POLICY_SERIES};
use crate::format::{btc, pct, usd_m};
use crate::summary::{Stats, Summary};

/// `summary.json`: pretty-printed, fields in declaration order.
pub fn summary_json(summary: &Summary) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(summary).expect("summary serialises");
    bytes.push(b'\n');
    bytes
}

const STATS_HEADER: [&str; 7] = ["mean", "se", "p5", "p25", "p50", "p75", "p95"];

fn stats_cells(s: &Stats) -> [String; 7] {
    [s.mean, s.se, s.p5, s.p25, s.p50, s.p75, s.p95].map(num)
}

/// Full precision, shortest round-trip form.
fn num(x: f64) -> String {
    if x.is_finite() {
        format!("{x}")
    } else {
        String::new()
    }
}

fn csv_bytes(header: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(header).expect("in-memory write");
    for r in rows {
        w.write_record(&r).expect("in-memory write");
    }
    w.into_inner().expect("in-memory flush")
}

/// `monthly.csv`: one row per policy, month and metric (long format, for
/// pivot tables), the metrics those of the catalogue's `POLICY_SERIES` in
/// its order. Mean-only rows (MW) carry only a mean.
pub fn monthly_csv(summary: &Summary) -> Vec<u8> {
    let mut header = vec!["policy", "month", "date", "metric"];
    header.extend(STATS_HEADER);
    let mut rows = Vec::new();
    for p in &summary.policies {
        for m in &p.months {
            let lead = |metric: &str| {
                vec![
                    p.name.clone(),
                    m.month.to_string(),
                    m.date.clone(),
                    metric.to_string(),
                ]
            };
            for series in &POLICY_SERIES {
                let mut r = lead(series.name);
                match (series.get)(m) {
                    Figure::Stats(s) => r.extend(stats_cells(&s)),
                    Figure::Mean(v) => {
                        r.push(num(v));
                        r.extend(std::iter::repeat_n(String::new(), 6));
                    }
                }
                rows.push(r);
            }
        }
    }
    csv_bytes(&header, rows)
}

/// `market.csv`: the sampled market, one row per month and series (the
/// catalogue's `MARKET_SERIES`, in its order).
pub fn market_csv(summary: &Summary) -> Vec<u8> {
    let mut header = vec!["month", "date", "metric"];
    header.extend(STATS_HEADER);
    let mut rows = Vec::new();
    for m in &summary.market.months {
        for series in &MARKET_SERIES {
            let mut r = vec![m.month.to_string(), m.date.clone(), series.name.to_string()];
            r.extend(stats_cells((series.get)(m)));
            rows.push(r);
        }
    }
    csv_bytes(&header, rows)
}

/// `policies.csv`: one row per policy with the headline figures.
pub fn policies_csv(summary: &Summary) -> Vec<u8> {
    let header = [
        "policy",
        "kind",
        "npv_usd_mean",
        "npv_usd_se",
        "npv_usd_p5",
        "npv_usd_p50",
        "npv_usd_p95",
        "npv_usd_cvar5",
        "npv_vs_baseline_usd_mean",
        "npv_vs_baseline_usd_se",
        "total_revenue_usd_mean",
        "terminal_net_reserve_usd_mean",
        "terminal_net_reserve_usd_p5",
        "terminal_net_reserve_usd_p50",
        "terminal_net_reserve_usd_cvar5",
        "terminal_net_reserve_vs_baseline_usd_mean",
        "terminal_net_reserve_vs_baseline_usd_se",
        "max_drawdown_mean",
        "max_drawdown_net_usd_mean",
        "min_reserve_btc_p50",
        "terminal_reserve_btc_p50",
        "conversions_started_mean",
        "p_margin_call",
        "p_liquidation",
        "p_distress",
        "mean_first_distress_month",
    ];
    let rows = summary.policies.iter().map(|p| {
        let last = p.months.last();
        vec![
            p.name.clone(),
            p.kind.clone(),
            num(p.npv_usd.mean),
            num(p.npv_usd.se),
            num(p.npv_usd.p5),
            num(p.npv_usd.p50),
            num(p.npv_usd.p95),
            p.npv_usd.cvar5.map_or(String::new(), num),
            p.npv_vs_baseline_usd.map_or(String::new(), |d| num(d.mean)),
            p.npv_vs_baseline_usd.map_or(String::new(), |d| num(d.se)),
            num(p.total_revenue_usd.mean),
            num(p.terminal_net_reserve_usd.mean),
            num(p.terminal_net_reserve_usd.p5),
            num(p.terminal_net_reserve_usd.p50),
            p.terminal_net_reserve_usd.cvar5.map_or(String::new(), num),
            p.terminal_net_reserve_vs_baseline_usd
                .map_or(String::new(), |d| num(d.mean)),
            p.terminal_net_reserve_vs_baseline_usd
                .map_or(String::new(), |d| num(d.se)),
            num(p.max_drawdown.mean),
            num(p.max_drawdown_net_usd.mean),
            num(p.min_reserve_btc.p50),
            last.map_or(String::new(), |m| num(m.reserve_btc.p50)),
            num(p.conversions_started.mean),
            num(p.p_margin_call),
            num(p.p_liquidation),
            num(p.p_distress),
            p.mean_first_distress_month.map_or(String::new(), num),
        ]
    });
    csv_bytes(&header, rows)
}

/// The table printed at the end of a run.
pub fn table(summary: &Summary) -> String {
    let header = [
        "policy",
        "NPV mean (95% CI)",
        "vs baseline (95% CI)",
        "P(margin call)",
        "P(liquidation)",
        "P(distress)",
        "median end reserve",
    ];
    let rows: Vec<[String; 7]> = summary
        .policies
        .iter()
        .map(|p| {
            let ci = |mean: f64, se: f64| format!("{} ± {}", usd_m(mean), usd_m(1.96 * se));
            [
                p.name.clone(),
                ci(p.npv_usd.mean, p.npv_usd.se),
                p.npv_vs_baseline_usd
                    .map_or("baseline".to_string(), |d| ci(d.mean, d.se)),
                pct(p.p_margin_call),
                pct(p.p_liquidation),
                pct(p.p_distress),
                p.months
                    .last()
                    .map_or(String::new(), |m| btc(m.reserve_btc.p50)),
            ]
        })
        .collect();
    let mut widths = header.map(|h| h.chars().count());
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut s = String::new();
        for (i, (c, w)) in cells.iter().zip(widths).enumerate() {
            let pad = w - c.chars().count();
            if i == 0 {
                s.push_str(c);
                s.push_str(&" ".repeat(pad));
            } else {
                s.push_str("  ");
                s.push_str(&" ".repeat(pad));
                s.push_str(c);
            }
        }
        s.trim_end().to_string()
    };
    let mut out = String::new();
    out.push_str(&format!(
        "{}: {} paths x {} months from {}, seed {}, baseline `{}`\n",
        summary.scenario,
        crate::format::thousands(summary.paths as f64, 0),
        summary.months,
        summary.start,
        summary.seed,
        summary.baseline
    ));
    out.push_str(&line(&header.map(String::from)));
    out.push('\n');
    let total: usize = widths.iter().sum::<usize>() + 2 * (widths.len() - 1);
    out.push_str(&"-".repeat(total));
    out.push('\n');
    for r in &rows {
        out.push_str(&line(r));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod csv_check;

#[cfg(test)]
mod tests {
    use super::csv_check::{Cell, cell, check_columns};
    use super::*;
    use crate::charts::testdata::summary;
    use crate::summary::{MarketMonth, PolicyMonth};

    /// The fixture, with a distinct kind per policy (the fixture's kinds
    /// are the names) and a distress month that differs between policies,
    /// one of them empty.
    fn distinct_summary() -> Summary {
        let mut s = summary(3, 12);
        for (i, p) in s.policies.iter_mut().enumerate() {
            p.kind = format!("kind_{i}");
            p.mean_first_distress_month = (i < 2).then_some(17.5 + i as f64);
            p.npv_usd.cvar5 = (i > 0).then_some(-9.25e8 - i as f64);
            p.terminal_net_reserve_usd.cvar5 = Some(-3.5e8 + i as f64);
        }
        s
    }

    /// An optional figure: empty when absent.
    fn opt(x: Option<f64>) -> String {
        x.map_or(String::new(), |v| v.to_string())
    }

    /// `lead` followed by the seven statistics columns.
    fn with_stats(mut lead: Vec<Cell>, stats: [String; 7]) -> Vec<Cell> {
        let names = ["mean", "se", "p5", "p25", "p50", "p75", "p95"];
        lead.extend(names.into_iter().zip(stats).map(|(n, v)| cell(n, v)));
        lead
    }

    fn all(s: &Stats) -> [String; 7] {
        [s.mean, s.se, s.p5, s.p25, s.p50, s.p75, s.p95].map(|x| x.to_string())
    }

    /// A figure with only a mean (the MW rows).
    fn mean_only(x: f64) -> [String; 7] {
        let mut cells: [String; 7] = Default::default();
        cells[0] = x.to_string();
        cells
    }

    #[test]
    fn policies_csv_columns_hold_their_fields() {
        let s = distinct_summary();
        let rows: Vec<Vec<Cell>> = s
            .policies
            .iter()
            .map(|p| {
                let end = p.months.last().unwrap();
                vec![
                    cell("policy", &p.name),
                    cell("kind", &p.kind),
                    cell("npv_usd_mean", p.npv_usd.mean),
                    cell("npv_usd_se", p.npv_usd.se),
                    cell("npv_usd_p5", p.npv_usd.p5),
                    cell("npv_usd_p50", p.npv_usd.p50),
                    cell("npv_usd_p95", p.npv_usd.p95),
                    cell("npv_usd_cvar5", opt(p.npv_usd.cvar5)),
                    cell(
                        "npv_vs_baseline_usd_mean",
                        opt(p.npv_vs_baseline_usd.map(|d| d.mean)),
                    ),
                    cell(
                        "npv_vs_baseline_usd_se",
                        opt(p.npv_vs_baseline_usd.map(|d| d.se)),
                    ),
                    cell("total_revenue_usd_mean", p.total_revenue_usd.mean),
                    cell(
                        "terminal_net_reserve_usd_mean",
                        p.terminal_net_reserve_usd.mean,
                    ),
                    cell("terminal_net_reserve_usd_p5", p.terminal_net_reserve_usd.p5),
                    cell(
                        "terminal_net_reserve_usd_p50",
                        p.terminal_net_reserve_usd.p50,
                    ),
                    cell(
                        "terminal_net_reserve_usd_cvar5",
                        opt(p.terminal_net_reserve_usd.cvar5),
                    ),
                    cell(
                        "terminal_net_reserve_vs_baseline_usd_mean",
                        opt(p.terminal_net_reserve_vs_baseline_usd.map(|d| d.mean)),
                    ),
                    cell(
                        "terminal_net_reserve_vs_baseline_usd_se",
                        opt(p.terminal_net_reserve_vs_baseline_usd.map(|d| d.se)),
                    ),
                    cell("max_drawdown_mean", p.max_drawdown.mean),
                    cell("max_drawdown_net_usd_mean", p.max_drawdown_net_usd.mean),
                    cell("min_reserve_btc_p50", p.min_reserve_btc.p50),
                    cell("terminal_reserve_btc_p50", end.reserve_btc.p50),
                    cell("conversions_started_mean", p.conversions_started.mean),
                    cell("p_margin_call", p.p_margin_call),
                    cell("p_liquidation", p.p_liquidation),
                    cell("p_distress", p.p_distress),
                    cell(
                        "mean_first_distress_month",
                        opt(p.mean_first_distress_month),
                    ),
                ]
            })
            .collect();
        check_columns(&policies_csv(&s), &rows);
    }

    /// A policy's monthly metrics, in the file's order.
    const POLICY_METRICS: [&str; 11] = [
        "revenue_usd",
        "mining_revenue_usd",
        "ai_revenue_usd",
        "btc_mined",
        "reserve_btc",
        "reserve_usd",
        "net_reserve_usd",
        "mw_mining",
        "mw_curtailed",
        "mw_converting",
        "mw_ai",
    ];

    /// The statistics columns of `metric` in month `m`.
    fn policy_metric(m: &PolicyMonth, metric: &str) -> [String; 7] {
        match metric {
            "revenue_usd" => all(&m.revenue_usd),
            "mining_revenue_usd" => all(&m.mining_revenue_usd),
            "ai_revenue_usd" => all(&m.ai_revenue_usd),
            "btc_mined" => all(&m.btc_mined),
            "reserve_btc" => all(&m.reserve_btc),
            "reserve_usd" => all(&m.reserve_usd),
            "net_reserve_usd" => all(&m.net_reserve_usd),
            "mw_mining" => mean_only(m.mw_mining),
            "mw_curtailed" => mean_only(m.mw_curtailed),
            "mw_converting" => mean_only(m.mw_converting),
            "mw_ai" => mean_only(m.mw_ai),
            other => panic!("no metric {other}"),
        }
    }

    #[test]
    fn monthly_csv_columns_hold_their_fields() {
        let s = distinct_summary();
        let mut rows = Vec::new();
        for p in &s.policies {
            for m in &p.months {
                for metric in POLICY_METRICS {
                    let lead = vec![
                        cell("policy", &p.name),
                        cell("month", m.month),
                        cell("date", &m.date),
                        cell("metric", metric),
                    ];
                    rows.push(with_stats(lead, policy_metric(m, metric)));
                }
            }
        }
        check_columns(&monthly_csv(&s), &rows);
    }

    /// The market's series, in the file's order.
    const MARKET_METRICS: [&str; 5] = [
        "btc_price_usd",
        "hashrate_ehs",
        "hashprice_usd_per_ph_day",
        "gpu_hour_usd",
        "ai_demand_mw_it",
    ];

    fn market_metric(m: &MarketMonth, metric: &str) -> [String; 7] {
        match metric {
            "btc_price_usd" => all(&m.btc_price_usd),
            "hashrate_ehs" => all(&m.hashrate_ehs),
            "hashprice_usd_per_ph_day" => all(&m.hashprice_usd_per_ph_day),
            "gpu_hour_usd" => all(&m.gpu_hour_usd),
            "ai_demand_mw_it" => all(&m.ai_demand_mw_it),
            other => panic!("no series {other}"),
        }
    }

    #[test]
    fn market_csv_columns_hold_their_fields() {
        let s = distinct_summary();
        let mut rows = Vec::new();
        for m in &s.market.months {
            for metric in MARKET_METRICS {
                let lead = vec![
                    cell("month", m.month),
                    cell("date", &m.date),
                    cell("metric", metric),
                ];
                rows.push(with_stats(lead, market_metric(m, metric)));
            }
        }
        check_columns(&market_csv(&s), &rows);
    }
}
