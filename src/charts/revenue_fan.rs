//! Chart 1: monthly total revenue per policy, as fans on a shared y-axis.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::style::*;
use crate::summary::{Stats, Summary};

pub const TITLE: &str = "Monthly revenue by policy: median and range of outcomes";

pub fn draw<DB: DrawingBackend>(s: &Summary, root: &DrawingArea<DB, Shift>) -> ChartResult<(), DB> {
    let footer = footer(s);
    let body = frame(
        root,
        &Frame {
            title: TITLE,
            subtitle: "Total revenue (mining + AI) per month, USD; one panel per policy, same y-axis. \
                       Bands: share of simulated paths.",
            legend: &fan_legend(NEUTRAL),
            footer: &footer,
        },
    )?;
    let dates = dates(s);
    let (lo, hi) = fan_extent(
        s.policies
            .iter()
            .flat_map(|p| p.months.iter().map(|m| &m.revenue_usd)),
    );
    let y_range = padded(lo, hi, true);
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
        |i, p, chart| {
            let stats: Vec<Stats> = p.months.iter().map(|m| m.revenue_usd).collect();
            draw_fan(chart, &stats, policy_color(i), true)?;
            Ok(())
        },
    )?;
    Ok(())
}
