//! Exporters: the summary as JSON, CSV and a terminal table.
//!
//! Each exporter is a pure function from a [`Summary`] to bytes or text; the
//! [`crate::output`] writer owns the disk.

pub mod compare;

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
/// pivot tables). MW rows carry only a mean.
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
            for (metric, s) in [
                ("revenue_usd", &m.revenue_usd),
                ("mining_revenue_usd", &m.mining_revenue_usd),
                ("ai_revenue_usd", &m.ai_revenue_usd),
                ("btc_mined", &m.btc_mined),
                ("reserve_btc", &m.reserve_btc),
                ("reserve_usd", &m.reserve_usd),
                ("net_reserve_usd", &m.net_reserve_usd),
            ] {
                let mut r = lead(metric);
                r.extend(stats_cells(s));
                rows.push(r);
            }
            for (metric, v) in [
                ("mw_mining", m.mw_mining),
                ("mw_curtailed", m.mw_curtailed),
                ("mw_converting", m.mw_converting),
                ("mw_ai", m.mw_ai),
            ] {
                let mut r = lead(metric);
                r.push(num(v));
                r.extend(std::iter::repeat_n(String::new(), 6));
                rows.push(r);
            }
        }
    }
    csv_bytes(&header, rows)
}

/// `market.csv`: the sampled market, one row per month and series.
pub fn market_csv(summary: &Summary) -> Vec<u8> {
    let mut header = vec!["month", "date", "metric"];
    header.extend(STATS_HEADER);
    let mut rows = Vec::new();
    for m in &summary.market.months {
        for (metric, s) in [
            ("btc_price_usd", &m.btc_price_usd),
            ("hashrate_ehs", &m.hashrate_ehs),
            ("hashprice_usd_per_ph_day", &m.hashprice_usd_per_ph_day),
            ("gpu_hour_usd", &m.gpu_hour_usd),
            ("ai_demand_mw", &m.ai_demand_mw),
        ] {
            let mut r = vec![m.month.to_string(), m.date.clone(), metric.to_string()];
            r.extend(stats_cells(s));
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
        "npv_vs_baseline_usd_mean",
        "npv_vs_baseline_usd_se",
        "total_revenue_usd_mean",
        "terminal_net_reserve_usd_mean",
        "terminal_net_reserve_usd_p5",
        "terminal_net_reserve_usd_p50",
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
            p.npv_vs_baseline_usd.map_or(String::new(), |d| num(d.mean)),
            p.npv_vs_baseline_usd.map_or(String::new(), |d| num(d.se)),
            num(p.total_revenue_usd.mean),
            num(p.terminal_net_reserve_usd.mean),
            num(p.terminal_net_reserve_usd.p5),
            num(p.terminal_net_reserve_usd.p50),
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
