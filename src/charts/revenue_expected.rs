//! Chart 2: expected (mean) monthly revenue per policy, mining and AI stacked.
//! Means add up, so the stack's top is the expected total.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::style::*;
use crate::summary::Summary;

pub const TITLE: &str = "Expected monthly revenue by policy: mining vs AI";

pub fn draw<DB: DrawingBackend>(s: &Summary, root: &DrawingArea<DB, Shift>) -> ChartResult<(), DB> {
    let footer = footer(s);
    let body = frame(
        root,
        &Frame {
            title: TITLE,
            subtitle: "Mean across paths of revenue per month, USD, stacked by source; \
                       one panel per policy, same y-axis.",
            legend: &[
                LegendItem::new("Mining", Swatch::Fill(MINING, 0.85)),
                LegendItem::new("AI inference", Swatch::Fill(AI, 0.85)),
            ],
            footer: &footer,
        },
    )?;
    let dates = dates(s);
    let hi = s
        .policies
        .iter()
        .flat_map(|p| p.months.iter())
        .map(|m| m.mining_revenue_usd.mean.max(0.0) + m.ai_revenue_usd.mean.max(0.0))
        .fold(0.0, f64::max);
    let y_range = padded(0.0, hi, true);
    let money = MoneyAxis::for_range(y_range.0, y_range.1);
    let fmt = |y: &f64| money.fmt(*y);
    let desc = format!("Revenue per month ({})", money.unit());
    policy_panels(
        s,
        panel_grid(&body, s.policies.len()),
        grid_cols(s.policies.len()),
        &dates,
        y_range,
        &fmt,
        &desc,
        |_, p, chart| {
            let mining = p
                .months
                .iter()
                .map(|m| m.mining_revenue_usd.mean.max(0.0))
                .collect();
            let ai = p
                .months
                .iter()
                .map(|m| m.ai_revenue_usd.mean.max(0.0))
                .collect();
            draw_stack(chart, &[(mining, MINING), (ai, AI)])?;
            Ok(())
        },
    )?;
    Ok(())
}
