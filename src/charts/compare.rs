//! The scenario comparison chart: for each scenario x policy, NPV with its
//! 95% CI, expected revenue, terminal net reserve, P(margin call) and
//! P(liquidation). All scenarios ran with the same seed and paths.
//!
//! A policy keeps one colour across scenarios: colours go to policy names in
//! order of first appearance, which is scenario order when the files list the
//! same policies.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::policy_compare::mean_ci;
use super::rows::{Axis, Column, Mark, Row, draw_rows};
use super::style::*;
use crate::format::{pct, run_date, thousands, usd_auto};
use crate::summary::{PolicySummary, Summary};

pub const TITLE: &str = "Scenario comparison: value and risk of each policy";

/// The colour index of each policy name across `summaries`.
fn color_of(summaries: &[Summary], name: &str) -> usize {
    let mut seen: Vec<&str> = Vec::new();
    for p in summaries.iter().flat_map(|s| &s.policies) {
        if !seen.contains(&p.name.as_str()) {
            seen.push(&p.name);
        }
    }
    seen.iter().position(|n| *n == name).unwrap_or(0)
}

/// The footer of a comparison: every scenario, the shared paths and seed.
pub fn compare_footer(summaries: &[Summary]) -> String {
    let Some(first) = summaries.first() else {
        return String::new();
    };
    let names: Vec<&str> = summaries.iter().map(|s| s.scenario.as_str()).collect();
    format!(
        "Scenarios {} · {} paths · seed {} · pivotsim {} · run {}",
        names.join(", "),
        thousands(first.paths as f64, 0),
        first.seed,
        first.pivotsim_version,
        run_date(&first.run_started_utc)
    )
}

pub fn draw<DB: DrawingBackend>(
    summaries: &[Summary],
    root: &DrawingArea<DB, Shift>,
) -> ChartResult<(), DB> {
    let footer = compare_footer(summaries);
    let body = frame(
        root,
        &Frame {
            title: TITLE,
            subtitle: "Each row is one policy in one scenario, same seed and paths; \
                       money in USD, probabilities are shares of paths.",
            legend: &[],
            footer: &footer,
        },
    )?;
    let mut rows = Vec::new();
    let mut cells: Vec<&PolicySummary> = Vec::new();
    for (g, s) in summaries.iter().enumerate() {
        for (i, p) in s.policies.iter().enumerate() {
            rows.push(Row {
                label: p.name.clone(),
                color: policy_color(color_of(summaries, &p.name)),
                group: (i == 0).then(|| s.scenario.clone()),
                shade: g % 2 == 1,
            });
            cells.push(p);
        }
    }
    let column =
        |title: &str, note: &str, axis, weight, mark: &dyn Fn(&PolicySummary) -> Mark| Column {
            title: title.into(),
            note: note.into(),
            axis,
            marks: cells.iter().map(|p| mark(p)).collect(),
            weight,
        };
    let columns = [
        column("NPV", "mean, 95% CI", Axis::Money, 1.2, &|p| Mark::Dot {
            mean: p.npv_usd.mean,
            half_ci: p.npv_usd.ci95(),
            text: mean_ci(p.npv_usd.mean, p.npv_usd.se),
        }),
        column(
            "Revenue",
            "expected, whole horizon",
            Axis::Money,
            1.0,
            &|p| Mark::Bar {
                value: p.total_revenue_usd.mean,
                text: usd_auto(p.total_revenue_usd.mean),
            },
        ),
        column("End net reserve", "mean, 95% CI", Axis::Money, 1.2, &|p| {
            Mark::Dot {
                mean: p.terminal_net_reserve_usd.mean,
                half_ci: p.terminal_net_reserve_usd.ci95(),
                text: mean_ci(
                    p.terminal_net_reserve_usd.mean,
                    p.terminal_net_reserve_usd.se,
                ),
            }
        }),
        column(
            "P(margin call)",
            "share of paths",
            Axis::Probability,
            0.9,
            &|p| Mark::Bar {
                value: p.p_margin_call,
                text: pct(p.p_margin_call),
            },
        ),
        column(
            "P(liquidation)",
            "share of paths",
            Axis::Probability,
            0.9,
            &|p| Mark::Bar {
                value: p.p_liquidation,
                text: pct(p.p_liquidation),
            },
        ),
    ];
    draw_rows(&body.margin(10, 0, 0, 0), &rows, &columns)
}
