//! Chart 5: the decision on one page: NPV per policy with its 95% CI, the
//! paired difference against the baseline (same market paths, so its CI is
//! much narrower than the two NPVs' CIs suggest), and the risk figures.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::rows::{Axis, Column, Mark, draw_rows, policy_rows};
use super::style::*;
use crate::format::{pct, usd_m};
use crate::summary::Summary;

pub const TITLE: &str = "Policy comparison: value, gain over baseline, and risk";

/// `$1,234.5M ± $3.2M`
pub fn mean_ci(mean: f64, se: f64) -> String {
    format!("{} ± {}", usd_m(mean), usd_m(1.96 * se))
}

pub fn draw<DB: DrawingBackend>(s: &Summary, root: &DrawingArea<DB, Shift>) -> ChartResult<(), DB> {
    let footer = footer(s);
    let subtitle = format!(
        "NPV of operations, USD; difference vs baseline `{}` paired path by path; \
         probabilities are shares of paths.",
        s.baseline
    );
    let body = frame(
        root,
        &Frame {
            title: TITLE,
            subtitle: &subtitle,
            legend: &[],
            footer: &footer,
        },
    )?;
    let rows = policy_rows(s);
    let prob = |title: &str, get: fn(&crate::summary::PolicySummary) -> f64| Column {
        title: title.into(),
        note: "share of paths".into(),
        axis: Axis::Probability,
        marks: s
            .policies
            .iter()
            .map(|p| Mark::Bar {
                value: get(p),
                text: pct(get(p)),
            })
            .collect(),
        weight: 0.8,
    };
    let columns = [
        Column {
            title: "NPV".into(),
            note: "mean, 95% CI".into(),
            axis: Axis::Money,
            marks: s
                .policies
                .iter()
                .map(|p| Mark::Dot {
                    mean: p.npv_usd.mean,
                    half_ci: p.npv_usd.ci95(),
                    text: mean_ci(p.npv_usd.mean, p.npv_usd.se),
                })
                .collect(),
            weight: 1.3,
        },
        Column {
            title: "NPV minus baseline".into(),
            note: "paired mean, 95% CI".into(),
            axis: Axis::Money,
            marks: s
                .policies
                .iter()
                .map(|p| match p.npv_vs_baseline_usd {
                    Some(d) => Mark::Dot {
                        mean: d.mean,
                        half_ci: 1.96 * d.se,
                        text: mean_ci(d.mean, d.se),
                    },
                    None => Mark::Note("baseline".into()),
                })
                .collect(),
            weight: 1.3,
        },
        prob("P(margin call)", |p| p.p_margin_call),
        prob("P(liquidation)", |p| p.p_liquidation),
        prob("P(distress)", |p| p.p_distress),
    ];
    draw_rows(&body.margin(10, 0, 0, 0), &rows, &columns)
}
