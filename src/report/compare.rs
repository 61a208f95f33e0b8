//! The comparison of several scenarios, as `compare.csv` and the table
//! `pivotsim compare` prints: one row per scenario x policy.

use crate::format::{pct, usd_m};
use crate::summary::{PolicySummary, Summary};

/// Every (scenario, policy) pair in order.
fn cells(summaries: &[Summary]) -> impl Iterator<Item = (&Summary, &PolicySummary)> {
    summaries
        .iter()
        .flat_map(|s| s.policies.iter().map(move |p| (s, p)))
}

/// `compare.csv`: one row per scenario x policy, full precision.
pub fn compare_csv(summaries: &[Summary]) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "scenario",
        "policy",
        "paths",
        "seed",
        "npv_usd_mean",
        "npv_usd_se",
        "total_revenue_usd_mean",
        "terminal_net_reserve_usd_mean",
        "terminal_net_reserve_usd_se",
        "p_margin_call",
        "p_liquidation",
        "p_distress",
    ])
    .expect("in-memory write");
    for (s, p) in cells(summaries) {
        w.write_record([
            s.scenario.clone(),
            p.name.clone(),
            s.paths.to_string(),
            s.seed.to_string(),
            p.npv_usd.mean.to_string(),
            p.npv_usd.se.to_string(),
            p.total_revenue_usd.mean.to_string(),
            p.terminal_net_reserve_usd.mean.to_string(),
            p.terminal_net_reserve_usd.se.to_string(),
            p.p_margin_call.to_string(),
            p.p_liquidation.to_string(),
            p.p_distress.to_string(),
        ])
        .expect("in-memory write");
    }
    w.into_inner().expect("in-memory flush")
}

/// The table printed by `pivotsim compare`.
pub fn compare_table(summaries: &[Summary]) -> String {
    let header = [
        "scenario",
        "policy",
        "NPV mean (95% CI)",
        "expected revenue",
        "end net reserve (95% CI)",
        "P(margin call)",
        "P(liquidation)",
        "P(distress)",
    ]
    .map(String::from);
    let ci = |mean: f64, half: f64| format!("{} ± {}", usd_m(mean), usd_m(half));
    let rows: Vec<[String; 8]> = cells(summaries)
        .map(|(s, p)| {
            [
                s.scenario.clone(),
                p.name.clone(),
                ci(p.npv_usd.mean, p.npv_usd.ci95()),
                usd_m(p.total_revenue_usd.mean),
                ci(
                    p.terminal_net_reserve_usd.mean,
                    p.terminal_net_reserve_usd.ci95(),
                ),
                pct(p.p_margin_call),
                pct(p.p_liquidation),
                pct(p.p_distress),
            ]
        })
        .collect();
    let mut widths = header.clone().map(|h| h.chars().count());
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: &[String; 8]| {
        let mut out = String::new();
        for (i, (c, w)) in cells.iter().zip(widths).enumerate() {
            let pad = " ".repeat(w - c.chars().count());
            if i < 2 {
                out.push_str(c);
                out.push_str(&pad);
                out.push_str("  ");
            } else {
                out.push_str(&pad);
                out.push_str(c);
                out.push_str("  ");
            }
        }
        out.trim_end().to_string() + "\n"
    };
    let mut out = String::new();
    if let Some(first) = summaries.first() {
        out.push_str(&format!(
            "{} scenarios, {} paths each, seed {}\n",
            summaries.len(),
            crate::format::thousands(first.paths as f64, 0),
            first.seed
        ));
    }
    out.push_str(&line(&header));
    out.push_str(&"-".repeat(widths.iter().sum::<usize>() + 2 * (widths.len() - 1)));
    out.push('\n');
    for r in &rows {
        out.push_str(&line(r));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::charts::testdata::summary;
    use crate::report::csv_check::{Cell, cell, check_columns};

    #[test]
    fn csv_and_table_have_a_row_per_scenario_and_policy() {
        let mut b = summary(3, 12);
        b.scenario = "other".into();
        let all = [summary(3, 12), b];
        let csv = String::from_utf8(compare_csv(&all)).unwrap();
        assert_eq!(csv.lines().count(), 1 + 6);
        assert!(csv.lines().nth(4).unwrap().starts_with("other,hold,"));
        let table = compare_table(&all);
        assert_eq!(table.lines().count(), 3 + 6);
        assert!(table.contains("P(liquidation)"));
        assert!(
            table.lines().nth(1).unwrap().ends_with("P(distress)"),
            "{table}"
        );
    }

    #[test]
    fn compare_csv_columns_hold_their_fields() {
        let mut b = summary(3, 12);
        (b.scenario, b.paths, b.seed) = ("other".into(), 2000, 7);
        let all = [summary(3, 12), b];
        let rows: Vec<Vec<Cell>> = cells(&all)
            .map(|(s, p)| {
                vec![
                    cell("scenario", &s.scenario),
                    cell("policy", &p.name),
                    cell("paths", s.paths),
                    cell("seed", s.seed),
                    cell("npv_usd_mean", p.npv_usd.mean),
                    cell("npv_usd_se", p.npv_usd.se),
                    cell("total_revenue_usd_mean", p.total_revenue_usd.mean),
                    cell(
                        "terminal_net_reserve_usd_mean",
                        p.terminal_net_reserve_usd.mean,
                    ),
                    cell("terminal_net_reserve_usd_se", p.terminal_net_reserve_usd.se),
                    cell("p_margin_call", p.p_margin_call),
                    cell("p_liquidation", p.p_liquidation),
                    cell("p_distress", p.p_distress),
                ]
            })
            .collect();
        assert_eq!(rows.len(), 6);
        check_columns(&compare_csv(&all), &rows);
    }
}
