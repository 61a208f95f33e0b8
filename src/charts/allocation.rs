//! Chart 4: where the power goes, MW by site state over time, per policy.
//!
//! `mw_mining` in the summary counts every mining site, idle or not, and
//! `mw_curtailed` the idle ones; the stack shows running mining as the
//! difference so the layers add up to the MW in use.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::style::*;
use crate::format::thousands;
use crate::summary::Summary;

pub const TITLE: &str = "Power allocation by policy: MW mining, curtailed, converting, AI";

pub fn draw<DB: DrawingBackend>(s: &Summary, root: &DrawingArea<DB, Shift>) -> ChartResult<(), DB> {
    let footer = footer(s);
    let body = frame(
        root,
        &Frame {
            title: TITLE,
            subtitle: "Mean across paths of grid MW in each site state at month end, stacked; \
                       one panel per policy, same y-axis.",
            legend: &[
                LegendItem::new("Mining (running)", Swatch::Fill(MINING, 0.85)),
                LegendItem::new("Mining, curtailed", Swatch::Fill(CURTAILED, 0.85)),
                LegendItem::new("Converting to AI", Swatch::Fill(CONVERTING, 0.85)),
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
        .map(|m| m.mw_mining.max(m.mw_curtailed) + m.mw_converting + m.mw_ai)
        .fold(0.0, f64::max);
    let y_range = padded(0.0, hi, true);
    let fmt = |y: &f64| thousands(*y, 0);
    policy_panels(
        s,
        panel_grid(&body, s.policies.len()),
        grid_cols(s.policies.len()),
        &dates,
        y_range,
        &fmt,
        "Power (MW)",
        |_, p, chart| {
            let m = &p.months;
            draw_stack(
                chart,
                &[
                    (
                        m.iter()
                            .map(|m| (m.mw_mining - m.mw_curtailed).max(0.0))
                            .collect(),
                        MINING,
                    ),
                    (
                        m.iter().map(|m| m.mw_curtailed.max(0.0)).collect(),
                        CURTAILED,
                    ),
                    (
                        m.iter().map(|m| m.mw_converting.max(0.0)).collect(),
                        CONVERTING,
                    ),
                    (m.iter().map(|m| m.mw_ai.max(0.0)).collect(), AI),
                ],
            )?;
            Ok(())
        },
    )?;
    Ok(())
}
