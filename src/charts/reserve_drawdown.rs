//! Chart 3: the BTC reserve over time (a fan per policy) and, below, the
//! distribution of the largest fall of the net reserve with the chances of a
//! margin call and of a liquidation.
//!
//! The summary keeps the drawdown as percentiles (5, 25, 50, 75, 95) and a
//! mean, not as a histogram, so the distribution is drawn as a box and
//! whiskers through exactly those points; the chart says so.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::rows::{Axis, Column, Mark, draw_rows, policy_rows};
use super::style::*;
use crate::format::{pct, thousands, usd_m};
use crate::summary::{Stats, Summary};

pub const TITLE: &str = "BTC reserve and drawdown risk by policy";

pub fn draw<DB: DrawingBackend>(s: &Summary, root: &DrawingArea<DB, Shift>) -> ChartResult<(), DB> {
    let footer = footer(s);
    let body = frame(
        root,
        &Frame {
            title: TITLE,
            subtitle: "Top: BTC held at month end, across paths. Bottom: largest fall of net reserve \
                       from its running peak, per path, and risk of loan events.",
            legend: &fan_legend(NEUTRAL),
            footer: &footer,
        },
    )?;
    let (_, h) = body.dim_in_pixel();
    let (top, bottom) = body.split_vertically(h * 54 / 100);
    let bottom = bottom.margin(16, 0, 0, 0);
    let dates = dates(s);
    let n = s.policies.len().max(1);
    let (lo, hi) = fan_extent(
        s.policies
            .iter()
            .flat_map(|p| p.months.iter().map(|m| &m.reserve_btc)),
    );
    let y_range = padded(lo, hi, true);
    let fmt = |y: &f64| thousands(*y, 0);
    policy_panels(
        s,
        top.split_evenly((1, n)),
        n,
        &dates,
        y_range,
        &fmt,
        "BTC reserve (BTC)",
        |i, p, chart| {
            let stats: Vec<Stats> = p.months.iter().map(|m| m.reserve_btc).collect();
            draw_fan(chart, &stats, policy_color(i), true)?;
            Ok(())
        },
    )?;
    let rows = policy_rows(s);
    let columns = [
        Column {
            title: "Max drawdown of net reserve (USD)".into(),
            note: "from summary percentiles: box 25-75%, whiskers 5-95%, | median, o mean".into(),
            axis: Axis::Money,
            marks: s
                .policies
                .iter()
                .map(|p| Mark::Box {
                    stats: p.max_drawdown_net_usd,
                    text: format!(
                        "median {} · mean {}",
                        usd_m(p.max_drawdown_net_usd.p50),
                        usd_m(p.max_drawdown_net_usd.mean)
                    ),
                })
                .collect(),
            weight: 2.6,
        },
        Column {
            title: "P(margin call)".into(),
            note: "share of paths".into(),
            axis: Axis::Probability,
            marks: s
                .policies
                .iter()
                .map(|p| Mark::Bar {
                    value: p.p_margin_call,
                    text: pct(p.p_margin_call),
                })
                .collect(),
            weight: 1.0,
        },
        Column {
            title: "P(liquidation)".into(),
            note: "share of paths".into(),
            axis: Axis::Probability,
            marks: s
                .policies
                .iter()
                .map(|p| Mark::Bar {
                    value: p.p_liquidation,
                    text: pct(p.p_liquidation),
                })
                .collect(),
            weight: 1.0,
        },
    ];
    draw_rows(&bottom, &rows, &columns)
}
